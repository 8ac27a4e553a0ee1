"""Signed heads kept outside the database (a witness, as Certificate Transparency's monitors keep a log's
signed tree heads): reading a file of them as the hub delivered them. Pure: text in, checkpoints out;
their signatures are checked by `chain.verify_chain`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harken.ledger.chain import Checkpoint


class WitnessProblem(ValueError):
    """The file is not a list of signed heads as the hub delivers them."""


def read(text: str) -> list[Checkpoint]:
    """The signed heads in `text`: a JSON array, JSON lines, or one JSON document. Each item is a head
    (`ledger.checkpoint`'s `data`, an item of GET /v1/ledger/heads), a whole `ledger.checkpoint` event
    as the webhook delivered it, or the whole GET /v1/ledger/heads response."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        documents = [json.loads(stripped)]
    except json.JSONDecodeError:
        try:
            documents = [json.loads(line) for line in stripped.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise WitnessProblem(f"neither JSON nor JSON lines: {exc}") from exc
    return [_head(item) for item in _items(documents)]


def _items(documents: list[Any]) -> Iterator[Any]:
    for document in documents:
        if isinstance(document, list):
            yield from _items(document)
        elif isinstance(document, dict) and isinstance(document.get("heads"), list):
            yield from document["heads"]
        elif isinstance(document, dict) and document.get("type") == "ledger.checkpoint":
            yield document.get("data")
        else:
            yield document


def _head(item: Any) -> Checkpoint:
    if not isinstance(item, dict):
        raise WitnessProblem(f"a signed head is a JSON object, not {type(item).__name__}")
    chain, seq, hash, jws = (item.get(k) for k in ("chain", "seq", "hash", "jws"))
    if not (isinstance(chain, str) and type(seq) is int and isinstance(hash, str) and isinstance(jws, str)):
        raise WitnessProblem(f"a signed head has a chain, a seq, a hash and a jws: {json.dumps(item)[:200]}")
    return Checkpoint(chain, seq, hash, jws)
