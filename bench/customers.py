"""The decisions benchmark's customer base: one org, 20 offers and N customers (100,000 by default).

Each customer is generated from its index alone (`customer(i, now)`), as the request bodies the API
takes: a marketing consent for every customer and, for RICH_SHARE of them, what a customer tells
through `/v1/me` (context with persona and topics, ten interests, channel limits, quiet hours and a time
zone, sometimes a persona, a life event or "surprise me") and what the org records (purchases), plus a
few earlier decisions that allowed a message (they count toward the weekly channel limits).

`build` turns them into the rows the API would have written, once; `load` bulk-loads those rows into a
migrated database (executemany on SQLite, COPY on PostgreSQL, each value through its column type's own
bind processor). Facts come from the service's own `context_changes` / `persona_change` /
`preference_changes`; the org and its API key, and the offers, go through the services. Each consent
record gets its ledger entry (data from `consent_service.ledger_data`, linked with `chain.next_entry`,
checkpointed every `checkpoint_every` entries), so the database passes `harken ledger verify`; the
`profile.changed` and `event.recorded` entries the API would also append are left out (the decision path
never reads the ledger, and their shape is the services' business). `bench.decisions` checks that the
rows match the API's by writing one customer through the API and comparing the two decisions. Quiet
hours are placed relative to `now`, so the same share of customers is inside them at any time of day.
"""

from __future__ import annotations

import pickle
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

import harken.models  # noqa: F401  (every table in Base.metadata)
from harken.clock import rfc3339
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord, CurrentConsent
from harken.context import service as context_service
from harken.context.models import Event, Fact
from harken.context.schemas import ContextPut, EventPost, PersonaPut, PreferencesPatch
from harken.db import Base, make_session_factory, session_scope
from harken.decisions import engine as decision_engine
from harken.decisions import service as decision_service
from harken.decisions.models import DecisionLog
from harken.decisions.schemas import OfferPut
from harken.ledger import chain, keys
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef

SEED = 20261124
OFFERS = 20
RICH_SHARE = 0.7  # customers who told Harken about themselves; the rest only consented
QUIET_NOW_SHARE = 0.1  # of those, inside their quiet hours while the benchmark runs
CONSENT_CHANNELS = ["email", "push", "sms"]  # sorted, as ConsentPut stores them
TOPICS = (
    "travel", "cars", "running", "cooking", "books", "music", "gardening", "fashion", "tech", "finance",
    "baby", "pets", "fitness", "movies", "games", "home", "wine", "coffee", "outdoors", "photography",
    "art", "kids", "cycling", "camping", "beauty", "football", "theatre", "diy", "tea", "skiing",
)  # fmt: skip
PERSONAS = ("parent", "runner", "traveller", "commuter", "cook", "gamer")
ZONES = (
    "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Toronto",
    "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip
SITUATIONS = ("home", "home", "work", "out", "commuting")
INTENTS = ("browsing", "buying", "researching")
CHUNK = 2_000  # customers per bulk insert transaction
LOAD_CACHE_KIB = 256 * 1024  # SQLite page cache of the loading connection (the default is 2 MiB)


def ref(index: int) -> str:
    return f"cust-{index:06d}"


@cache
def offers() -> dict[str, OfferPut]:
    """The org's 20 offers: 1 to 3 topics, some for particular personas or channels, most selling an item."""
    rng = random.Random(SEED)
    found = {}
    for i in range(OFFERS):
        topics = rng.sample(TOPICS, rng.randint(1, 3))
        found[f"offer-{i:02d}"] = OfferPut(
            title=f"Offer {i}: {', '.join(topics)}",
            topics=topics,
            personas=rng.sample(PERSONAS, rng.choice((0, 0, 1, 2))),
            channels=rng.choice(([], [], [], ["email"], ["sms", "push"], ["email", "sms"])),
            item=f"item-{i:02d}" if rng.random() < 0.7 else None,
            countries=[],
            locales=[],
        )
    return found


@cache
def _items() -> tuple[str, ...]:
    return tuple(o.item for o in offers().values() if o.item)


@dataclass(frozen=True)
class Customer:
    """One customer as the API would hear of them: the bodies of their calls, and earlier contacts."""

    index: int
    context: ContextPut | None = None
    persona: tuple[str, PersonaPut] | None = None
    preferences: PreferencesPatch | None = None
    purchases: tuple[EventPost, ...] = ()
    contacts: tuple[tuple[str, datetime], ...] = ()  # (channel, when) of earlier allowed decisions

    @property
    def ref(self) -> str:
        return ref(self.index)

    @property
    def rich(self) -> bool:
        return self.preferences is not None


def customer(index: int, now: datetime) -> Customer:
    """Customer `index`, the same for the same `now` every time."""
    rng = random.Random(SEED * 1_000_003 + index)
    if rng.random() >= RICH_SHARE:
        return Customer(index)
    zone = rng.choice(ZONES)
    local = now.astimezone(ZoneInfo(zone))
    start = local + (timedelta(hours=-1) if rng.random() < QUIET_NOW_SHARE else timedelta(hours=5))
    end = start + timedelta(hours=rng.choice((6, 8, 9)))
    persona = rng.choice(PERSONAS)
    interests = rng.sample(TOPICS, 10)
    preferences: dict[str, Any] = {
        "interests": {topic: round(rng.uniform(-1.0, 1.0), 2) for topic in interests},
        "channels": {
            "email": {"allowed": True, "max_per_week": rng.choice((None, 7, 14))},
            "sms": {"allowed": rng.random() >= 0.1, "max_per_week": rng.randint(1, 5)},
        },
        "quiet_hours": {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
        "time_zone": zone,
    }
    if rng.random() < 0.3:
        preferences["life_events"] = {
            "moving": {
                "label": "Moving house",
                "topics": rng.sample(TOPICS, 2),
                "until": now + timedelta(days=rng.randint(30, 90)),
            }
        }
    if rng.random() < 0.3:
        preferences["novelty"] = round(rng.uniform(0.1, 0.5), 2)
    items = _items() if rng.random() < 0.4 else ()
    purchases = tuple(
        EventPost(
            type="purchase",
            item=rng.choice(items) if rng.random() < 0.5 else f"sku-{rng.randint(1, 9999)}",
            topics=rng.sample(TOPICS, rng.randint(1, 2)),
            gift=rng.random() < 0.2,
            occurred_at=now - timedelta(hours=rng.uniform(1, 20 * 24)),
        )
        for _ in range(rng.randint(1, 3) if items else 0)
    )
    contacts = tuple(
        (rng.choice(("email", "sms")), now - timedelta(hours=rng.uniform(1, 6 * 24)))
        for _ in range(rng.randint(1, 4) if rng.random() < 0.5 else 0)
    )
    return Customer(
        index,
        context=ContextPut(
            persona=persona,
            intent=rng.choice(INTENTS),
            situation=rng.choice(SITUATIONS),
            topics=rng.sample(TOPICS, rng.randint(1, 3)),
            valid_until=now + timedelta(days=29),
        ),
        persona=(persona, PersonaPut(label=persona.title(), interests=rng.sample(TOPICS, 3)))
        if rng.random() < 0.5
        else None,
        preferences=PreferencesPatch.model_validate(preferences),
        purchases=purchases,
        contacts=contacts,
    )


def writes(person: Customer, now: datetime) -> list[list[context_service.Change]]:
    """The customer's declared data as the service's own change lists, one per API call."""
    calls = []
    if person.context is not None:
        calls.append(context_service.context_changes(person.context, now))
    if person.persona is not None:
        calls.append(context_service.persona_change(*person.persona))
    if person.preferences is not None:
        calls.append(context_service.preference_changes(person.preferences, now))
    return calls


# ---- what the engine sees, for the engine-alone benchmark ------------------------------------------


def engine_inputs(
    person: Customer, now: datetime
) -> tuple[list[decision_engine.Fact], list[decision_engine.Purchase], decision_engine.Snapshot]:
    """The facts and purchases `service.snapshot` would read for this customer, and the snapshot."""
    facts = [
        decision_engine.Fact(c.key, c.value, "declared", now, c.valid_until, True)
        for changes in writes(person, now)
        for c in changes
        if c.value is not None
    ]
    purchases = [
        decision_engine.Purchase(p.item, frozenset(p.topics), p.gift, p.occurred_at or now)
        for p in person.purchases
    ]
    snapshot = decision_engine.Snapshot(
        known=True,
        profile=decision_engine.resolve(facts, purchases, now),
        consents={
            "marketing": decision_engine.ConsentState("granted", frozenset(CONSENT_CHANNELS), None, "api")
        },
        purchases=tuple(purchases),
        contacts=tuple(decision_engine.Contact(c, at) for c, at in person.contacts),
    )
    return facts, purchases, snapshot


def engine_offers() -> tuple[decision_engine.Offer, ...]:
    return tuple(
        decision_service.engine_offer(offer_id, body.model_dump(mode="json"))
        for offer_id, body in offers().items()
    )


# ---- the bulk load ---------------------------------------------------------------------------------


ORG_NAME = "bench-decisions"


@dataclass(frozen=True)
class Population:
    """The customers' rows, built once (chunk files of pickled rows) and loaded into each database."""

    org_id: uuid.UUID
    now: datetime
    customers: int
    rich: int
    facts: int
    ledger_entries: int
    chunks: tuple[Path, ...]
    build_s: float


class _Chain:
    """The org's chain as the bulk load extends it: entries and checkpoints, as `ledger_service.append`."""

    def __init__(self, chain_id: str, ring: keys.KeyRing, checkpoint_every: int) -> None:
        self.chain_id, self.ring, self.every = chain_id, ring, checkpoint_every
        self.seq, self.hash = 0, chain.GENESIS
        self.entries: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []

    def append(self, type_: str, data: dict[str, Any], at: datetime) -> int:
        entry = chain.next_entry(
            chain=self.chain_id, head_seq=self.seq, head_hash=self.hash, type=type_, at=rfc3339(at), data=data
        )
        self.seq, self.hash = entry.seq, entry.hash
        self.entries.append(
            {
                "chain": entry.chain,
                "seq": entry.seq,
                "type": type_,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
                "body": entry.body.decode(),
            }
        )
        if entry.seq % self.every == 0:
            cp = chain.sign_checkpoint(
                chain=self.chain_id,
                seq=entry.seq,
                hash=entry.hash,
                at=rfc3339(at),
                every=self.every,
                key=self.ring.active,
                kid=self.ring.active_kid,
            )
            self.checkpoints.append(
                {"chain": cp.chain, "seq": cp.seq, "hash": cp.hash, "created_at": at, "jws": cp.jws}
            )
        return int(entry.seq)


class _Rows:
    """Rows per table for one chunk of customers, as dicts of Python values."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(model.__tablename__, []).append(row)


class _Writer:
    """Bulk INSERT (SQLite `executemany`) or `COPY` (PostgreSQL) on one raw connection, each value
    converted by its column type's own bind processor, so it is stored exactly as the ORM stores it."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        self.raw = engine.raw_connection()
        self.driver: Any = cast(Any, self.raw.driver_connection)
        self.sqlite = self.dialect.name == "sqlite"
        if self.sqlite:  # this connection only: index pages stay cached while the tables grow
            self.driver.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
        self._columns: dict[str, list[tuple[str, Callable[[Any], Any] | None]]] = {}

    def _processors(self, name: str) -> list[tuple[str, Callable[[Any], Any] | None]]:
        if name not in self._columns:
            table = Base.metadata.tables[name]
            self._columns[name] = [
                (c.name, c.type.dialect_impl(self.dialect).bind_processor(self.dialect))
                for c in table.columns
            ]
        return self._columns[name]

    def begin(self) -> None:
        if self.sqlite:
            self.driver.execute("BEGIN IMMEDIATE")

    def write(self, name: str, rows: list[dict[str, Any]]) -> None:
        columns = self._processors(name)
        values = (
            tuple(row[c] if convert is None else convert(row[c]) for c, convert in columns) for row in rows
        )
        names = ", ".join(c for c, _ in columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.driver.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", values)
            return
        with self.driver.cursor() as cursor, cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)

    def commit(self) -> None:
        if self.sqlite:
            self.driver.execute("COMMIT")
        else:
            self.driver.commit()

    def close(self) -> None:
        self.raw.close()


def _customer_rows(person: Customer, org_id: uuid.UUID, ledger: _Chain, rows: _Rows, at: datetime) -> int:
    """Add one customer's rows (and their consent's ledger entry), in the API's order; the fact count."""
    subject_id = uuid.uuid4()
    rows.add(
        Subject,
        {"id": subject_id, "created_at": at, "email_digest": None, "person_id": None, "erased_at": None},
    )
    rows.add(
        SubjectRef,
        {
            "org_id": org_id,
            "ref": person.ref,
            "subject_id": subject_id,
            "created_at": at,
            "claimed_email_digest": None,
        },
    )
    consent = SimpleNamespace(  # what ledger_data reads of a ConsentRecord, without the ORM's cost
        id=uuid.uuid4(),
        org_id=org_id,
        subject_id=subject_id,
        purpose="marketing",
        status="granted",
        channels=list(CONSENT_CHANNELS),
        notice_version=None,
        notice_sha256=None,
        method="api",
        captured_at=at,
        expires_at=None,
        recorded_at=at,
        evidence=None,
        evidence_sha256=None,
        evidence_hmac=None,
        chain=ledger.chain_id,
        seq=0,
    )
    data = consent_service.ledger_data(cast(ConsentRecord, consent))
    consent.seq = ledger.append(consent_service.LEDGER_TYPE, data, at)
    rows.add(ConsentRecord, vars(consent))
    rows.add(
        CurrentConsent,
        {
            "org_id": org_id,
            "subject_id": subject_id,
            "purpose": "marketing",
            "record_id": consent.id,
            "captured_at": at,
        },
    )
    facts = 0
    source = str(org_id)
    for changes in writes(person, at):
        for change in changes:
            assert change.value is not None
            facts += 1
            rows.add(
                Fact,
                {
                    "id": uuid.uuid4(),
                    "subject_id": subject_id,
                    "key": change.key,
                    "provenance": "declared",
                    "source": source,
                    "value": change.value,
                    "valid_until": change.valid_until,
                    "recorded_at": at,
                },
            )
    for purchase in person.purchases:
        occurred = purchase.occurred_at or at
        event_id = uuid.uuid4()
        topics = sorted(set(purchase.topics))
        rows.add(
            Event,
            {
                "id": event_id,
                "org_id": org_id,
                "subject_id": subject_id,
                "type": "purchase",
                "item": purchase.item,
                "topics": topics,
                "gift": purchase.gift,
                "offer_id": None,
                "occurred_at": occurred,
                "recorded_at": at,
            },
        )
    for channel, when in person.contacts:  # decisions are logged, not ledgered
        rows.add(
            DecisionLog,
            {
                "id": uuid.uuid4(),
                "org_id": org_id,
                "subject_id": subject_id,
                "ref": person.ref,
                "purpose": "marketing",
                "channels": ["email", "sms"],
                "allowed": True,
                "channel": channel,
                "offer_id": "offer-00",
                "codes": ["allowed"],
                "explanation": "Sending an earlier offer.",
                "data_used": ["consent.marketing"],
                "retry_after": None,
                "at": when,
                "decided_at": when,
            },
        )
    return facts


def build(
    count: int,
    now: datetime,
    ring: keys.KeyRing,
    checkpoint_every: int,
    directory: Path,
    progress: Callable[[int], None] = lambda done: None,
) -> Population:
    """Build the rows of `count` customers of one org into chunk files under `directory`.

    Customer i is registered at `now - count ms + i ms`, so the ledger's times rise like a live hub's.
    The org's id is fixed here, so the same rows (and ledger) load into every backend.
    """
    began = time.perf_counter()
    org_id = uuid.uuid4()
    ledger = _Chain(f"org:{org_id}", ring, checkpoint_every)
    rich = facts = 0
    start = now - timedelta(milliseconds=count + 1)
    chunks: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    for first in range(0, count, CHUNK):
        rows = _Rows()
        for index in range(first, min(count, first + CHUNK)):
            person = customer(index, now)
            rich += person.rich
            facts += _customer_rows(person, org_id, ledger, rows, start + timedelta(milliseconds=index))
        rows.rows["ledger_entries"], rows.rows["ledger_checkpoints"] = ledger.entries, ledger.checkpoints
        ledger.entries, ledger.checkpoints = [], []
        if first + CHUNK >= count:
            rows.rows["ledger_heads"] = [{"chain": ledger.chain_id, "seq": ledger.seq, "hash": ledger.hash}]
        chunks.append(directory / f"chunk-{len(chunks):04d}.pickle")
        chunks[-1].write_bytes(pickle.dumps(rows.rows, protocol=pickle.HIGHEST_PROTOCOL))
        progress(min(count, first + CHUNK))
    return Population(
        org_id, now, count, rich, facts, ledger.seq, tuple(chunks), round(time.perf_counter() - began, 1)
    )


def load(engine: Engine, population: Population, progress: Callable[[int], None] = lambda done: None) -> str:
    """Into a migrated, empty database: the org and its API key (returned) and the offers through the
    services, then every chunk of rows in one transaction each; then ANALYZE (PostgreSQL)."""
    now = population.now
    with session_scope(make_session_factory(engine)) as session:
        org = Org(id=population.org_id, name=ORG_NAME, created_at=now)  # org_service.create, with our id
        session.add(org)
        session.flush()
        key = org_service.first_key(session, org=org, now=now)
        for offer_id, body in offers().items():
            decision_service.put_offer(session, org=org, offer_id=offer_id, body=body, now=now)
    writer = _Writer(engine)
    try:
        for done, path in enumerate(population.chunks, start=1):
            rows: dict[str, list[dict[str, Any]]] = pickle.loads(path.read_bytes())
            writer.begin()
            for name, batch in rows.items():
                if batch:
                    writer.write(name, batch)
            writer.commit()
            progress(min(population.customers, done * CHUNK))
    finally:
        writer.close()
    _as_in_service(engine)
    return str(key)


def _as_in_service(engine: Engine) -> None:
    """As a database in service would be: the WAL folded back (SQLite); statistics and hint bits
    (PostgreSQL, where autovacuum would have analysed tables this size)."""
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        if engine.dialect.name == "sqlite":
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            driver.commit()
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")
            driver.autocommit = False  # back in the pool, the connection must open transactions again
    finally:
        raw.close()
