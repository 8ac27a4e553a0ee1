"""Decisions: may I contact this customer now, how, with which of 20 offers — and how fast is the answer?

With `bench.customers`' customer base (100,000 customers of one org, 20 offers), measured four ways:

1. the pure engine in memory, `engine.decide(snapshot, request, at)` alone and `engine.resolve` +
   `decide` (the facts of 1,000 customers who told Harken about themselves, cycled), one thread;
2. `decisions.service.decide` in-process on each database, one transaction per call, committed as the
   server commits it (it logs every decision: one INSERT), one thread, a random customer per call;
3. `POST /v1/decisions` through a real `harken serve --workers N`, closed loop over C keep-alive
   connections, a random customer per request;
4. `GET /healthz` on the same server, just before (3), at the same concurrency: the framework floor;
5. Cerbos, a stateless decision point, answering twenty-offer checks (`bench.cerbos_pdp`) through the
   same client at the same concurrencies: the yardstick.

(3) and (4) run at each concurrency asked for (8 and 32 connections by default).

Times follow the writes benchmark: wait for a quiet machine, warm up, then count and time the calls
that complete inside the window. The customer base is built once and bulk-loaded into each backend;
the load is timed and reported. Before the HTTP runs, one customer is written through the API itself
(`PUT /v1/subjects`, consent, `/v1/me/context`, `/v1/me/personas`, `/v1/me/preferences`, events) as the
twin of a bulk-loaded one, and both must get the same decision; and a sample of answers is checked
(200, a ranking of all 20 offers).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bench import cpu as cpu_meter
from bench import customers
from bench.cerbos_pdp import CerbosResults, bench_cerbos
from bench.loadgen import call, request
from bench.server import RunningServer, environment, serve
from bench.stores import fresh_database
from bench.writes import WriteFigure, WriteLoad, _measure, _run
from harken import schema
from harken.clock import system_clock
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.decisions import engine
from harken.decisions import service as decision_service
from harken.decisions.schemas import DecisionPost
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs.models import Org

CUSTOMERS = 100_000
CHANNELS = ("email", "sms")
PURPOSE = "marketing"
ENGINE_PROFILES = 1_000  # distinct customers the engine-alone runs cycle through
ENGINE_POOL = 2 * ENGINE_PROFILES  # generated for them: about 70% have facts
PLAN_SIZE = 1_000  # distinct requests per HTTP connection, each for a random customer
SAMPLE = 200  # answers checked in full before each HTTP run
SERVICE_BODIES = 20_000  # prepared DecisionPost bodies for the in-process runs, each for a random customer
MAX_CALLS = 5_000_000  # a hard cap per in-process run, whatever the duration


@dataclass(frozen=True)
class DecisionLoad:
    duration_s: float
    warmup_s: float
    concurrencies: tuple[int, ...]
    settle_s: float
    customers: int = CUSTOMERS


@dataclass(frozen=True)
class CallFigure:
    """One in-process run on one thread: the engine alone, or the service with its database."""

    step: str
    backend: str  # "memory", "sqlite" or "postgresql"
    calls: int
    duration_s: float
    rate: float  # calls per second, one thread
    p50_us: float
    p99_us: float
    outcomes: dict[str, int]  # "allowed:email", "denied:relevance.none", … over the window
    cpu: dict[str, float | None] = field(default_factory=dict)  # cores busy: bench, postgres, other


@dataclass(frozen=True)
class SeedFigure:
    step: str  # "build rows" (once) or "bulk load" (per backend)
    backend: str
    customers: int
    rich: int  # customers with facts (context, interests, …)
    facts: int
    ledger_entries: int
    seconds: float


@dataclass
class DecisionResults:
    seeding: list[SeedFigure] = field(default_factory=list)
    calls: list[CallFigure] = field(default_factory=list)
    http: list[WriteFigure] = field(default_factory=list)
    samples: dict[str, dict[str, int]] = field(default_factory=dict)  # "backend/workers" → outcomes
    problems: list[str] = field(default_factory=list)  # unexpected answers, failed checks
    cerbos: CerbosResults = field(default_factory=CerbosResults)

    @property
    def ok(self) -> bool:
        cerbos = not self.cerbos.problems and all(f.ok for f in self.cerbos.http)
        return cerbos and not self.problems and all(f.ok for f in self.http)


def _outcome(allowed: bool, channel: str | None, first_code: str) -> str:
    return f"allowed:{channel}" if allowed else f"denied:{first_code}"


def _percentile(ordered: Sequence[int], p: float) -> float:
    """Nearest rank, as `LoadResult.percentile`, of sorted nanoseconds; in microseconds."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
    return ordered[int(rank)] / 1000


def timed(
    step: str,
    backend: str,
    work: Callable[[int], str],
    warmup_s: float,
    duration_s: float,
    max_calls: int = MAX_CALLS,
) -> CallFigure:
    """Call work(0), work(1), … back to back: a warm-up, then a window. As the load generator does, the
    calls completing inside the window are counted and timed (perf_counter_ns), and none starts after it.
    `work` returns the call's outcome."""
    clock = time.perf_counter_ns
    begin = clock()
    start, end = begin + int(warmup_s * 1e9), begin + int((warmup_s + duration_s) * 1e9)
    latencies: list[int] = []
    outcomes: Counter[str] = Counter()
    first = None
    i = 0
    while i < max_calls:
        before = clock()
        if before >= end:
            break
        if first is None and before >= start:  # the window opens: sample CPU, outside any call's time
            first = cpu_meter.sample(None)
            before = clock()
        outcome = work(i)
        after = clock()
        i += 1
        if start <= after <= end:
            latencies.append(after - before)
            outcomes[outcome] += 1
    last = cpu_meter.sample(None)
    cores = cpu_meter.share(first or last, last)
    other = None
    if cores.machine is not None and cores.postgres is not None:
        other = round(max(0.0, cores.machine - cores.client - cores.postgres), 2)
    share = {"bench": cores.client, "postgres": cores.postgres, "other": other}
    latencies.sort()
    return CallFigure(
        step=step,
        backend=backend,
        calls=len(latencies),
        duration_s=duration_s,
        rate=round(len(latencies) / duration_s, 1),
        p50_us=round(_percentile(latencies, 50), 1),
        p99_us=round(_percentile(latencies, 99), 1),
        outcomes=dict(outcomes.most_common()),
        cpu=share,
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _settle(load: DecisionLoad, console: Console) -> None:
    if load.settle_s:
        cpu_meter.settle(load.settle_s, lambda line: console.print(f"  [dim]{line}[/]"))


def _say(console: Console, figure: CallFigure) -> None:
    allowed = sum(n for k, n in figure.outcomes.items() if k.startswith("allowed:"))
    share = allowed / figure.calls if figure.calls else 0.0
    console.print(
        f"  {figure.backend:<10} {figure.step:<28} {figure.rate:>10,.1f}/s  p50 {figure.p50_us:,.1f} µs  "
        f"p99 {figure.p99_us:,.1f} µs  ({figure.calls:,} calls, {share:.0%} allowed)"
    )


# ---- 1. the engine alone -------------------------------------------------------------------------


def bench_engine(
    people: list[customers.Customer], now: datetime, load: DecisionLoad, console: Console
) -> list[CallFigure]:
    """`decide` on prepared snapshots, `resolve` + `decide` from facts, and `decide` over the population mix."""
    offers = customers.engine_offers()
    request_ = engine.Request(PURPOSE, CHANNELS, offers)
    rich = [p for p in people if p.rich][:ENGINE_PROFILES]
    prepared = [customers.engine_inputs(p, now) for p in rich]
    mix = [customers.engine_inputs(p, now)[2] for p in people[:ENGINE_PROFILES]]

    def outcome(decision: engine.Decision) -> str:
        return _outcome(decision.allowed, decision.channel, decision.reasons[0].code)

    def decide(i: int) -> str:
        return outcome(engine.decide(prepared[i % len(prepared)][2], request_, now))

    def resolve_decide(i: int) -> str:
        facts, purchases, snapshot = prepared[i % len(prepared)]
        profile = engine.resolve(facts, purchases, now)
        fresh = engine.Snapshot(
            known=True,
            profile=profile,
            consents=snapshot.consents,
            purchases=snapshot.purchases,
            contacts=snapshot.contacts,
        )
        return outcome(engine.decide(fresh, request_, now))

    def decide_mix(i: int) -> str:
        return outcome(engine.decide(mix[i % len(mix)], request_, now))

    figures = []
    for step, work in (
        ("engine.decide", decide),
        ("engine.resolve + decide", resolve_decide),
        ("engine.decide (mix)", decide_mix),
    ):
        _settle(load, console)
        figures.append(timed(step, "memory", work, load.warmup_s, load.duration_s))
        _say(console, figures[-1])
    return figures


# ---- 2. the service in-process -------------------------------------------------------------------


class Draw:
    """Random customer indexes, never `excluded` (the API twin's original, kept out of the load)."""

    def __init__(self, count: int, excluded: int, seed: int) -> None:
        self.count, self.excluded, self.rng = count, excluded, random.Random(seed)

    def __call__(self) -> int:
        index = self.rng.randrange(self.count - 1)
        return index + 1 if index >= self.excluded else index


def bench_service(
    url: str,
    backend: str,
    org_id: uuid.UUID,
    notary: Notary,
    draw: Draw,
    load: DecisionLoad,
    console: Console,
) -> CallFigure:
    """`decision_service.decide` in one transaction per call, committed, as the server runs it."""
    db = create_db_engine(url)
    try:
        sessions = make_session_factory(db)
        with session_scope(sessions) as session:
            org = session.get_one(Org, org_id)
        offer_ids = list(customers.offers())
        bodies = [
            DecisionPost(
                subject=customers.ref(draw()),
                purpose=PURPOSE,
                channels=list(CHANNELS),
                offer_ids=offer_ids,
            )
            for _ in range(SERVICE_BODIES)
        ]

        def decide(i: int) -> str:
            with session_scope(sessions) as session:
                decision = decision_service.decide(
                    session, org=org, body=bodies[i % len(bodies)], notary=notary, now=system_clock()
                ).decision
            return _outcome(decision.allowed, decision.channel, decision.reasons[0].code)

        _settle(load, console)
        figure = timed("service.decide + commit", backend, decide, load.warmup_s, load.duration_s)
    finally:
        db.dispose()
    _say(console, figure)
    return figure


# ---- 3 and 4. over HTTP --------------------------------------------------------------------------


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _decision_body(ref: str) -> bytes:
    return json.dumps(
        {
            "subject": ref,
            "purpose": PURPOSE,
            "channels": list(CHANNELS),
            "offer_ids": list(customers.offers()),
        }
    ).encode()


def _exchange(server: RunningServer, raws: list[bytes]) -> list[tuple[int, bytes]]:
    answers: list[tuple[int, bytes]] = _run(call(server.host, server.port, raws))
    return answers


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def api_twin(server: RunningServer, key: str, person: customers.Customer) -> str | None:
    """Write `person`'s data through the API under a new ref, then ask both for a decision: None if the
    answers agree (decision ids and times aside), else what differed. Shows that the bulk-loaded rows
    are what the API writes."""
    twin, host = f"api-twin-{person.index}", server.host
    org = _headers(key)
    steps = [
        request("PUT", f"/v1/subjects/{twin}", host=host, headers=org, body=b"{}"),
        request(
            "PUT",
            f"/v1/subjects/{twin}/consents/marketing",
            host=host,
            headers=org,
            body=json.dumps({"status": "granted", "channels": customers.CONSENT_CHANNELS}).encode(),
        ),
        request("POST", f"/v1/subjects/{twin}/sessions", host=host, headers=org, body=b"{}"),
    ]
    answers = _exchange(server, steps)
    if [status for status, _ in answers] != [201, 201, 201]:
        return f"registering the twin: {[(s, b[:200]) for s, b in answers]}"
    me = _headers(str(_json(answers[2][1]).get("token")))
    steps = []
    if person.context is not None:
        body = person.context.model_dump_json(exclude_unset=True).encode()
        steps.append(request("PUT", "/v1/me/context", host=host, headers=me, body=body))
    if person.persona is not None:
        key_, persona = person.persona
        body = persona.model_dump_json(exclude_unset=True).encode()
        steps.append(request("PUT", f"/v1/me/personas/{key_}", host=host, headers=me, body=body))
    if person.preferences is not None:
        body = person.preferences.model_dump_json(exclude_unset=True).encode()
        steps.append(request("PATCH", "/v1/me/preferences", host=host, headers=me, body=body))
    for purchase in person.purchases:
        body = purchase.model_dump_json(exclude_unset=True).encode()
        steps.append(request("POST", f"/v1/subjects/{twin}/events", host=host, headers=org, body=body))
    steps += [
        request("POST", "/v1/decisions", host=host, headers=org, body=_decision_body(person.ref)),
        request("POST", "/v1/decisions", host=host, headers=org, body=_decision_body(twin)),
    ]
    answers = _exchange(server, steps)
    if any(status not in (200, 201) for status, _ in answers):
        return f"writing the twin's data: {[(s, b[:200]) for s, b in answers if s not in (200, 201)]}"
    (_, original), (_, copy) = answers[-2:]
    a, b = _json(original), _json(copy)
    for answer in (a, b):
        for name in ("decision_id", "at"):
            answer.pop(name, None)
    if a != b or len(a.get("ranking", ())) != customers.OFFERS:
        return f"the bulk-loaded {person.ref} and its API-written twin got different decisions: {a} vs {b}"
    return None


def check_sample(server: RunningServer, key: str, draw: Draw) -> tuple[Counter[str], list[str]]:
    """SAMPLE decisions for random customers, each answer checked: 200, a verdict, reasons, and a ranking of
    every offer (none when a gate refused first)."""
    raws = [
        request(
            "POST",
            "/v1/decisions",
            host=server.host,
            headers=_headers(key),
            body=_decision_body(customers.ref(draw())),
        )
        for _ in range(SAMPLE)
    ]
    outcomes: Counter[str] = Counter()
    problems = []
    for status, raw in _exchange(server, raws):
        answer = _json(raw)
        ranking = answer.get("ranking", [])
        allowed = answer.get("allowed")
        # every offer is ranked, unless a gate (consent, quiet hours, limits…) refused before ranking
        ranked = len(ranking) == customers.OFFERS or (allowed is False and not ranking)
        if status != 200 or not isinstance(allowed, bool) or not ranked or not answer.get("reasons"):
            problems.append(f"unexpected decision answer {status}: {raw[:300]!r}")
            continue
        outcomes[_outcome(answer["allowed"], answer.get("channel"), answer["reasons"][0]["code"])] += 1
    return outcomes, problems[:3]


def _plans(server: RunningServer, key: str, draw: Draw, concurrency: int) -> list[list[bytes]]:
    headers = _headers(key)
    return [
        [
            request(
                "POST",
                "/v1/decisions",
                host=server.host,
                headers=headers,
                body=_decision_body(customers.ref(draw())),
            )
            for _ in range(PLAN_SIZE)
        ]
        for _ in range(concurrency)
    ]


def bench_http(
    backend: str, server: RunningServer, key: str, draw: Draw, load: DecisionLoad, console: Console
) -> list[WriteFigure]:
    """At each concurrency, the floor, then decisions, against one server."""
    scenarios = []
    for concurrency in load.concurrencies:
        runs = WriteLoad(load.duration_s, load.warmup_s, concurrency, load.settle_s)
        health = [[request("GET", "/healthz", host=server.host)] for _ in range(concurrency)]
        scenarios += [("healthz", health, runs), ("decisions", _plans(server, key, draw, concurrency), runs)]
    figures = []
    for scenario, plans, runs in scenarios:
        _settle(load, console)
        result, share = _measure(server, plans, runs)
        figure = WriteFigure.of(backend, server.workers, scenario, result, 200, share)
        verdict = "" if figure.ok else f"  [red]unexpected answers {figure.statuses} {figure.failures[:1]}[/]"
        spread = "+".join(f"{c:.2f}" for c in figure.server_processes if c >= 0.01)
        console.print(
            f"  {backend:<10} workers={server.workers} c={runs.concurrency:<3} {scenario:<9} "
            f"{figure.rate:>9,.1f}/s  "
            f"p50 {figure.p50_ms:.1f} ms  p99 {figure.p99_ms:.1f} ms  server CPU {spread}{verdict}"
        )
        if not figure.ok:
            console.print("[red]server log, last lines:[/]")
            console.print(server.log_tail(), markup=False, highlight=False)
        figures.append(figure)
    return figures


# ---- the whole benchmark -------------------------------------------------------------------------


def _twin_candidate(people: list[customers.Customer], now: datetime) -> customers.Customer:
    """A customer with everything (context, persona, purchases; no earlier contacts) whom the engine
    would send an offer: the twin comparison then covers the whole ranking."""
    offers = customers.engine_offers()
    request_ = engine.Request(PURPOSE, CHANNELS, offers)
    for person in people:
        if person.rich and person.persona and person.purchases and not person.contacts:
            decision = engine.decide(customers.engine_inputs(person, now)[2], request_, now)
            if decision.allowed:
                return person
    return next((p for p in people if p.rich), people[0])


def _load(db: Any, backend: str, population: customers.Population, console: Console) -> str:
    with _progress(console) as progress:
        task = progress.add_task(f"loading into {backend}", total=population.customers)
        return customers.load(db, population, lambda done: progress.update(task, completed=done))


def bench_decisions(
    backends: list[str], pg_url: str | None, workers: list[int], load: DecisionLoad, console: Console
) -> DecisionResults:
    results = DecisionResults()
    now = system_clock()
    # the engine's customers need not be in a database; the twin's original must be
    people = [customers.customer(i, now) for i in range(ENGINE_POOL)]
    twin = _twin_candidate(people[: load.customers], now)
    console.print(f"[dim]engine alone: {ENGINE_PROFILES:,} customers, {customers.OFFERS} offers[/]")
    results.calls += bench_engine(people, now, load, console)

    with tempfile.TemporaryDirectory(prefix="harken-bench-decisions-") as scratch:
        directory = Path(scratch)
        data_dir = directory / "data"  # the servers' HARKEN_DATA_DIR: the keys the bulk load signed with
        ring = keys.load_or_create(data_dir / "keys")
        notary = Notary(ring, Settings().checkpoint_every)
        with _progress(console) as progress:
            task = progress.add_task(f"building {load.customers:,} customers' rows", total=load.customers)
            population = customers.build(
                load.customers,
                now,
                ring,
                Settings().checkpoint_every,
                directory / "rows",
                lambda done: progress.update(task, completed=done),
            )
        results.seeding.append(
            SeedFigure(
                "build rows (once)",
                "memory",
                population.customers,
                population.rich,
                population.facts,
                population.ledger_entries,
                population.build_s,
            )
        )
        console.print(
            f"  built {population.customers:,} customers ({population.rich:,} with facts: "
            f"{population.facts:,} facts; {population.ledger_entries:,} ledger entries) "
            f"in {population.build_s:.1f} s"
        )
        for backend in backends:
            with fresh_database(backend, directory, pg_url) as database:
                db = create_db_engine(database.url)
                try:
                    schema.upgrade(db)
                    began = time.perf_counter()
                    key = _load(db, backend, population, console)
                    loaded = round(time.perf_counter() - began, 1)
                finally:
                    db.dispose()
                results.seeding.append(
                    SeedFigure(
                        "bulk load",
                        backend,
                        population.customers,
                        population.rich,
                        population.facts,
                        population.ledger_entries,
                        loaded,
                    )
                )
                console.print(f"  loaded into {backend} in {loaded:.1f} s")
                draw = Draw(load.customers, twin.index, seed=len(results.seeding))
                results.calls.append(
                    bench_service(database.url, backend, population.org_id, notary, draw, load, console)
                )
                env = environment(database, data_dir)
                for count in workers:
                    log = directory / f"server-{backend}-{count}.log"
                    with serve(count, env, log) as server:
                        if count == workers[0]:
                            problem = api_twin(server, key, twin)
                            if problem:
                                results.problems.append(problem)
                                console.print(f"[red]{problem}[/]")
                        outcomes, problems = check_sample(server, key, draw)
                        results.samples[f"{backend}/{count}"] = dict(outcomes.most_common())
                        results.problems += problems
                        for problem in problems:
                            console.print(f"[red]{problem}[/]")
                        results.http += bench_http(backend, server, key, draw, load, console)
        cerbos_load = WriteLoad(load.duration_s, load.warmup_s, max(load.concurrencies), load.settle_s)
        results.cerbos = bench_cerbos(
            list(load.concurrencies), cerbos_load, console, directory / "cerbos.log"
        )
        with suppress(OSError):
            for chunk in population.chunks:
                chunk.unlink()
    return results
