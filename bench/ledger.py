"""Ledger verification speed: a long chain built with the pure chain functions, verified in memory
(harken.ledger.chain.verify_chain) and from each database (harken.ledger.service.verify, streaming).

The chain looks like production: consent.recorded entries whose data has the shape of
consent.service.ledger_data, and a signed checkpoint every CHECKPOINT_EVERY entries (the default
of HARKEN_CHECKPOINT_EVERY), so verification also checks those signatures.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from bench import cpu as cpu_meter
from bench.stores import fresh_database
from harken import schema
from harken.clock import rfc3339
from harken.db import create_db_engine, readonly
from harken.ledger import chain, keys
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerCheckpoint, LedgerHead

CHAIN = "org:bench-ledger"
CHECKPOINT_EVERY = 100
ENTRY_TYPE = "consent.recorded"
Row = tuple[str, int, str, str, str, str]
ENTRY_COLUMNS = "chain, seq, type, prev_hash, hash, body"
STEP = 10_000  # progress updates every STEP entries, so the bar costs nothing measurable


@dataclass(frozen=True)
class LedgerFigure:
    step: str
    backend: str  # "memory", "sqlite" or "postgresql"
    entries: int
    seconds: float
    rate: float  # entries per second
    ok: bool
    note: str = ""
    cpu: dict[str, float | None] = field(default_factory=dict)  # cores busy meanwhile (see bench.cpu)


@dataclass
class BuiltChain:
    entries: list[chain.Entry]
    checkpoints: list[chain.Checkpoint]
    created: list[datetime]  # when each checkpoint was made


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def build_chain(count: int, ring: keys.KeyRing, console: Console) -> BuiltChain:
    """`count` consent.recorded entries, linked with chain.next_entry, and their signed checkpoints."""
    rng = random.Random(20261124)
    org = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    subjects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(1000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    built = BuiltChain([], [], [])
    head_seq, head_hash = 0, chain.GENESIS
    with _progress(console) as progress:
        task = progress.add_task("building the chain", total=count)
        for seq in range(1, count + 1):
            moment = start + timedelta(milliseconds=seq)
            at = rfc3339(moment)
            granted = seq % 2 == 1
            data: dict[str, Any] = {
                "record": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "org": org,
                "subject": subjects[seq % len(subjects)],
                "purpose": "marketing",
                "status": "granted" if granted else "withdrawn",
                "channels": ["email"] if granted else [],
                "notice_version": None,
                "notice_sha256": None,
                "method": "api",
                "captured_at": at,
                "expires_at": None,
                "recorded_at": at,
                "evidence_sha256": None,
            }
            entry = chain.next_entry(
                chain=CHAIN, head_seq=head_seq, head_hash=head_hash, type=ENTRY_TYPE, at=at, data=data
            )
            built.entries.append(entry)
            head_seq, head_hash = entry.seq, entry.hash
            if seq % CHECKPOINT_EVERY == 0:
                built.checkpoints.append(
                    chain.sign_checkpoint(
                        chain=CHAIN,
                        seq=seq,
                        hash=entry.hash,
                        at=at,
                        every=CHECKPOINT_EVERY,
                        key=ring.active,
                        kid=ring.active_kid,
                    )
                )
                built.created.append(moment)
            if seq % STEP == 0 or seq == count:
                progress.update(task, completed=seq)
    return built


def _rows(built: BuiltChain, progress: Progress, task: TaskID) -> Iterator[Row]:
    for entry in built.entries:
        yield entry.chain, entry.seq, ENTRY_TYPE, entry.prev_hash, entry.hash, entry.body.decode()
        if entry.seq % STEP == 0:
            progress.update(task, completed=entry.seq)


def store_chain(url: str, backend: str, built: BuiltChain, console: Console) -> None:
    """Migrate, then bulk-load entries (executemany on SQLite, COPY on PostgreSQL), head and checkpoints."""
    engine = create_db_engine(url)
    try:
        schema.upgrade(engine)
        raw = engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            with _progress(console) as progress:
                task = progress.add_task(f"loading into {backend}", total=len(built.entries))
                if backend == "sqlite":
                    driver.execute("BEGIN IMMEDIATE")
                    driver.executemany(
                        f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?)",
                        _rows(built, progress, task),
                    )
                    driver.execute("COMMIT")
                else:
                    with (
                        driver.cursor() as cursor,
                        cursor.copy(f"COPY ledger_entries ({ENTRY_COLUMNS}) FROM STDIN") as copy,
                    ):
                        for row in _rows(built, progress, task):
                            copy.write_row(row)
                    driver.commit()
        finally:
            raw.close()
        last = built.entries[-1]
        with engine.begin() as connection:
            connection.execute(insert(LedgerHead), [{"chain": CHAIN, "seq": last.seq, "hash": last.hash}])
            connection.execute(
                insert(LedgerCheckpoint),
                [
                    {"chain": cp.chain, "seq": cp.seq, "hash": cp.hash, "created_at": at, "jws": cp.jws}
                    for cp, at in zip(built.checkpoints, built.created, strict=True)
                ],
            )
        # As a database in service would be: WAL folded back (SQLite), statistics and hint bits (PostgreSQL).
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            if backend == "sqlite":
                driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                driver.autocommit = True
                driver.execute("VACUUM ANALYZE ledger_entries")
        finally:
            raw.close()
    finally:
        engine.dispose()


def verify_stored(url: str, ring: keys.KeyRing, count: int) -> tuple[bool, str]:
    """ledger_service.verify over every chain of the database, through a read-only session."""
    engine = create_db_engine(url)
    try:
        with sessionmaker(readonly(engine))() as session:
            reports = list(ledger_service.verify(session, keys=ring, every=CHECKPOINT_EVERY))
    finally:
        engine.dispose()
    ok = len(reports) == 1 and reports[0].ok and reports[0].entries == count
    return ok, "; ".join(f"{r.chain}: {r.problem}" for r in reports if not r.ok)


T = TypeVar("T")


class Stopwatch:
    """Times one step and notes where the machine's CPU went meanwhile (this process, PostgreSQL, the rest)."""

    def __init__(self, step: str, backend: str, count: int) -> None:
        self.step, self.backend, self.count = step, backend, count

    def run(self, work: Callable[[], T]) -> tuple[T, Callable[[bool, str], LedgerFigure]]:
        first = cpu_meter.sample(None)
        result = work()
        last = cpu_meter.sample(None)
        share = cpu_meter.share(first, last)
        seconds = last.wall - first.wall

        def figure(ok: bool, note: str = "") -> LedgerFigure:
            return LedgerFigure(
                self.step,
                self.backend,
                self.count,
                round(seconds, 3),
                round(self.count / seconds, 1),
                ok,
                note,
                share.as_dict(),
            )

        return result, figure


def bench_ledger(count: int, backends: list[str], pg_url: str | None, console: Console) -> list[LedgerFigure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="harken-bench-ledger-") as scratch:
        directory = Path(scratch)
        ring = keys.load_or_create(directory / "keys")
        built, figure = Stopwatch("build (next_entry + checkpoints)", "memory", count).run(
            lambda: build_chain(count, ring, console)
        )
        figures.append(figure(True, f"{len(built.checkpoints)} signed checkpoints"))
        console.print(f"  built {count:,} entries in {figures[-1].seconds:.1f} s")

        last = built.entries[-1]
        report, figure = Stopwatch("verify_chain (pure)", "memory", count).run(
            lambda: chain.verify_chain(
                CHAIN,
                built.entries,
                checkpoints=built.checkpoints,
                keys=ring.public,
                head=(last.seq, last.hash),
                every=CHECKPOINT_EVERY,
            )
        )
        figures.append(figure(report.ok and report.entries == count, report.problem or ""))
        console.print(f"  verify_chain, in memory: {figures[-1].rate:,.0f} entries/s")

        for backend in backends:
            with fresh_database(backend, directory, pg_url) as database:
                url = database.url
                _, figure = Stopwatch("bulk load", backend, count).run(
                    lambda url=url, backend=backend: store_chain(url, backend, built, console)
                )
                figures.append(figure(True, "executemany" if backend == "sqlite" else "COPY"))
                loaded = figures[-1].seconds
                (ok, problem), figure = Stopwatch("service.verify (streamed)", backend, count).run(
                    lambda url=url: verify_stored(url, ring, count)
                )
                figures.append(figure(ok, problem))
                console.print(
                    f"  service.verify on {backend}: {figures[-1].rate:,.0f} entries/s "
                    f"(loaded in {loaded:.1f} s)"
                )
    return figures
