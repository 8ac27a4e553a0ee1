"""Importing an org's legacy consent records from a CSV file (`harken import consents FILE.csv --org ORG`).

The file is UTF-8 with a header row naming its columns, in any order:

    ref,purpose,status,channels,captured_at[,expires_at][,notice_version]

    ref             the org's own name for the customer (as in PUT /v1/subjects/{ref}); registered if new
    purpose         a purpose of the catalogue (GET /v1/purposes)
    status          granted, denied or withdrawn
    channels        email, sms, push, phone, post, in-app, separated by | or ; (empty: none)
    captured_at     when the customer decided: RFC 3339 with an offset, e.g. 2021-03-04T05:06:07Z
    expires_at      optional, RFC 3339: when the decision lapses by itself; later than captured_at
    notice_version  optional: the version of the org's notice the customer was shown, which must exist.
                    Empty names no notice (the API would name today's latest, which a legacy
                    decision was not made under).

Each good row becomes what PUT /v1/subjects/{ref}/consents/{purpose} would store, with method `import`:
the same validation (ConsentPut), a consent record, its ledger entry on the org's chain (the entry's data is
`consent.service.ledger_data`, hashes linked with `ledger.chain.next_entry`, a signed checkpoint at every
HARKEN_CHECKPOINT_EVERYth entry), and the current state moved to it unless a decision captured later is in
force. Each row is its own record, also when it repeats another. The record's evidence says where it came
from: {"import": {"file_sha256": ..., "line": N}}. A bad row is skipped, never half-written, and reported
with its line number (the file's, header = line 1) and the reason. No webhook (consent.updated) goes out
for an imported record: the org is where the records come from, and a million deliveries of what it holds
already would only flood its endpoints.

Rows are written in batches, each one transaction: the batch's new customers, records, ledger entries,
checkpoints, chain head and current states land together or not at all. Because every record names its file
and line, what was imported is known from the records themselves, in the same commit: after an
interruption (even kill -9) the same command continues after the last imported line, and a finished file
imports nothing again. A file is known by the sha256 of its content, so an edited file is another file:
import corrected bad rows as a file of their own.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import multiprocessing
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Connection, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from harken.clock import Clock, rfc3339
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord, CurrentConsent, Notice
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import ConsentPut, Method
from harken.db import insert_many, session_scope
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerHead
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef
from harken.subjects.schemas import REF_PATTERN

REQUIRED = ("ref", "purpose", "status", "channels", "captured_at")
OPTIONAL = ("expires_at", "notice_version")
BATCH = 10_000
IMPORT = str(Method.import_)
SQLITE_CACHE_KIB = 256 * 1024  # the import's own connection; SQLite's default of 2 MiB rereads pages
RETRIES = 3  # tries of a batch that lost a race for a new ref

_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
_REF = re.compile(REF_PATTERN)
_CHANNEL_SEPARATORS = re.compile(r"[|;]")
_LOOKUP_CHUNK = 2_000  # refs per IN (...) query, well inside every backend's parameter limit


class ImportProblem(Exception):
    """The file cannot be imported as it stands (bad header), or another run got in the way."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str
    fields: list[str]


@dataclass
class ImportSummary:
    file_sha256: str
    rows: int = 0  # data rows read (blank lines are not rows)
    imported: int = 0  # records written by this run
    earlier: int = 0  # good rows an earlier run of the same file had imported already
    bad: int = 0
    batches: int = 0
    header: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Decision:
    """A row that passed every check, ready to be written."""

    line: int
    ref: str
    purpose: str
    change: ConsentPut
    captured_at: datetime
    notice_sha256: str | None


def file_sha256(path: Path) -> tuple[str, int]:
    """The file's identity (sha256 of its bytes) and its number of lines, in one streaming pass."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


def import_consents(
    sessions: sessionmaker[Session],
    *,
    org: Org,
    path: Path,
    notary: Notary,
    clock: Clock,
    batch_size: int = BATCH,
    workers: int = 0,
    on_bad: Callable[[BadRow], None] = lambda row: None,
    on_progress: Callable[[int, int], None] = lambda line, lines: None,
) -> ImportSummary:
    """Import the file's good rows into `org`, committing each batch (the one service that commits: a
    million rows cannot be one transaction). Continues after the last line an earlier run imported.

    With `workers` > 0, that many processes make the ledger bodies (see `_Writer`). `on_bad` hears of
    every bad row, also of those before where an earlier run stopped (the report covers the whole file
    every time); `on_progress` gets the last line committed (at the end: the last line) and the file's
    number of lines, at the start and after each commit.
    """
    sha, lines = file_sha256(path)
    summary = ImportSummary(sha)
    with session_scope(sessions) as session:
        seen = _head_seq(session, org.chain)  # first: a record of this file committed after it is newer
        done = last_imported_line(session, org=org, file_sha256=sha)
        notices = _notices(session, org)
    on_progress(done, lines)
    batch: list[_Decision] = []
    with _hashers(workers) as pool:
        writer = _Writer(
            sessions,
            pool,
            workers,
            org=org,
            notary=notary,
            clock=clock,
            sha=sha,
            done=(done, seen),
            committed=lambda line: on_progress(line, lines),
        )
        try:
            now = clock()
            for line, fields, unreadable in _rows(path, summary):
                summary.rows += 1
                checked = unreadable or _check(fields, summary.header, line=line, now=now, notices=notices)
                if isinstance(checked, str):
                    summary.bad += 1
                    on_bad(BadRow(line, checked, fields))
                elif line <= done:
                    summary.earlier += 1
                else:
                    batch.append(checked)
                    if len(batch) == batch_size:
                        writer.write(batch)
                        summary.imported += len(batch)
                        summary.batches += 1
                        batch, now = [], clock()
            if batch:
                writer.write(batch)
                summary.imported += len(batch)
                summary.batches += 1
            writer.finish()
        finally:
            writer.abandon()  # what is not committed by now is rolled back
    on_progress(lines, lines)
    return summary


def last_imported_line(session: Session, *, org: Org, file_sha256: str) -> int:
    """The line of the last record imported from this file into the org (0: none), read from the
    records themselves, so it is exactly what was committed."""
    evidence = session.execute(_LAST_IMPORTED, {"chain": org.chain, "sha": file_sha256}).scalar()
    return int(evidence["import"]["line"]) if evidence else 0


_LAST_IMPORTED = (
    select(ConsentRecord.evidence)
    .where(
        ConsentRecord.chain == bindparam("chain"),
        ConsentRecord.method == IMPORT,
        ConsentRecord.evidence[("import", "file_sha256")].as_string() == bindparam("sha"),
    )
    .order_by(ConsentRecord.seq.desc())
    .limit(1)
)

_IMPORTED_SINCE = select(ConsentRecord.evidence).where(
    ConsentRecord.chain == bindparam("chain"),
    ConsentRecord.seq > bindparam("after"),
    ConsentRecord.method == IMPORT,
)


def _rows(path: Path, summary: ImportSummary) -> Iterator[tuple[int, list[str], str | None]]:
    """(line where the row starts, its fields, why the csv module could not read it), streamed."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as stream:
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            header = []
        summary.header[:] = _header(header)
        ended = reader.line_num
        while True:
            try:
                fields, problem = next(reader), None
            except StopIteration:
                return
            except csv.Error as exc:
                fields, problem = [], f"unreadable CSV: {exc}"
            if fields or problem:  # a blank line is not a row
                yield ended + 1, fields, problem
            ended = reader.line_num


def _header(names: list[str]) -> list[str]:
    columns = [name.strip() for name in names]
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unknown or repeated:
        problems = [
            f"{label} {', '.join(names)}"
            for label, names in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
            if names
        ]
        raise ImportProblem(
            f"the first line must name the columns {','.join(REQUIRED)}[,{','.join(OPTIONAL)}]: "
            + "; ".join(problems)
        )
    return columns


def _check(
    fields: list[str],
    header: list[str],
    *,
    line: int,
    now: datetime,
    notices: dict[tuple[str, int], str],
) -> _Decision | str:
    """The row as a decision, or why it is not one: the API's rules (ConsentPut, the catalogue, the ref
    pattern, no future captured_at, a notice version that exists), plus RFC 3339 times."""
    if len(fields) != len(header):
        return f"{len(fields)} fields where the header names {len(header)}"
    row = dict(zip(header, (f.strip() for f in fields), strict=True))
    if any("\ufffd" in value for value in row.values()):
        return "not UTF-8 text"
    ref, purpose = row["ref"], row["purpose"]
    if not _REF.match(ref):
        return f"ref {ref!r}: 1 to 128 letters, digits and . _ : @ + -, starting with a letter or digit"
    if purpose not in CATALOGUE:
        return f"purpose {purpose!r} is not in the catalogue ({', '.join(CATALOGUE)})"
    for name in ("captured_at", "expires_at"):
        value = row.get(name, "")
        if (value or name == "captured_at") and not _RFC3339.match(value):
            return f"{name} {value!r}: not an RFC 3339 time with an offset, e.g. 2021-03-04T05:06:07Z"
    channels = [c.strip() for c in _CHANNEL_SEPARATORS.split(row["channels"]) if c.strip()]
    try:
        change = ConsentPut.model_validate(
            {
                "status": row["status"],
                "channels": channels,
                "captured_at": row["captured_at"],
                "expires_at": row.get("expires_at") or None,
                "notice_version": row.get("notice_version") or None,
                "method": Method.import_,
                "evidence": None,
            }
        )
    except ValidationError as exc:
        return "; ".join(_reason(error) for error in exc.errors(include_url=False))
    captured_at = change.captured_at
    assert captured_at is not None  # required above
    if captured_at > now + consent_service.CLOCK_SKEW:
        return "captured_at lies in the future"
    notice_sha256 = None
    if change.notice_version is not None:
        notice_sha256 = notices.get((purpose, change.notice_version))
        if notice_sha256 is None:
            return f"notice_version: the org has no notice version {change.notice_version} for {purpose!r}"
    return _Decision(line, ref, purpose, change, captured_at, notice_sha256)


def _reason(error: Any) -> str:
    where = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if where and isinstance(given, str | int) and not isinstance(given, bool):
        return f"{where} {given!r}: {message}"
    return f"{where}: {message}" if where else message


def _notices(session: Session, org: Org) -> dict[tuple[str, int], str]:
    rows = session.execute(
        select(Notice.purpose, Notice.version, Notice.sha256).where(Notice.org_id == org.id)
    )
    return {(purpose, version): sha256 for purpose, version, sha256 in rows}


class _Writer:
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
        self._sessions, self._hashers, self._workers = sessions, hashers, workers if hashers else 0
        self._org, self._notary, self._clock, self._sha = org, notary, clock, sha
        self.done, self._seen = done  # the last line committed, and the chain's head seq at that time
        self._committed = committed
        self._open: _Open | None = None
        self._batches = 0

    def write(self, batch: list[_Decision]) -> None:
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

    def _again(self, batch: list[_Decision]) -> None:
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

    def _start(self, batch: list[_Decision]) -> _Open:
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
            subjects = _subjects(session, org, {d.ref for d in batch}, now)
            common = _Common(org.chain, str(org.id), rfc3339(now), now, sha, head_seq + 1)
            chain_id = common.chain
            ids = [_time_ordered_id() for _ in batch]
            facts = [_facts(i, subjects[d.ref], d) for i, d in zip(ids, batch, strict=True)]
            parts = _shares(len(facts), self._workers)
            pool = self._hashers
            hashing = [pool.submit(_bodies, common, a, facts[a:b]) for a, b in parts[1:]] if pool else []
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
                        "evidence_sha256": _evidence_sha256(sha, decision.line),
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
            bodies = _bodies(common, 0, open.own)
            for part in open.hashing:
                bodies.extend(part.result())
            head_hash, entries = open.head_hash, []
            for offset, (body, body_digest) in enumerate(bodies):
                entry = chain.Entry(
                    common.chain,
                    common.first_seq + offset,
                    head_hash,
                    chain.link_digest(head_hash, body_digest),
                    body,
                )
                entries.append(entry)
                head_hash = entry.hash
            ledger_service.store(
                session,
                notary=notary,
                entries=entries,
                type=consent_service.LEDGER_TYPE,
                at=common.recorded_at,
            )
            session.commit()
        finally:
            session.close()
        return open.batch[-1].line, common.first_seq + len(bodies) - 1


@dataclass(frozen=True, slots=True)
class _Open:
    """A batch written up to its ledger entries, its transaction still open."""

    session: Session
    batch: list[_Decision]
    common: _Common
    own: list[_Facts]  # the facts whose bodies this process makes
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


def _head_seq(session: Session, chain_id: str) -> int:
    return int(session.execute(select(LedgerHead.seq).where(LedgerHead.chain == chain_id)).scalar() or 0)


def _subjects(session: Session, org: Org, refs: set[str], now: datetime) -> dict[str, uuid.UUID]:
    """ref -> subject id for the batch's refs; the unknown ones registered as new people, as
    `subjects.service.register` does without an email."""
    db = session.connection()
    known: dict[str, uuid.UUID] = {}
    ordered = sorted(refs)
    for chunk in _chunks(ordered, _LOOKUP_CHUNK):
        known.update((ref, id) for ref, id in db.execute(_KNOWN_REFS, {"org_id": org.id, "refs": chunk}))
    new = [ref for ref in ordered if ref not in known]
    if new:
        people = {ref: _time_ordered_id() for ref in new}
        insert_many(
            db,
            Subject,
            [{"id": i, "created_at": now, "email_digest": None, "erased_at": None} for i in people.values()],
        )
        insert_many(
            db,
            SubjectRef,
            [{"org_id": org.id, "ref": ref, "subject_id": i, "created_at": now} for ref, i in people.items()],
        )
        known.update(people)
    return known


_KNOWN_REFS = select(SubjectRef.ref, SubjectRef.subject_id).where(
    SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref.in_(bindparam("refs", expanding=True))
)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _evidence(sha: str, line: int) -> dict[str, Any]:
    """Where an imported record came from. Nothing the customer said, so it is not sealed: a re-run reads
    it to know where to continue."""
    return {"import": {"file_sha256": sha, "line": line}}


def _evidence_sha256(sha: str, line: int) -> str:
    """`consent.service.evidence_digest(_evidence(sha, line))` made far faster: ASCII keys
    already in order, a hex string and an integer, whose RFC 8785 form is exactly this text."""
    return hashlib.sha256(b'{"import":{"file_sha256":"%s","line":%d}}' % (sha.encode(), line)).hexdigest()


@dataclass(frozen=True, slots=True)
class _Common:
    """What every entry of a batch shares, sent once to each hasher."""

    chain: str
    org: str
    at: str
    recorded_at: datetime
    sha: str
    first_seq: int


_Facts = tuple[str, str, str, str, list[str], int | None, str | None, datetime, datetime | None, int]


def _facts(record_id: uuid.UUID, subject_id: uuid.UUID, decision: _Decision) -> _Facts:
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


def _bodies(common: _Common, start: int, facts: list[_Facts]) -> list[tuple[bytes, str]]:
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
            evidence_sha256=_evidence_sha256(common.sha, line),
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


def _shares(count: int, workers: int) -> list[tuple[int, int]]:
    """[start, end) of this process's share of a batch's bodies, then of each hasher's. With hashers this
    process keeps none: it has the records to write and the next batch to read meanwhile."""
    if not workers:
        return [(0, count)]
    bounds = [0, 0] + [count * (i + 1) // workers for i in range(workers)]
    return list(itertools.pairwise(bounds))


def _hashers(workers: int) -> AbstractContextManager[Executor | None]:
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


def _time_ordered_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562: 48 bits of Unix milliseconds, then random bits): a million new rows land at
    the end of each index instead of in a million random pages, which keeps a batch's writes (and
    SQLite's WAL) small. Ids stay unguessable; they reveal the time of the import, as recorded_at does."""
    random = int.from_bytes(os.urandom(10))
    return uuid.UUID(
        int=(time.time_ns() // 1_000_000) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & (1 << 62) - 1
    )
