"""`harken import consents` on a 1,000,000-row legacy CSV, through the real command (a subprocess).

The file is deterministic (seeded): customers with one to four purposes each, in export order, channels
split by | or ;, times in two offsets, some expiries, and one bad row in every BAD_EVERY, cycling through
each kind of mistake the importer must catch. Per backend: a fresh database, `harken db upgrade`,
`harken org create`, then the import is timed, and `harken ledger verify` must pass and count one entry per
good row.
"""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import cpu as cpu_meter
from bench.server import create_org, environment, harken_command, run_cli
from bench.stores import fresh_database

ROWS = 1_000_000
TARGET_S = 120.0  # for 1,000,000 rows
BAD_EVERY = 1_000  # ~0.1 % bad rows
HEADER = ["ref", "purpose", "status", "channels", "captured_at", "expires_at", "notice_version"]
PURPOSES = ["marketing", "personalised-offers", "analytics", "partner-sharing"]
CHANNELS = ["email", "sms", "push", "post", "phone", "in-app"]
BAD = [
    ("purpose", "newsletter"),
    ("status", "maybe"),
    ("channels", "email|fax"),
    ("captured_at", "03/04/2021 05:06"),
    ("captured_at", "2999-01-01T00:00:00Z"),
    ("expires_at", "2015-01-01T00:00:00Z"),
    ("notice_version", "7"),
    ("ref", "has space"),
    ("fields", ""),
]
START = datetime(2016, 1, 1, tzinfo=UTC)
IMPORTED = re.compile(r"([\d,]+) consent records imported")


@dataclass(frozen=True)
class ImportFigure:
    backend: str
    rows: int
    good: int
    seconds: float
    rate: float  # rows per second, bad ones included
    imported: int
    verified: bool
    verify_seconds: float
    exit_code: int
    cpu: dict[str, float | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verified and self.imported == self.good


def write_csv(path: Path, rows: int) -> int:
    """A legacy export of `rows` rows, one in BAD_EVERY bad; returns the number of good rows."""
    rng = random.Random(20261124)
    good, written, customer = 0, 0, 0
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream, lineterminator="\n")
        out.writerow(HEADER)
        while written < rows:
            customer += 1
            for purpose in rng.sample(PURPOSES, rng.randint(1, 4)):
                if written == rows:
                    break
                written += 1
                captured = START + timedelta(seconds=rng.randrange(10 * 365 * 86400), microseconds=written)
                status = rng.choice(("granted", "granted", "denied", "withdrawn"))
                row = {
                    "ref": f"legacy-{customer:07d}",
                    "purpose": purpose,
                    "status": status,
                    "channels": (";" if written % 2 else "|").join(
                        sorted(rng.sample(CHANNELS, rng.randint(1, 3)))
                    )
                    if status == "granted" and purpose != "analytics"
                    else "",
                    "captured_at": captured.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    if written % 3
                    else captured.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                    "expires_at": (captured + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if written % 5 == 0
                    else "",
                    "notice_version": "",
                }
                if written % BAD_EVERY == 0:
                    column, value = BAD[(written // BAD_EVERY) % len(BAD)]
                    if column == "fields":
                        out.writerow([row["ref"], row["purpose"], row["status"]])
                        continue
                    row[column] = value
                    if column == "captured_at":
                        row["expires_at"] = ""
                else:
                    good += 1
                out.writerow([row[c] for c in HEADER])
    return good


def bench_imports(
    rows: int, backends: list[str], pg_url: str | None, console: Console, settle_s: float = 0.0
) -> list[ImportFigure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="harken-bench-imports-") as scratch:
        directory = Path(scratch)
        source = directory / "legacy.csv"
        began = time.perf_counter()
        good = write_csv(source, rows)
        console.print(
            f"  wrote {rows:,} rows ({good:,} good, {source.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - began:.1f} s"
        )
        for backend in backends:
            with fresh_database(backend, directory, pg_url) as database:
                env = environment(database, directory / f"data-{backend}")
                run_cli(["db", "upgrade"], env)
                create_org("Legacy Airline", env)
                command = [*harken_command(), "import", "consents", str(source), "--org", "Legacy Airline"]
                if settle_s:
                    cpu_meter.settle(settle_s, lambda line: console.print(f"  [dim]{line}[/]"))
                first = cpu_meter.sample(None)
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                last = cpu_meter.sample(None)
                seconds = last.wall - first.wall
                found = IMPORTED.search(done.stdout)
                imported = int(found.group(1).replace(",", "")) if found else -1
                began = time.perf_counter()
                verify = subprocess.run(
                    [*harken_command(), "ledger", "verify"], env=env, capture_output=True, text=True
                )
                verify_seconds = time.perf_counter() - began
                entries = re.search(r"([\d,]+) entries", verify.stdout)
                verified = (
                    verify.returncode == 0
                    and entries is not None
                    and int(entries.group(1).replace(",", "")) == good
                )
                figure = ImportFigure(
                    backend,
                    rows,
                    good,
                    round(seconds, 2),
                    round(rows / seconds, 1),
                    imported,
                    verified,
                    round(verify_seconds, 2),
                    done.returncode,
                    cpu_meter.share(first, last).as_dict(),
                )
                figures.append(figure)
                if not figure.ok:
                    console.print(f"[red]{backend}: {done.stderr[-2000:]}{verify.stdout[-2000:]}[/]")
                console.print(
                    f"  {backend}: {rows:,} rows in {seconds:.1f} s ({figure.rate:,.0f} rows/s), "
                    f"verified: {verified} ({verify_seconds:.1f} s)"
                )
    return figures


def print_table(console: Console, figures: list[ImportFigure]) -> None:
    table = Table(title=f"harken import consents (target: {ROWS:,} rows in < {TARGET_S:g} s)")
    columns = (
        "backend",
        "rows",
        "good",
        "seconds",
        "rows/s",
        "imported",
        "cores busy",
        "ledger verify",
        "met",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("backend", "met") else "right")
    for f in figures:
        scaled = f.seconds * ROWS / f.rows
        table.add_row(
            f.backend,
            f"{f.rows:,}",
            f"{f.good:,}",
            f"{f.seconds:.1f}",
            f"{f.rate:,.0f}",
            f"{f.imported:,}",
            "" if f.cpu.get("machine") is None else f"{f.cpu['machine']:.2f}",
            f"{'ok' if f.verified else 'FAILED'} ({f.verify_seconds:.1f} s)",
            ("yes" if scaled < TARGET_S else "no") + ("" if f.rows == ROWS else " (scaled)"),
        )
    console.print(table)


def add_to_json(path: Path, figures: list[ImportFigure]) -> None:
    """bench/report.py writes the other figures; these join them in the same file."""
    document: dict[str, Any] = json.loads(path.read_text())
    document["imports"] = [asdict(f) | {"ok": f.ok} for f in figures]
    document.setdefault("targets", {})["import_1m_rows_s"] = TARGET_S
    path.write_text(json.dumps(document, indent=2) + "\n")
