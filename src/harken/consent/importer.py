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
with its line number (the file's, header = line 1) and the reason; the command writes them to
FILE.errors.csv, a file of the same columns after `line` and `reason` (REPORT), which imports as it is once
corrected: those two columns are ignored on import. No webhook (consent.updated) goes out
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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from harken.clock import Clock
from harken.consent import service as consent_service
from harken.consent.batches import Decision, ImportProblem, Writer, head_seq
from harken.consent.hashers import IMPORT, hashers
from harken.consent.models import ConsentRecord, Notice
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import ConsentPut, Method
from harken.db import session_scope
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.schemas import REF_PATTERN

__all__ = [
    "BATCH",
    "REPORT",
    "BadRow",
    "ImportProblem",
    "ImportSummary",
    "file_sha256",
    "import_consents",
    "last_imported_line",
]

REQUIRED = ("ref", "purpose", "status", "channels", "captured_at")
OPTIONAL = ("expires_at", "notice_version")
# A bad-rows report's own columns (FILE.errors.csv): ignored on import, so a corrected report imports as
# it is, and its bad rows are reported again without the earlier line and reason.
REPORT = ("line", "reason")
BATCH = 10_000
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
_REF = re.compile(REF_PATTERN)
_CHANNEL_SEPARATORS = re.compile(r"[|;]")


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str
    fields: list[str]  # the row as it was, but for a report's own columns
    columns: tuple[str, ...]  # what the fields are: the file's header, but for a report's own columns


@dataclass
class ImportSummary:
    file_sha256: str
    rows: int = 0  # data rows read (blank lines are not rows)
    imported: int = 0  # records written by this run
    earlier: int = 0  # good rows an earlier run of the same file had imported already
    bad: int = 0
    batches: int = 0
    header: list[str] = field(default_factory=list)


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

    With `workers` > 0, that many processes make the ledger bodies (see `Writer`). `on_bad` hears of
    every bad row, also of those before where an earlier run stopped (the report covers the whole file
    every time); `on_progress` gets the last line committed (at the end: the last line) and the file's
    number of lines, at the start and after each commit.
    """
    sha, lines = file_sha256(path)
    summary = ImportSummary(sha)
    with session_scope(sessions) as session:
        seen = head_seq(session, org.chain)  # first: a record of this file committed after it is newer
        done = last_imported_line(session, org=org, file_sha256=sha)
        notices = _notices(session, org)
    on_progress(done, lines)
    batch: list[Decision] = []
    with hashers(workers) as pool:
        writer = Writer(
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
                    on_bad(_bad(line, checked, fields, summary.header))
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


def _bad(line: int, reason: str, fields: list[str], header: list[str]) -> BadRow:
    """A bad row as a report lists it: a report's own columns (of a report being imported) left out."""
    kept = [n for n, name in enumerate(header) if name not in REPORT]
    columns = tuple(header[n] for n in kept)
    if len(fields) == len(header):
        fields = [fields[n] for n in kept]
    return BadRow(line, reason, fields, columns)


def _header(names: list[str]) -> list[str]:
    columns = [name.strip() for name in names]
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL + REPORT]
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
) -> Decision | str:
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
    return Decision(line, ref, purpose, change, captured_at, notice_sha256)


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
