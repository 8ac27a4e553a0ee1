"""The hash chain, as pure functions over plain data: no database, no clock, no HTTP.

Each entry's body is the RFC 8785 canonical JSON of {chain, seq, type, at, data}.
Its hash links it to the entry before it:

    hash = sha256(prev_hash ‖ sha256(body))        (genesis prev_hash: 32 zero bytes)

Hashing the body's digest rather than the body lets anyone re-link a stretch of the chain
from digests alone, without seeing the (possibly personal) bodies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harken.ledger import signing

GENESIS = "0" * 64
CHECKPOINT_TYP = "harken-checkpoint+jws"


class Entry(NamedTuple):
    """One link of a chain (a tuple: verification builds millions of them)."""

    chain: str
    seq: int
    prev_hash: str
    hash: str
    body: bytes


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
    return link_digest(prev_hash, digest(body))


def link_digest(prev_hash: str, body_digest: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(body_digest)).hexdigest()


def next_entry(
    *, chain: str, head_seq: int, head_hash: str, type: str, at: str, data: Mapping[str, Any]
) -> Entry:
    """The entry that follows (head_seq, head_hash) on `chain`."""
    seq = head_seq + 1
    stated = body(chain=chain, seq=seq, type=type, at=at, data=data)
    return Entry(chain=chain, seq=seq, prev_hash=head_hash, hash=link(head_hash, stated), body=stated)


def sign_checkpoint(
    *, chain: str, seq: int, hash: str, at: str, key: Ed25519PrivateKey, kid: str
) -> Checkpoint:
    payload = canonical({"chain": chain, "seq": seq, "hash": hash, "at": at})
    return Checkpoint(chain, seq, hash, signing.sign(payload, key, kid=kid, typ=CHECKPOINT_TYP))


def checkpoint_problem(cp: Checkpoint, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """Why `cp` is not a valid signature by one of `keys` over its own chain, seq and hash; None if it is."""
    try:
        _, payload = signing.verify(cp.jws, keys)
    except signing.SignatureProblem as exc:
        return f"checkpoint at entry {cp.seq}: {exc}"
    signed = json.loads(payload)
    if (signed.get("chain"), signed.get("seq"), signed.get("hash")) != (cp.chain, cp.seq, cp.hash):
        return f"checkpoint at entry {cp.seq} does not match what its signature covers"
    return None


def verify_chain(
    chain: str,
    entries: Iterable[Entry],
    *,
    checkpoints: Iterable[Checkpoint] = (),
    keys: Mapping[str, Ed25519PublicKey] | None = None,
    head: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk `entries` (in stored order) and name the first thing that is wrong.

    Checks that seqs run 1, 2, 3… without gaps or repeats, that each entry links to the one
    before, that each body still hashes to its stored hash, that every signed checkpoint
    (signature checked against `keys`) matches the entry at its seq and is not past the end,
    and that the chain ends exactly at `head`, the recorded head, when one is given.
    """
    signed: dict[int, str] = {}
    for cp in checkpoints:
        problem = checkpoint_problem(cp, keys or {}) if keys is not None else None
        if problem:
            return ChainReport(chain, 0, 0, GENESIS, 0, problem, cp.seq)
        signed[cp.seq] = cp.hash

    def report(problem: str | None = None, bad: int | None = None) -> ChainReport:
        return ChainReport(chain, count, seq, prev, len(signed), problem, bad)

    seq, prev, count = 0, GENESIS, 0
    for entry in entries:
        expected = seq + 1
        if entry.seq != expected:
            if entry.seq > expected:
                return report(f"entry {expected} is missing (next stored entry is {entry.seq})", expected)
            return report(f"entry {entry.seq} appears again or out of order after entry {seq}", entry.seq)
        if entry.prev_hash != prev:
            return report(f"entry {entry.seq} does not link to entry {seq}", entry.seq)
        if link(prev, entry.body) != entry.hash:
            return report(f"entry {entry.seq} was altered: its content no longer matches its hash", entry.seq)
        if signed.get(entry.seq, entry.hash) != entry.hash:
            return report(f"entry {entry.seq} differs from the signed checkpoint at that position", entry.seq)
        seq, prev, count = entry.seq, entry.hash, count + 1
    beyond = [s for s in signed if s > seq]
    if beyond:
        return report(
            f"the ledger ends at entry {seq}, but a signed checkpoint covers entry {max(beyond)}", seq + 1
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
