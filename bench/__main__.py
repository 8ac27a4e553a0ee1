"""`python -m bench`: measure, print the tables, write bench/results/latest.json.

Exits 1 if a run got an unexpected answer or a chain failed to verify; a missed target is a
finding, not a failure, and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench import report
from bench.decisions import CUSTOMERS, DecisionLoad, DecisionResults, bench_decisions
from bench.imports import ROWS, ImportFigure, bench_imports
from bench.imports import add_to_json as add_imports
from bench.imports import print_table as print_imports
from bench.learning import DECISIONS, LearningFigures, bench_learning
from bench.learning import add_to_json as add_learning
from bench.learning import print_figures as print_learning
from bench.ledger import LedgerFigure, bench_ledger
from bench.stores import POSTGRES_ENV, backends, postgres_url
from bench.writes import WriteFigure, WriteLoad, bench_writes


def _counts(what: str) -> Callable[[str], list[int]]:
    def parse(text: str) -> list[int]:
        try:
            counts = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            counts = []
        if not counts or min(counts) < 1:
            raise argparse.ArgumentTypeError(f"a comma-separated list of {what}, each ≥ 1")
        return counts

    return parse


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 s windows after 0.5 s warm-up, 100,000 ledger entries, 10,000 customers, "
        "100,000 imported rows",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"PostgreSQL to bench too (a fresh schema per run); default ${POSTGRES_ENV}",
    )
    parser.add_argument("--duration", type=float, help="seconds measured per run (default 10; quick 2)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each run (default 2; quick 0.5)")
    parser.add_argument(
        "--concurrency",
        type=_counts("connection counts"),
        default=[8, 32],
        help="concurrent keep-alive connections: decisions (and Cerbos) run at each, the writes at the largest (8,32)",
    )
    parser.add_argument(
        "--workers", type=_counts("worker counts"), default=[1, 2], help="server worker counts to try (1,2)"
    )
    parser.add_argument("--entries", type=int, help="ledger entries (default 1,000,000; quick 100,000)")
    parser.add_argument(
        "--settle",
        type=float,
        help="before each run, wait up to S s for the machine to "
        "go quiet (< 0.25 cores busy): it may be shared (default 60; quick 5; 0: don't)",
    )
    parser.add_argument(
        "--customers",
        type=int,
        help=f"customers for the decisions benchmark (default {CUSTOMERS:,}; quick 10,000)",
    )
    parser.add_argument(
        "--rows", type=int, help=f"CSV rows for `harken import consents` (default {ROWS:,}; quick 100,000)"
    )
    parser.add_argument(
        "--only",
        choices=["writes", "ledger", "decisions", "imports", "learning"],
        help="run only one of the benchmarks",
    )
    parser.add_argument("--output", type=Path, default=report.RESULTS, help="JSON results file (%(default)s)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.settle = args.settle if args.settle is not None else (5.0 if args.quick else 60.0)
    args.entries = args.entries or (100_000 if args.quick else 1_000_000)
    args.customers = args.customers or (10_000 if args.quick else CUSTOMERS)
    args.rows = args.rows or (100_000 if args.quick else ROWS)
    if args.duration <= 0 or args.warmup < 0 or args.entries < 1:
        parser.error("--duration and --entries must be positive, --warmup not negative")
    if args.customers < 2:
        parser.error("--customers must be at least 2")
    if args.rows < 1:
        parser.error("--rows must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    pg_url = postgres_url(args.postgres)
    chosen = backends(pg_url)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.perf_counter()
    if not pg_url:
        console.print(f"[yellow]PostgreSQL skipped: pass --postgres URL or set ${POSTGRES_ENV}[/]")
    facts = report.machine(pg_url)

    writes: list[WriteFigure] = []
    ledger: list[LedgerFigure] = []
    decisions: DecisionResults | None = None
    imports: list[ImportFigure] = []
    learning: LearningFigures | None = None
    if args.only in (None, "writes"):
        console.rule(
            f"consent writes: {max(args.concurrency)} connections, {args.warmup:g} s warm-up + "
            f"{args.duration:g} s per run, workers {args.workers}"
        )
        writes = bench_writes(
            chosen,
            pg_url,
            args.workers,
            WriteLoad(args.duration, args.warmup, max(args.concurrency), args.settle),
            console,
        )
    if args.only in (None, "ledger"):
        console.rule(f"ledger: {args.entries:,} entries")
        ledger = bench_ledger(args.entries, chosen, pg_url, console)

    if args.only in (None, "decisions"):
        console.rule(
            f"decisions: {args.customers:,} customers, 20 offers; {args.concurrency} connections, then Cerbos; "
            f"{args.warmup:g} s warm-up + {args.duration:g} s per run, workers {args.workers}"
        )
        decisions = bench_decisions(
            chosen,
            pg_url,
            args.workers,
            DecisionLoad(args.duration, args.warmup, tuple(args.concurrency), args.settle, args.customers),
            console,
        )

    if args.only in (None, "imports"):
        console.rule(f"harken import consents: {args.rows:,} CSV rows")
        imports = bench_imports(args.rows, chosen, pg_url, console, args.settle)

    if args.only in (None, "learning"):
        decisions_logged = 5_000 if args.quick else DECISIONS
        console.rule(f"learning: {decisions_logged:,} logged decisions, 41 actions each")
        learning = bench_learning(decisions_logged, pg_url)

    found = report.verdicts(writes, ledger) + report.decision_verdicts(decisions)
    report.print_tables(console, writes, ledger, found, decisions)
    if imports:
        print_imports(console, imports)
    if learning is not None:
        print_learning(learning)
    options = {
        "quick": args.quick,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "settle_s": args.settle,
        "workers": args.workers,
        "entries": args.entries,
        "customers": args.customers,
        "rows": args.rows,
        "only": args.only,
        "postgres": bool(pg_url),
        "elapsed_s": round(time.perf_counter() - began, 1),
        "argv": sys.argv[1:],
        "checkpoint_every": os.environ.get("HARKEN_CHECKPOINT_EVERY", "100 (default)"),
    }
    report.write_json(
        args.output,
        started=started,
        facts=facts,
        options=options,
        writes=writes,
        ledger=ledger,
        found=found,
        decisions=decisions,
    )
    add_imports(args.output, imports)
    add_learning(args.output, learning)
    console.print(f"results: {args.output}  ({options['elapsed_s']} s)")
    broken: list[object] = [w for w in writes if not w.ok] + [f for f in ledger if not f.ok]
    broken += [f for f in imports if not f.ok]
    if decisions is not None and not decisions.ok:
        broken.append(decisions)
    if broken:
        console.print(f"[bold red]{len(broken)} run(s) got unexpected answers or failed to verify[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
