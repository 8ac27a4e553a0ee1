"""`harken import consents`: an org's legacy consent records, from CSV into records and the ledger."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harken.clock import system_clock
from harken.consent import importer
from harken.db import session_scope
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.terminal import console, errors, fail, open_store

app = typer.Typer(help="Bring an org's records in from elsewhere.", no_args_is_help=True)

SHOWN = 20  # bad rows listed on the terminal; the report file has them all
SOME_BAD = 3  # exit status when the import finished but skipped bad rows


@app.command("consents")
def consents(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="The CSV file (UTF-8, header row)."
    ),
    org: str = typer.Option(..., "--org", help="The org's name, as `harken org list` shows it."),
    batch: int = typer.Option(
        importer.BATCH, min=1, max=100_000, help="Rows per transaction: the most a stop can undo."
    ),
    report_to: Path | None = typer.Option(
        None,
        "--errors",
        help="Where to write the bad rows as CSV (default: FILE.errors.csv beside FILE).",
    ),
    workers: int = typer.Option(
        min(4, len(os.sched_getaffinity(0)) - 1),
        min=0,
        max=16,
        help="Processes that make ledger entries alongside this one (default: CPUs - 1, at most 4).",
    ),
) -> None:
    """Import an org's legacy consent decisions from CSV, each as a consent record with method `import`
    and its ledger entry, as if recorded through the API when they were captured.

    \b
    Columns (header row required, any order):
      ref,purpose,status,channels,captured_at[,expires_at][,notice_version]
      ref             the org's ref for the customer; registered if new
      purpose         a purpose of the catalogue (GET /v1/purposes)
      status          granted, denied or withdrawn
      channels        email sms push phone post in-app, separated by | or ; (empty: none)
      captured_at     RFC 3339 with an offset, e.g. 2021-03-04T05:06:07Z; not in the future
      expires_at      optional, RFC 3339, later than captured_at
      notice_version  optional, an existing version of the org's notice; empty: none named

    \b
    A decision takes over a customer's current state only if captured later than the one in force.
    Bad rows are skipped (never half-written) and listed with line number and reason, all of them in
    FILE.errors.csv (a header row, columns line,reason, then the row as it was): correct the rows and
    import that file as it is (its line and reason columns are ignored on import).

    \b
    Each batch of rows is one transaction. Stopped (Ctrl-C, kill -9, power cut)? Run the same command
    again: it continues after the last imported line. A finished file imports nothing again; an edited
    file is a new file. Exit status: 0 every row imported, 3 done but bad rows skipped, 1 not done
    (130 after Ctrl-C).
    """
    report_path = report_to or file.with_name(file.name + ".errors.csv")
    with open_store() as store:
        with session_scope(store.sessions) as session:
            found = org_service.by_name(session, org)
        if found is None:
            fail(f"no org named {org!r} (see `harken org list`)")
        notary = Notary(keys.load_or_create(store.settings.keys_dir), store.settings.checkpoint_every)
        report = _BadRows(report_path)
        committed = 0

        def advance(line: int, lines: int) -> None:
            nonlocal committed
            committed = line
            progress.update(task, completed=line, total=max(lines, 1))

        try:
            with _progress() as progress:
                task = progress.add_task("importing", total=None)
                summary = importer.import_consents(
                    store.sessions,
                    org=found,
                    path=file,
                    notary=notary,
                    clock=system_clock,
                    batch_size=batch,
                    workers=workers,
                    on_bad=report.add,
                    on_progress=advance,
                )
        except importer.ImportProblem as exc:
            report.close(keep=False)
            fail(str(exc))
        except KeyboardInterrupt:
            report.close(keep=True)
            errors.print(
                f"Stopped. Everything up to line {committed:,} is imported (whole batches only): "
                "run the same command again to continue."
            )
            raise typer.Exit(130) from None
        except BaseException:
            report.close(keep=True)
            raise
        report.close(keep=summary.bad > 0)
    _print(summary, report, found.name)
    if summary.bad:
        raise typer.Exit(SOME_BAD)


class _BadRows:
    """The bad rows: the first few for the terminal, all of them in a CSV report written as they come.
    Each run rewrites the report for the whole file; a file without bad rows leaves none behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first: list[importer.BadRow] = []
        self._stream: TextIO | None = None
        self._writer: Any = None

    def add(self, row: importer.BadRow) -> None:
        if len(self.first) < SHOWN:
            self.first.append(row)
        if self._stream is None:
            self._stream = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._stream)
            self._writer.writerow([*importer.REPORT, *row.columns])
        self._writer.writerow([row.line, row.reason, *row.fields])

    def close(self, *, keep: bool) -> None:
        if self._stream is not None:
            self._stream.close()
        if not keep:
            self.path.unlink(missing_ok=True)


def _print(summary: importer.ImportSummary, report: _BadRows, org: str) -> None:
    if report.first:
        table = Table("line", "reason", title=f"Bad rows (skipped): {summary.bad:,}", title_justify="left")
        for row in report.first:
            table.add_row(str(row.line), row.reason)
        console.print(table)
        more = summary.bad - len(report.first)
        console.print(f"{'… and ' + format(more, ',') + ' more; a' if more else 'A'}ll in {report.path}")
    earlier = f", {summary.earlier:,} imported by an earlier run" if summary.earlier else ""
    console.print(
        f"[bold green]{summary.imported:,} consent records imported[/] into {org} "
        f"({summary.rows:,} rows: {summary.bad:,} bad{earlier}). Check them with `harken ledger verify`."
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
