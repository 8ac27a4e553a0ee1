"""Writing an import's batches (`harken import consents`, see `harken.consent.importer`): each batch one
transaction holding its new customers, records, current states, ledger entries, checkpoints and chain
head, or none of them. The ledger bodies are made by hasher processes while the next batch is read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from harken.clock import Clock, rfc3339
from harken.consent import import_refs
from harken.consent import service as consent_service
from harken.consent.hashers import IMPORT, Common, Facts, bodies, evidence_sha256, shares
from harken.consent.models import ConsentRecord, CurrentConsent
from harken.consent.schemas import ConsentPut
from harken.db import insert_many, session_scope
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerHead
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef

SQLITE_CACHE_KIB = 256 * 1024  # the import's own connection; SQLite's default of 2 MiB rereads pages


RETRIES = 3  # tries of a batch that lost a race for a new ref


class ImportProblem(Exception):
    """The file cannot be imported as it stands (bad header), or another run got in the way."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A row that passed every check, ready to be written."""

    line: int
    ref: str
    purpose: str
    change: ConsentPut
    captured_at: datetime
    notice_sha256: str | None


_IMPORTED_SINCE = select(ConsentRecord.evidence).where(
    ConsentRecord.chain == bindparam("chain"),
    ConsentRecord.seq > bindparam("after"),
    ConsentRecord.method == IMPORT,
)


class Writer:
    """Writes batches, each in a transaction of its own: the batch's new customers, records, current
    states, ledger entries, checkpoints and chain head land together or not at all.

    The ledger bodies (canonical JSON, most of the work) are made by the hasher processes while this one
    writes the batch's records and then reads and checks the next batch; the batch commits when the next
    one is ready, or at the end. Without hashers, it is all done here and each batch commits at once.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hashers: Executor | None,
        workers: int,
        *,
        org: Org,
        notary: Notary,
        clock: Clock,
        sha: str,
        done: tuple[int, int],
        committed: Callable[[int], None],
    ) -> None:
        self._sessions, self.hashers, self._workers = sessions, hashers, workers if hashers else 0
        self._org, self._notary, self._clock, self._sha = org, notary, clock, sha
        self.done, self._seen = done  # the last line committed, and the chain's head seq at that time
        self._committed = committed
        self._open: _Open | None = None
        self._batches = 0

    def write(self, batch: list[Decision]) -> None:
        self.finish()
        try:
            self._open = self._start(batch)
        except IntegrityError:
            self._again(batch)
        if not self._workers:
            self.finish()

    def finish(self) -> None:
        """Commit the open batch, if any."""
        if self._open is None:
            return
        open, self._open = self._open, None
        try:
            self._done(*self._finish(open))
        except IntegrityError:
            self._again(open.batch)

    def abandon(self) -> None:
        if self._open is not None:
            self._open.current.cancel()
            self._open.session.close()  # rolls back
            self._open = None

    def _again(self, batch: list[Decision]) -> None:
        """A batch lost a race for a new ref (registered meanwhile through the API): write it again."""
        for attempt in range(2, RETRIES + 1):
            try:
                self._done(*self._finish(self._start(batch)))
                return
            except IntegrityError:
                if attempt == RETRIES:
                    raise

    def _done(self, line: int, head_seq: int) -> None:
        self.done, self._seen = line, head_seq
        self._batches += 1
        if self._batches & (self._batches - 1) == 0:  # 1, 2, 4, 8… batches: the tables have doubled
            _refresh_statistics(self._sessions)
        self._committed(line)

    def _check_alone(self, session: Session, head_seq: int) -> None:
        """Under the chain's lock, so certain: no other run of this file committed since we looked."""
        since = session.execute(_IMPORTED_SINCE, {"chain": self._org.chain, "after": self._seen}).scalars()
        lines = [e["import"]["line"] for e in since if e and e["import"]["file_sha256"] == self._sha]
        if lines:
            raise ImportProblem(
                f"another import of this file reached line {max(lines)} meanwhile (this one was at line "
                f"{self.done}): run one import of a file at a time"
            )
        self._seen = head_seq

    def _start(self, batch: list[Decision]) -> _Open:
        org, sha = self._org, self._sha
        session = self._sessions()
        try:
            db = session.connection()
            if db.dialect.name == "sqlite":  # a batch's pages stay in memory until its commit
                db.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            head_seq, head_hash = ledger_service.lock_head(session, org.chain)
            if head_seq != self._seen:  # others wrote to the chain meanwhile: was one of them this file?
                self._check_alone(session, head_seq)
            now = self._clock()
            subjects = import_refs.subjects(session, org, {d.ref for d in batch}, now)
            common = Common(org.chain, str(org.id), rfc3339(now), now, sha, head_seq + 1)
            chain_id = common.chain
            ids = [import_refs.time_ordered_id() for _ in batch]
            facts = [_facts(i, subjects[d.ref], d) for i, d in zip(ids, batch, strict=True)]
            parts = shares(len(facts), self._workers)
            pool = self.hashers
            hashing = [pool.submit(bodies, common, a, facts[a:b]) for a, b in parts[1:]] if pool else []
            records: list[dict[str, Any]] = []
            for offset, (record_id, decision) in enumerate(zip(ids, batch, strict=True)):
                change, subject_id = decision.change, subjects[decision.ref]
                records.append(
                    {
                        "id": record_id,
                        "org_id": org.id,
                        "subject_id": subject_id,
                        "purpose": decision.purpose,
                        "status": str(change.status),
                        "channels": [str(c) for c in change.channels],
                        "notice_version": change.notice_version,
                        "notice_sha256": decision.notice_sha256,
                        "method": IMPORT,
                        "captured_at": decision.captured_at,
                        "expires_at": change.expires_at,
                        "recorded_at": now,
                        "evidence": _evidence(sha, decision.line),
                        "evidence_sha256": evidence_sha256(sha, decision.line),
                        "evidence_hmac": None,
                        "chain": chain_id,
                        "seq": common.first_seq + offset,
                    }
                )
            insert_many(db, ConsentRecord, records)
            last_seq = common.first_seq + len(batch) - 1
            current = _make_current(db, {"chain": chain_id, "first": common.first_seq, "last": last_seq})
            own = facts[parts[0][0] : parts[0][1]]
            return _Open(session, batch, common, own, hashing, head_hash, current)
        except BaseException:
            session.close()
            raise

    def _finish(self, open: _Open) -> tuple[int, int]:
        """Link the batch's entries, write them, the checkpoints and the head, and commit."""
        session, common, notary = open.session, open.common, self._notary
        try:
            open.current.result()
            made = bodies(common, 0, open.own)
            for part in open.hashing:
                made.extend(part.result())
            head_hash, entries = open.head_hash, []
            for offset, (body, body_digest) in enumerate(made):
                entry = chain.Entry(
                    common.chain,
                    common.first_seq + offset,
                    head_hash,
                    chain.link_digest(head_hash, body_digest),
                    body,
                    consent_service.LEDGER_TYPE,
                )
                entries.append(entry)
                head_hash = entry.hash
            ledger_service.store(session, notary=notary, entries=entries, at=common.recorded_at)
            session.commit()
        finally:
            session.close()
        return open.batch[-1].line, common.first_seq + len(made) - 1


@dataclass(frozen=True, slots=True)
class _Open:
    """A batch written up to its ledger entries, its transaction still open."""

    session: Session
    batch: list[Decision]
    common: Common
    own: list[Facts]  # the facts whose bodies this process makes
    hashing: list[Future[list[tuple[bytes, str]]]]  # the hashers' shares, in order
    head_hash: str  # the chain's head before the batch
    current: _Sent  # the statement making the batch's states current


class _Sent:
    """A statement sent in PostgreSQL's pipeline mode: the server runs it while this process goes on.
    `result` waits for it (raising its error) and ends pipeline mode; so does `cancel`, quietly."""

    def __init__(self, pipeline: Any | None) -> None:
        self._pipeline = pipeline

    def result(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    def cancel(self) -> None:
        with suppress(Exception):  # the transaction is being rolled back anyway
            self.result()


def _make_current(db: Connection, batch: dict[str, Any]) -> _Sent:
    """Make the batch's states current (`_MAKE_CURRENT`). On PostgreSQL the statement is only sent: the
    server works on it while this process reads the next batch, and `_finish` waits for it."""
    if db.dialect.name != "postgresql":
        db.execute(_MAKE_CURRENT[db.dialect.name], batch)
        return _Sent(None)
    driver = db.connection.driver_connection
    assert driver is not None
    pipeline = driver.pipeline()
    pipeline.__enter__()
    sent = _Sent(pipeline)
    try:
        driver.execute(_MAKE_CURRENT_SQL, batch)
    except BaseException:
        sent.cancel()
        raise
    return sent


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """PostgreSQL keeps a connection's plan of a statement until the table's statistics change, so plans
    made while the tables were nearly empty would scan them whole for the rest of the import (autovacuum
    analyzes them eventually, when it is on). The tables the import looks things up in, its own queries
    and the foreign-key checks, are analyzed; ANALYZE takes a sample: a fraction of a second."""
    with session_scope(sessions) as session:
        if session.connection().dialect.name == "postgresql":
            for model in (Subject, SubjectRef, ConsentRecord):
                session.execute(text(f"ANALYZE {model.__tablename__}"))


_RANKED = select(
    *(ConsentRecord.org_id, ConsentRecord.subject_id, ConsentRecord.purpose, ConsentRecord.captured_at),
    ConsentRecord.id.label("record_id"),
    func.row_number()
    .over(
        partition_by=(ConsentRecord.subject_id, ConsentRecord.purpose),
        order_by=(ConsentRecord.captured_at.desc(), ConsentRecord.seq.desc()),
    )
    .label("rank"),
).where(
    ConsentRecord.chain == bindparam("chain"),
    ConsentRecord.seq.between(bindparam("first"), bindparam("last")),
)


_LATEST = _RANKED.subquery()


# The batch's latest decision per customer and purpose (the later capture; on a tie the later row) becomes
# current unless one captured later is in force: consent.service's own rule, in one statement.
_MAKE_CURRENT = {
    dialect: consent_service.make_current_from(
        dialect,
        select(*(_LATEST.c[c.name] for c in CurrentConsent.__table__.columns)).where(
            _LATEST.c.rank == literal_column("1")
        ),
    )
    for dialect in ("sqlite", "postgresql")
}


_MAKE_CURRENT_SQL = str(_MAKE_CURRENT["postgresql"].compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def head_seq(session: Session, chain_id: str) -> int:
    return int(session.execute(select(LedgerHead.seq).where(LedgerHead.chain == chain_id)).scalar() or 0)


def _evidence(sha: str, line: int) -> dict[str, Any]:
    """Where an imported record came from. Nothing the customer said, so it is not sealed: a re-run reads
    it to know where to continue."""
    return {"import": {"file_sha256": sha, "line": line}}


def _facts(record_id: uuid.UUID, subject_id: uuid.UUID, decision: Decision) -> Facts:
    """What a record's ledger data is made of, in a compact form (it crosses to another process)."""
    change = decision.change
    return (
        str(record_id),
        str(subject_id),
        decision.purpose,
        str(change.status),
        [str(c) for c in change.channels],
        change.notice_version,
        decision.notice_sha256,
        decision.captured_at,
        change.expires_at,
        decision.line,
    )
