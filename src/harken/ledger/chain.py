"""The hash chain, as pure functions over plain data: no database, no clock, no HTTP.

Each entry's body is the RFC 8785 canonical JSON of {chain, seq, type, at, data}: every field
an entry has. Its hash links it to the entry before it:

    hash = sha256(prev_hash ‖ sha256(body))        (genesis prev_hash: 32 zero bytes)

Hashing the body's digest rather than the body lets anyone re-link a stretch of the chain
from digests alone, without seeing the (possibly personal) bodies. The chain, seq and type
are also stored beside the body (to find entries by them); verification requires each to be
exactly what the hashed body states.

Every `every`th entry gets a checkpoint: the hub's signature over (chain, seq, hash, at, every).
Verification requires the checkpoints at those positions, so deleting them is detected, and
checks the chain against signed heads kept outside the database (a witness), which is what
detects a rewrite of the database, checkpoints included.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harken import jws

GENESIS = "0" * 64
CHECKPOINT_TYP = "harken-checkpoint+jws"


class Entry(NamedTuple):
    """One link of a chain (a tuple: verification builds millions of them). `chain`, `seq` and
    `type` are what is stored beside the body; the body states them too, and is what is hashed."""

    chain: str
    seq: int
    prev_hash: str
    hash: str
    body: bytes
    type: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement by the hub: chain `chain` had entry `seq` with hash `hash`."""

    chain: str
    seq: int
    hash: str
    jws: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain: str
    entries: int
    head_seq: int
    head_hash: str
    checkpoints: int
    problem: str | None = None
    bad_seq: int | None = None
    kept: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON. For the ledger's own kind of data (strings, integers a double holds
    exactly, booleans, null, lists and objects whose keys lie in the Basic Multilingual Plane) the sorted,
    compact `json.dumps` writes the same bytes, four times faster: the same escapes, and sorting by code
    point is sorting by UTF-16 unit there. Anything else (floats above all) takes the reference library."""
    if _plain(value):
        try:
            return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate: let the library refuse it
            pass
    return rfc8785.dumps(value)


_EXACT = 2**53 - 1
_BMP_END = "\U00010000"


def _plain(value: Any) -> bool:
    if isinstance(value, str) or value is None or value is True or value is False:
        return True
    if type(value) is int:
        return -_EXACT <= value <= _EXACT
    if type(value) is dict:
        return all(
            isinstance(k, str) and (k.isascii() or max(k, default="") < _BMP_END) and _plain(v)
            for k, v in value.items()
        )
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False


def body(*, chain: str, seq: int, type: str, at: str, data: Mapping[str, Any]) -> bytes:
    """What an entry states, as hashed and stored."""
    return canonical({"chain": chain, "seq": seq, "type": type, "at": at, "data": data})


def digest(body: bytes) -> str:
    """The sha256 of an entry's body: what a proof reveals of an entry instead of the entry."""
    return hashlib.sha256(body).hexdigest()


def link(prev_hash: str, body: bytes) -> str:
    """`link_digest(prev_hash, digest(body))`, without the detour through hex: verification runs it on every entry."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + hashlib.sha256(body).digest()).hexdigest()


def link_digest(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


def next_entry(
    *, chain: str, head_seq: int, head_hash: str, type: str, at: str, data: Mapping[str, Any]
) -> Entry:
    """The entry that follows (head_seq, head_hash) on `chain`."""
    seq = head_seq + 1
    stated = body(chain=chain, seq=seq, type=type, at=at, data=data)
    return Entry(chain, seq, head_hash, link(head_hash, stated), stated, type)


class Framing:
    """Whether a stored body states the chain, seq and type stored beside it. A body is canonical JSON,
    its keys sorted (at, chain, data, seq, type), so they sit at fixed places: checked on the bytes,
    without parsing (verification reads millions of bodies)."""

    def __init__(self, chain: str) -> None:
        self._chain = b'","chain":' + _string(chain) + b',"data":'
        self._types: dict[str, bytes] = {}

    def states(self, entry: Entry) -> bool:
        body = entry.body
        suffix = self._types.get(entry.type)
        if suffix is None:
            suffix = self._types.setdefault(entry.type, b',"type":' + _string(entry.type) + b"}")
        at_ends = body.find(b'"', 7)  # an RFC 3339 time holds no quote
        return (
            body.startswith(b'{"at":"')
            and body.startswith(self._chain, at_ends)
            and body.endswith(suffix)
            and body.endswith(b',"seq":%d' % entry.seq, 0, len(body) - len(suffix))
        )


def _string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode()


def sign_checkpoint(
    *, chain: str, seq: int, hash: str, at: str, every: int, key: Ed25519PrivateKey, kid: str
) -> Checkpoint:
    """The hub's signed statement that `chain` had entry `seq` with `hash` at `at`, while it signed a
    checkpoint every `every` entries (which is how a verifier knows which checkpoints must exist)."""
    payload = canonical({"chain": chain, "seq": seq, "hash": hash, "at": at, "every": every})
    return Checkpoint(chain, seq, hash, jws.sign({"kid": kid, "typ": CHECKPOINT_TYP}, payload, key))


def signed_head(cp: Checkpoint) -> dict[str, Any]:
    """The checkpoint as a signed head to keep elsewhere: what it signs (chain, seq, hash, at and, since
    migration 0012, every), readable, and the JWS itself. Only the JWS is trusted when it is checked."""
    return {**_payload(cp), "jws": cp.jws}


def _payload(cp: Checkpoint) -> dict[str, Any]:
    """What the checkpoint's JWS says, its signature unchecked."""
    try:
        signed = json.loads(jws.b64url_decode(cp.jws.split(".")[1]))
    except (IndexError, ValueError):
        return {}
    return signed if isinstance(signed, dict) else {}


def checkpoint_problem(
    cp: Checkpoint, keys: Mapping[str, Ed25519PublicKey], *, name: str = "checkpoint"
) -> str | None:
    """Why `cp` is not a valid signature by one of `keys` over its own chain, seq and hash; None if it is."""
    try:
        header, payload = jws.verify_by_kid(cp.jws, keys)
    except jws.JWSProblem as exc:
        return f"{name} at entry {cp.seq}: {exc}"
    if header.get("typ") != CHECKPOINT_TYP:
        return f"{name} at entry {cp.seq} is not a checkpoint (typ {header.get('typ')!r})"
    signed = json.loads(payload)
    if (signed.get("chain"), signed.get("seq"), signed.get("hash")) != (cp.chain, cp.seq, cp.hash):
        return f"{name} at entry {cp.seq} does not match what its signature covers"
    return None


def missing_checkpoint(end: int, intervals: Mapping[int, int | None], every: int) -> tuple[int, int] | None:
    """The first entry up to `end` that must have a signed checkpoint and has none, with the interval
    that requires it; None when none is missing.

    `intervals` maps each signed checkpoint's seq to the interval it states (None before migration
    0012: then `every`); `every` is the interval in force now. An entry must have one when its seq is
    a multiple of the interval stated on both sides of it: by the nearest checkpoint before it and the
    nearest after it (`every` past the last). So a changed setting is no false alarm, and a deleted
    checkpoint is missed only at an entry where the interval itself changed.
    """
    positions = sorted(s for s in intervals if s <= end)
    stated = [intervals[s] or every for s in positions]
    bounds = [0, *positions, end + 1]
    before = [stated[0] if stated else every, *stated]
    after = [*stated, every]
    for (lo, hi), left, right in zip(itertools.pairwise(bounds), before, after, strict=True):
        step = math.lcm(left, right)
        due = (lo // step + 1) * step
        if due < hi:
            return due, step
    return None


def verify_chain(
    chain: str,
    entries: Iterable[Entry],
    *,
    checkpoints: Iterable[Checkpoint] = (),
    keys: Mapping[str, Ed25519PublicKey] | None = None,
    head: tuple[int, str] | None = None,
    every: int | None = None,
    kept: Iterable[Checkpoint] = (),
    after: tuple[int, str] = (0, GENESIS),
) -> ChainReport:
    """Walk `entries` (in stored order) and name the first thing that is wrong.

    `after` is the (seq, hash) the entries follow: the genesis for a whole chain, or the entry before
    an exported stretch of it (`ledger.export`), whose seqs then run from after[0] + 1.

    Checks that seqs run 1, 2, 3… without gaps or repeats, that each entry links to the one
    before, that each body still hashes to its stored hash and states the chain, seq and type
    stored beside it, that every signed checkpoint (signature checked against `keys`) matches the
    entry at its seq and is not past the end, that no checkpoint the hub must have signed is
    missing (given `every`, the interval in force: see `missing_checkpoint`), and that the chain
    ends exactly at `head`, the recorded head, when one is given.

    `kept` are signed heads kept outside the database (a witness): each must be signed by one of
    `keys`, and the chain must reach its seq with its hash. Only they catch a rewrite of the
    database done consistently, checkpoints and head included.
    """
    signed: dict[int, str] = {}
    intervals: dict[int, int | None] = {}
    for cp in checkpoints:
        problem = checkpoint_problem(cp, keys or {}) if keys is not None else None
        if problem:
            return ChainReport(chain, 0, 0, GENESIS, 0, problem, cp.seq)
        signed[cp.seq] = cp.hash
        stated = _payload(cp).get("every")
        intervals[cp.seq] = stated if type(stated) is int and stated > 0 else None
    witnessed: dict[int, str] = {}
    for cp in kept:
        problem = checkpoint_problem(cp, keys or {}, name="kept head")
        if cp.chain != chain:
            problem = f"a kept head of chain {cp.chain} was given for chain {chain}"
        if problem:
            return ChainReport(chain, 0, 0, GENESIS, len(signed), problem, cp.seq)
        witnessed[cp.seq] = cp.hash

    def report(problem: str | None = None, bad: int | None = None) -> ChainReport:
        return ChainReport(chain, count, seq, prev, len(signed), problem, bad, len(witnessed))

    states, sha256 = Framing(chain).states, hashlib.sha256
    (seq, prev), count = after, 0
    prev_digest = bytes.fromhex(prev)  # `prev` as bytes: the digest computed for it (32 zero bytes: genesis)
    for entry in entries:
        expected = seq + 1
        if entry.seq != expected:
            if entry.seq > expected:
                return report(f"entry {expected} is missing (next stored entry is {entry.seq})", expected)
            return report(f"entry {entry.seq} appears again or out of order after entry {seq}", entry.seq)
        if entry.prev_hash != prev:
            return report(f"entry {entry.seq} does not link to entry {seq}", entry.seq)
        computed = sha256(prev_digest + sha256(entry.body).digest()).digest()  # `link`, without hex
        if computed.hex() != entry.hash:
            return report(f"entry {entry.seq} was altered: its content no longer matches its hash", entry.seq)
        if not states(entry):
            return report(
                f"entry {entry.seq} was altered: its stored chain, seq or type ({entry.type!r}) is not"
                " what its hashed body states",
                entry.seq,
            )
        if entry.seq in signed and signed[entry.seq] != entry.hash:
            return report(f"entry {entry.seq} differs from the signed checkpoint at that position", entry.seq)
        if witnessed and witnessed.get(entry.seq, entry.hash) != entry.hash:
            return report(f"entry {entry.seq} differs from the signed head kept at that position", entry.seq)
        seq, prev, prev_digest, count = entry.seq, entry.hash, computed, count + 1
    beyond = [s for s in signed if s > seq]
    if beyond:
        return report(
            f"the ledger ends at entry {seq}, but a signed checkpoint covers entry {max(beyond)}", seq + 1
        )
    beyond = [s for s in witnessed if s > seq]
    if beyond:
        ends = f"the ledger ends at entry {seq}" if seq else "the database holds no entry of this chain"
        return report(f"{ends}, but a signed head kept elsewhere covers entry {max(beyond)}", seq + 1)
    missing = missing_checkpoint(seq, intervals, every) if every is not None else None
    if missing is not None:
        return report(
            f"entry {missing[0]} has no signed checkpoint, though the hub signs one every {missing[1]}"
            " entries (deleted?)",
            missing[0],
        )
    if head is not None and head != (seq, prev):
        head_seq = head[0]
        if head_seq > seq:
            return report(
                f"the ledger ends at entry {seq}, but its recorded head is entry {head_seq}", seq + 1
            )
        if head_seq < seq:
            return report(
                f"entry {head_seq + 1} lies beyond the recorded head (entry {head_seq})", head_seq + 1
            )
        return report(f"entry {seq} does not match the recorded head", seq)
    return report()


def fold(entry_hash: str, digests: Iterable[str]) -> str:
    """The hash reached from `entry_hash` by linking the following entries, given their body digests."""
    current = entry_hash
    for body_digest in digests:
        current = link_digest(current, body_digest)
    return current


def inclusion_problem(
    *,
    chain: str,
    seq: int,
    entry_hash: str,
    digests: list[str],
    checkpoint: Checkpoint,
    keys: Mapping[str, Ed25519PublicKey],
) -> str | None:
    """Why entry (`chain`, `seq`, `entry_hash`) is not proven to be under the signed `checkpoint`; None if it is.

    `digests` are the sha256 of the bodies of entries seq+1 … checkpoint.seq, which reveal nothing of them.
    """
    if checkpoint.chain != chain or checkpoint.seq != seq + len(digests):
        return f"the proof does not run from entry {seq} to the checkpoint at entry {checkpoint.seq}"
    signature = checkpoint_problem(checkpoint, keys)
    if signature:
        return signature
    try:
        reached = fold(entry_hash, digests)
    except ValueError:
        return "the proof holds something that is not a sha256 digest"
    if reached != checkpoint.hash:
        return f"entry {seq} is not part of the chain the hub signed at entry {checkpoint.seq}"
    return None
