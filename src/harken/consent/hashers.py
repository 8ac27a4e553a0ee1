"""The ledger entries of an import's batch, made in hasher processes: each entry's body (the canonical JSON
`consent.service.ledger_data` makes of a record) depends on its seq but not on the entry before, so the
bodies are made anywhere and the hashes linked afterwards, in order (`harken.consent.batches`)."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import cast

from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.consent.schemas import Method
from harken.ledger import chain

IMPORT = str(Method.import_)


def evidence_sha256(sha: str, line: int) -> str:
    """`consent.service.plain_evidence_digest` of an import's evidence (`batches._evidence`) made far faster: ASCII keys
    already in order, a hex string and an integer, whose RFC 8785 form is exactly this text."""
    return hashlib.sha256(b'{"import":{"file_sha256":"%s","line":%d}}' % (sha.encode(), line)).hexdigest()


@dataclass(frozen=True, slots=True)
class Common:
    """What every entry of a batch shares, sent once to each hasher."""

    chain: str
    org: str
    at: str
    recorded_at: datetime
    sha: str
    first_seq: int


Facts = tuple[str, str, str, str, list[str], int | None, str | None, datetime, datetime | None, int]


def bodies(common: Common, start: int, facts: list[Facts]) -> list[tuple[bytes, str]]:
    """(body, sha256 of the body) of the ledger entries at seq first_seq + start onwards.

    The body is `chain.body`, with the data `consent.service.ledger_data` makes of the record.
    It depends on the seq but not on the entry before, so it can be made anywhere; the hashes are
    linked afterwards, in order (chain.link_digest, as next_entry links them).
    """
    made = []
    for offset, (
        record,
        subject,
        purpose,
        status,
        channels,
        version,
        notice,
        captured,
        expires,
        line,
    ) in enumerate(facts):
        record_like = SimpleNamespace(  # what ledger_data reads of a ConsentRecord; ids as text already
            id=record,
            org_id=common.org,
            subject_id=subject,
            purpose=purpose,
            status=status,
            channels=channels,
            notice_version=version,
            notice_sha256=notice,
            method=IMPORT,
            captured_at=captured,
            expires_at=expires,
            recorded_at=common.recorded_at,
            evidence_sha256=evidence_sha256(common.sha, line),
            evidence_hmac=None,  # an import's evidence is the org's file and line, kept in clear: see batches
        )
        data = consent_service.ledger_data(cast(ConsentRecord, record_like))
        body = chain.body(
            chain=common.chain,
            seq=common.first_seq + start + offset,
            type=consent_service.LEDGER_TYPE,
            at=common.at,
            data=data,
        )
        made.append((body, chain.digest(body)))
    return made


def shares(count: int, workers: int) -> list[tuple[int, int]]:
    """[start, end) of this process's share of a batch's bodies, then of each hasher's. With hashers this
    process keeps none: it has the records to write and the next batch to read meanwhile."""
    if not workers:
        return [(0, count)]
    bounds = [0, 0] + [count * (i + 1) // workers for i in range(workers)]
    return list(itertools.pairwise(bounds))


def hashers(workers: int) -> AbstractContextManager[Executor | None]:
    """`workers` processes making ledger bodies (none: all in this process). They ignore Ctrl-C (this
    process stops them) and end by themselves if this process is killed."""
    if workers <= 0:
        return nullcontext()
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_hasher_started
    )


def _hasher_started() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
