"""An auditor's copy of a stretch of one chain, as JSON Lines, and its verification: pure functions over
plain data (no database, no clock).

    {"format": "harken-ledger-export/1", "chain": "org:…", "after": {"seq": 4, "hash": "…"}, "through": 10, …}
    {"entry": {"seq": 5, "type": "consent.recorded", "prev_hash": "…", "hash": "…", "body": "{\\"at\\":…}"}}
    {"checkpoint": {"seq": 5, "hash": "…", "jws": "eyJ…"}}
    …

Each entry is as stored: its body is the exact canonical JSON that was hashed. Each signed checkpoint
follows the entry it signs, and the stretch ends at one: the hub's signature over the last entry's hash,
which every hash before it links to, is what makes the stretch verifiable with the hub's public keys
(`/.well-known/jwks.json`) alone. `after` is the hash of the entry before the stretch, as the chain
states it: the stretch is proven to follow it, under the hub's signature.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harken.ledger import chain

FORMAT = "harken-ledger-export/1"
_HASH = re.compile(r"^[0-9a-f]{64}$")
_ENTRY = '{"entry":'  # how `lines` opens an entry's line


class ExportProblem(ValueError):
    """A file that is not a ledger export as `harken ledger export` writes them."""


def header(*, chain_id: str, after: tuple[int, str], through: int, exported_at: str) -> str:
    """The first line: which chain, the (seq, hash) the stretch follows, and the signed entry it ends at."""
    return _line(
        {
            "format": FORMAT,
            "chain": chain_id,
            "after": {"seq": after[0], "hash": after[1]},
            "through": through,
            "exported_at": exported_at,
        }
    )


def lines(entries: Iterable[chain.Entry], checkpoints: Mapping[int, chain.Checkpoint]) -> Iterator[str]:
    """An entry per line, each signed checkpoint on the line after the entry it signs."""
    for e in entries:
        yield _line(
            {
                "entry": {
                    "seq": e.seq,
                    "type": e.type,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                    "body": e.body.decode(),
                }
            }
        )
        cp = checkpoints.get(e.seq)
        if cp is not None:
            yield _line({"checkpoint": {"seq": cp.seq, "hash": cp.hash, "jws": cp.jws}})


def verify(read: Callable[[], Iterable[str]], keys: Mapping[str, Ed25519PublicKey]) -> chain.ChainReport:
    """Verify an export with the hub's public `keys`: every entry links to the one before, from `after`;
    every body hashes to its entry's hash and states its chain, seq and type; every checkpoint is the
    hub's signature over the entry at its seq; and the stretch ends exactly at its last checkpoint.

    `read` gives the export's lines, each time it is called: a first pass takes the header and the
    checkpoints (an entry line as written is skipped unparsed), a second streams the entries into the
    verifier, so memory stays flat however long the export. Raises ExportProblem for what is not an
    export at all."""
    chain_id, after, through = _header(next(iter(read()), ""))
    checkpoints = [c for c in _items(read(), chain_id, entries=False) if isinstance(c, chain.Checkpoint)]
    if not checkpoints or max(cp.seq for cp in checkpoints) != through:
        return chain.ChainReport(
            chain_id,
            0,
            after[0],
            after[1],
            len(checkpoints),
            f"no signed checkpoint at entry {through}, where the export says it ends",
            through,
        )
    last = max(checkpoints, key=lambda cp: cp.seq)
    entries = (e for e in _items(read(), chain_id, entries=True) if isinstance(e, chain.Entry))
    return chain.verify_chain(
        chain_id,
        entries,
        checkpoints=checkpoints,
        keys=keys,
        head=(last.seq, last.hash),
        after=after,
    )


def _header(row: str) -> tuple[str, tuple[int, str], int]:
    first = _parse(row, 1)
    if not isinstance(first, dict) or first.get("format") != FORMAT:
        raise ExportProblem(f"line 1 does not open a ledger export ({FORMAT})")
    chain_id, after, through = first.get("chain"), first.get("after"), first.get("through")
    if (
        not isinstance(chain_id, str)
        or not isinstance(after, dict)
        or type(after.get("seq")) is not int
        or not _HASH.match(str(after.get("hash")))
        or type(through) is not int
    ):
        raise ExportProblem("line 1 does not name the chain, the entry the export follows and where it ends")
    return chain_id, (after["seq"], after["hash"]), through


def _items(rows: Iterable[str], chain_id: str, *, entries: bool) -> Iterator[chain.Entry | chain.Checkpoint]:
    """The entry or checkpoint of each line after the header; without
    `entries`, lines that open as `lines` writes an entry are passed over unparsed."""
    for number, row in enumerate(itertools.islice(rows, 1, None), start=2):
        if not row.strip() or (not entries and row.startswith(_ENTRY)):
            continue
        item = _parse(row, number)
        try:
            if isinstance(item, dict) and "entry" in item:
                e = item["entry"]
                body, kind = str(e["body"]).encode(), str(e["type"])
                yield chain.Entry(chain_id, int(e["seq"]), str(e["prev_hash"]), str(e["hash"]), body, kind)
            elif isinstance(item, dict) and "checkpoint" in item:
                c = item["checkpoint"]
                yield chain.Checkpoint(chain_id, int(c["seq"]), str(c["hash"]), str(c["jws"]))
            else:
                raise ExportProblem(f"line {number} is neither an entry nor a checkpoint")
        except (KeyError, TypeError, ValueError) as exc:
            raise ExportProblem(f"line {number} is not an entry or checkpoint as exported: {exc}") from exc


def _line(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"


def _parse(row: str, number: int) -> Any:
    try:
        return json.loads(row)
    except ValueError as exc:
        raise ExportProblem(f"line {number} is not JSON: {exc}") from exc
