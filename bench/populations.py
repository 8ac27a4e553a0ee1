"""`python -m bench.populations`: the same decisions load against populations of different sizes, on
PostgreSQL, in one run — is a decision about one of 1,000,000 customers as fast as about one of 10,000?

For each population (10,000 and 1,000,000 by default), smallest first, in a PostgreSQL schema of its own:

1. build the customers' rows (`bench.customers.build`) and bulk-load them with COPY (`customers.load`);
   check that every person got the change counter the triggers of migration 0015 write (they fire on COPY);
2. `decisions.service.decide` in-process, one thread, one committed transaction per call, customers drawn
   uniformly at random: without the per-process memory (every call reads the person: the miss path), then
   with it (`Memory(Settings().decision_memory)`, as the server: 10,000 people), then with the memory and
   a hot set of `--hot` customers that repeat. Each call is counted as a memory hit or miss;
3. `POST /v1/decisions` through `harken serve --workers N` (the server keeps its own memory), uniform draws;
4. EXPLAIN (ANALYZE, BUFFERS) of every statement one decision runs, on the miss path and on the hit path,
   captured from a real `decide` (rolled back): the plan's scans and the pages it touched.

The figures go to the console and to a JSON file (bench/results/populations.json).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Connection, Engine, event, text

from bench import customers
from bench.decisions import (
    CHANNELS,
    PURPOSE,
    CallFigure,
    DecisionLoad,
    Draw,
    _load,
    _progress,
    _settle,
    bench_http,
    timed,
)
from bench.report import machine
from bench.server import environment, serve
from bench.stores import POSTGRES_ENV, BenchDatabase, fresh_database, postgres_url
from bench.writes import WriteFigure
from harken import schema
from harken.clock import system_clock
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.decisions import service as decision_service
from harken.decisions.memory import Memory
from harken.decisions.schemas import DecisionPost
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs.models import Org

POPULATIONS = (10_000, 1_000_000)
HOT = 1_000
RESULTS = Path(__file__).parent / "results" / "populations.json"

# Which statement of a decision a captured SQL text is, first match wins (order matters).
STATEMENTS = (
    ("INSERT INTO decisions", "decision log insert"),
    ("FOR UPDATE", "turn (counter row lock)"),
    ("FROM subject_refs", "person (_PERSON)"),
    ("FROM change_counters", "catalogue version (_VERSION)"),
    ("FROM offers", "offers (_OFFERS)"),
    ("FROM sharing", "sharing"),
    ("FROM events", "events (history)"),
    ("FROM facts", "facts (_FACTS)"),
    ("consent_current", "consents (_CONSENTS)"),
    ("FROM decision_feedback", "feedback (_FEEDBACK)"),
    ("share_grants", "shares (_LENDS_ANY)"),
    ("FROM decisions", "contacts (_CONTACTS)"),
    ("FROM subjects", "person's subjects (person)"),
)


@dataclass(frozen=True)
class Plan:
    """One statement of a decision, as PostgreSQL ran it under EXPLAIN (ANALYZE, BUFFERS)."""

    path: str  # "miss" or "hit"
    statement: str
    nodes: list[str]  # "Index Scan using pk_subject_refs on subject_refs", … depth first
    pages: int  # shared buffers hit + read, the whole plan
    rows: int  # rows the top node returned
    ms: float
    seq_scan: bool


@dataclass
class PopulationFigures:
    customers: int
    build_s: float = 0.0
    load_s: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)  # table → rows
    size_mb: float = 0.0  # tables and indexes of the schema
    counters: dict[str, int] = field(default_factory=dict)
    calls: list[CallFigure] = field(default_factory=list)
    http: list[WriteFigure] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    # step → shared-buffer pages per call over the run (warm-up included): "hit", and "read" from the OS or disk
    buffers: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _populations(text_: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text_.split(",") if part.strip()})
    if not sizes or sizes[0] < 2:
        raise argparse.ArgumentTypeError("a comma-separated list of population sizes, each ≥ 2")
    return sizes


# ---- draws ---------------------------------------------------------------------------------------


def uniform(count: int, seed: int) -> Callable[[], int]:
    rng = random.Random(seed)
    return lambda: rng.randrange(count)


def hot(count: int, size: int, seed: int) -> tuple[list[int], Callable[[], int]]:
    """A fixed random set of `size` customers, and a draw from it: they repeat."""
    rng = random.Random(seed)
    chosen = rng.sample(range(count), min(size, count))
    return chosen, lambda: rng.choice(chosen)


# ---- the service in-process ----------------------------------------------------------------------


def bench_service(
    db: Engine,
    org_id: uuid.UUID,
    notary: Notary,
    draw: Callable[[], int],
    memory: Memory | None,
    step: str,
    load: DecisionLoad,
    console: Console,
) -> tuple[CallFigure, dict[str, float]]:
    """`decision_service.decide`, one committed transaction per call; the outcome of each call is whether
    the memory held the person ("hit", "miss"; "read" without memory)."""
    sessions = make_session_factory(db)
    with session_scope(sessions) as session:
        org = session.get_one(Org, org_id)
    template = DecisionPost(
        subject=customers.ref(0), purpose=PURPOSE, channels=list(CHANNELS), offer_ids=list(customers.offers())
    )

    def decide(i: int) -> str:
        body = template.model_copy(update={"subject": customers.ref(draw())})
        hits = memory.hits if memory is not None else 0
        with session_scope(sessions) as session:
            decision_service.decide(
                session, org=org, body=body, notary=notary, now=system_clock(), memory=memory
            )
        if memory is None:
            return "read"
        return "hit" if memory.hits > hits else "miss"

    _settle(load, console)
    before, calls = _blocks(db), [0]

    def counted(i: int) -> str:
        calls[0] += 1
        return decide(i)

    figure = timed(step, "postgresql", counted, load.warmup_s, load.duration_s)
    time.sleep(STATS_FLUSH_S)
    after = _blocks(db)
    buffers = {kind: round((after[kind] - before[kind]) / max(1, calls[0]), 1) for kind in before}
    _say_memory(console, figure, buffers)
    return figure, buffers


STATS_FLUSH_S = 1.5  # PostgreSQL 15 publishes a backend's table statistics at most once a second


def _blocks(db: Engine) -> dict[str, int]:
    """Shared-buffer pages of the schema's tables and indexes found in the buffers, and read into them."""
    with db.connect() as connection:
        hit, read = connection.execute(
            text(
                "SELECT coalesce(sum(heap_blks_hit + coalesce(idx_blks_hit, 0)), 0), "
                "coalesce(sum(heap_blks_read + coalesce(idx_blks_read, 0)), 0) "
                "FROM pg_statio_user_tables WHERE schemaname = current_schema()"
            )
        ).one()
    return {"hit": int(hit), "read": int(read)}


def _say_memory(console: Console, figure: CallFigure, buffers: dict[str, float]) -> None:
    hits = figure.outcomes.get("hit", 0)
    console.print(
        f"  {figure.step:<34} {figure.rate:>8,.1f}/s  p50 {figure.p50_us / 1000:,.2f} ms  "
        f"p99 {figure.p99_us / 1000:,.2f} ms  ({figure.calls:,} calls, "
        f"{hits / figure.calls if figure.calls else 0:.0%} memory hits; pages per call: "
        f"{buffers['hit']:,.1f} in shared buffers, {buffers['read']:,.1f} read)"
    )


# ---- the plans -----------------------------------------------------------------------------------


@contextmanager
def captured(db: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) sent on `db` inside the block."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(db, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db, "before_cursor_execute", listen)


def _name(statement: str) -> str:
    flat = " ".join(statement.split())
    return next((name for needle, name in STATEMENTS if needle in flat), flat[:60])


def _nodes(node: dict[str, Any], depth: int = 0) -> Iterator[str]:
    what = node["Node Type"]
    if "Index Name" in node:
        what += f" using {node['Index Name']}"
    if "Relation Name" in node:
        what += f" on {node['Relation Name']}"
    yield "  " * depth + what
    for child in node.get("Plans", ()):
        yield from _nodes(child, depth + 1)


def explain(db: Engine, statements: list[tuple[str, Any]], path: str) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) each statement with its own parameters, in a transaction rolled back.
    A statement planned as a sequential scan (a table empty or of a page or two in the benchmark) is
    explained again with sequential scans off, to show the index it would use once the table grows."""
    found = []
    with db.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
                continue
            plan = _explain(connection, statement, parameters, path)
            found.append(plan)
            if plan.seq_scan:
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                found.append(_explain(connection, statement, parameters, f"{path}, seqscan off"))
                connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        connection.rollback()
    return found


def _explain(connection: Connection, statement: str, parameters: Any, path: str) -> Plan:
    found = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
    value = found.scalar_one()
    top = (value if isinstance(value, list) else json.loads(value))[0]
    root = top["Plan"]
    nodes = list(_nodes(root))
    return Plan(
        path=path,
        statement=_name(statement),
        nodes=nodes,
        pages=int(root.get("Shared Hit Blocks", 0)) + int(root.get("Shared Read Blocks", 0)),
        rows=int(root.get("Actual Rows", 0)),
        ms=round(float(top.get("Execution Time", 0.0)), 3),
        seq_scan=any("Seq Scan" in n for n in nodes),
    )


def plans(db: Engine, org_id: uuid.UUID, notary: Notary, now: datetime, count: int) -> list[Plan]:
    """The plans of one decision about a customer who told Harken everything and limited a channel, on
    the miss path (memory empty) and the hit path (the same decision again); nothing is committed."""
    sessions = make_session_factory(db)
    with session_scope(sessions) as session:
        org = session.get_one(Org, org_id)
    found: list[Plan] = []
    for index in range(min(count, 500)):
        person = customers.customer(index, now)
        if not (person.rich and person.purchases and person.contacts):
            continue
        body = DecisionPost(
            subject=person.ref, purpose=PURPOSE, channels=list(CHANNELS), offer_ids=list(customers.offers())
        )
        memory = Memory()
        runs = []
        for _path in ("miss", "hit"):
            with captured(db) as seen:
                session = sessions()
                try:
                    decision_service.decide(
                        session, org=org, body=body, notary=notary, now=system_clock(), memory=memory
                    )
                finally:
                    session.rollback()
                    session.close()
            runs.append(list(seen))
        if any("FROM decisions" in " ".join(s.split()) and "INSERT" not in s for s, _ in runs[0]):
            found = explain(db, runs[0], "miss") + explain(db, runs[1], "hit")
            break
    return found


def _say_plans(console: Console, found: list[Plan]) -> None:
    for plan in found:
        scans = [n.strip() for n in plan.nodes if "Scan" in n]
        flag = " [red]SEQ SCAN[/]" if plan.seq_scan else ""
        console.print(
            f"  {plan.path:<4} {plan.statement:<30} {plan.pages:>4} pages {plan.ms:>7.3f} ms  "
            f"{'; '.join(scans) or plan.nodes[0].strip()}{flag}",
            highlight=False,
        )


# ---- the database --------------------------------------------------------------------------------


COUNTED = ("subjects", "facts", "events", "consent_records", "decisions", "ledger_entries", "change_counters")


def inspect(db: Engine, figures: PopulationFigures) -> None:
    """Row counts, the schema's size, and whether every person has the counter the triggers write."""
    with db.connect() as connection:
        for table in COUNTED:
            figures.rows[table] = int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        figures.size_mb = round(
            float(
                connection.execute(
                    text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                    )
                ).scalar_one()
            )
            / 2**20,
            1,
        )
        missing = connection.execute(
            text(
                "SELECT count(*) FROM subjects s WHERE NOT EXISTS "
                "(SELECT 1 FROM change_counters c WHERE c.id = coalesce(s.person_id, s.id))"
            )
        ).scalar_one()
        orgs = connection.execute(
            text("SELECT count(*) FROM orgs o JOIN change_counters c ON c.id = o.id")
        ).scalar_one()
    figures.counters = {"people without a counter": int(missing), "org catalogues with a counter": int(orgs)}
    if missing:
        figures.problems.append(f"{missing} people have no change counter after the bulk load")


@dataclass
class Loaded:
    """One population in its schema, ready to measure."""

    figures: PopulationFigures
    db: Engine
    database: BenchDatabase
    org_id: uuid.UUID
    key: str
    notary: Notary
    data_dir: Path


def load_population(count: int, pg_url: str, directory: Path, stack: ExitStack, console: Console) -> Loaded:
    """Build and bulk-load `count` customers into a fresh schema (dropped when `stack` closes)."""
    figures = PopulationFigures(count)
    now = system_clock()
    data_dir = directory / f"data-{count}"
    ring = keys.load_or_create(data_dir / "keys")
    every = Settings().checkpoint_every
    notary = Notary(ring, every)
    with _progress(console) as progress:
        task = progress.add_task(f"building {count:,} customers' rows", total=count)
        population = customers.build(
            count,
            now,
            ring,
            every,
            directory / f"rows-{count}",
            lambda done: progress.update(task, completed=done),
        )
    figures.build_s = population.build_s
    console.print(f"  built {count:,} customers ({population.facts:,} facts) in {population.build_s:.1f} s")
    database = stack.enter_context(fresh_database("postgresql", directory, pg_url))
    db = create_db_engine(database.url)
    stack.callback(db.dispose)
    schema.upgrade(db)
    began = time.perf_counter()
    key = _load(db, "postgresql", population, console)
    figures.load_s = round(time.perf_counter() - began, 1)
    for chunk in population.chunks:
        chunk.unlink()
    inspect(db, figures)
    console.print(
        f"  loaded in {figures.load_s:.1f} s: {figures.size_mb:,.0f} MB, rows {figures.rows}, "
        f"counters {figures.counters}"
    )
    figures.plans = plans(db, population.org_id, notary, now, count)
    _say_plans(console, figures.plans)
    return Loaded(figures, db, database, population.org_id, key, notary, data_dir)


def prime(loaded: Loaded, memory: Memory, indexes: list[int]) -> None:
    """One decision for each of `indexes`, so the memory holds them before the run (not timed)."""
    sessions = make_session_factory(loaded.db)
    with session_scope(sessions) as session:
        org = session.get_one(Org, loaded.org_id)
    for index in indexes:
        body = DecisionPost(
            subject=customers.ref(index),
            purpose=PURPOSE,
            channels=list(CHANNELS),
            offer_ids=list(customers.offers()),
        )
        with session_scope(sessions) as session:
            decision_service.decide(
                session, org=org, body=body, notary=loaded.notary, now=system_clock(), memory=memory
            )


def measure(loaded: list[Loaded], args: argparse.Namespace, load: DecisionLoad, console: Console) -> None:
    """Each run against every population in turn (interleaved: the machine's other load falls on both)."""
    steps = ["uniform, no memory (miss path)", "uniform, memory"]
    if args.hot:
        steps.append(f"hot set of {args.hot:,}, memory primed")
    for round_, step in ((r, step) for r in range(1, args.rounds + 1) for step in steps):
        if args.rounds > 1:
            step = f"{step} (round {round_})"
        console.rule(step)
        for one in loaded:
            count = one.figures.customers
            memory = None if "no memory" in step else Memory(Settings().decision_memory)
            if "hot" in step:
                chosen, draw = hot(count, args.hot, seed=3)
                assert memory is not None
                prime(one, memory, chosen)
            else:
                draw = uniform(count, seed=count)
            console.print(f"  [bold]{count:,} customers[/]")
            figure, buffers = bench_service(one.db, one.org_id, one.notary, draw, memory, step, load, console)
            one.figures.calls.append(figure)
            one.figures.buffers[step] = buffers
    if args.workers:
        console.rule(f"POST /v1/decisions, harken serve --workers {args.workers}, uniform draws")
        for one in loaded:
            count = one.figures.customers
            env = environment(one.database, one.data_dir)
            with serve(args.workers, env, one.data_dir / f"server-{count}.log") as server:
                draw_ = Draw(count, count - 1, seed=4)  # uniform over all but the last customer
                one.figures.http = bench_http(f"pg {count:,}", server, one.key, draw_, load, console)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.populations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--populations",
        type=_populations,
        default=list(POPULATIONS),
        help="comma-separated population sizes (10000,1000000)",
    )
    parser.add_argument("--postgres", metavar="URL", help=f"PostgreSQL to use; default ${POSTGRES_ENV}")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each run (2)")
    parser.add_argument("--settle", type=float, default=60.0, help="wait up to S s for a quiet machine (60)")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP keep-alive connections (32)")
    parser.add_argument("--workers", type=int, default=1, help="server workers for the HTTP run (1; 0: skip)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="times each in-process run is repeated, interleaved (1)"
    )
    parser.add_argument("--hot", type=int, default=HOT, help=f"hot-set size ({HOT:,}; 0: skip)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file (%(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    pg_url = postgres_url(args.postgres)
    if not pg_url:
        console.print(f"[red]PostgreSQL needed: pass --postgres URL or set ${POSTGRES_ENV}[/]")
        return 2
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    began = time.perf_counter()
    load = DecisionLoad(args.duration, args.warmup, (args.concurrency,), args.settle)
    with tempfile.TemporaryDirectory(prefix="harken-bench-populations-") as scratch, ExitStack() as stack:
        loaded = []
        for count in args.populations:
            console.rule(f"{count:,} customers on PostgreSQL")
            loaded.append(load_population(count, pg_url, Path(scratch), stack, console))
        measure(loaded, args, load, console)
        found = [one.figures for one in loaded]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "started": started,
                "elapsed_s": round(time.perf_counter() - began, 1),
                "argv": sys.argv[1:],
                "machine": machine(pg_url),
                "populations": [asdict(f) for f in found],
            },
            indent=2,
            default=str,
        )
    )
    problems = [p for f in found for p in f.problems] + [
        f"{f.customers:,}: {h.scenario} got unexpected answers" for f in found for h in f.http if not h.ok
    ]
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    console.print(f"results: {args.output}  ({time.perf_counter() - began:.0f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
