"""The rules for what customers and orgs tell Harken: writing facts (each change in the ledger),
sharing, and what each org may see of it (what the engine makes of it: harken.decisions.readmodel)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.consent import service as consent_service
from harken.context.models import Fact, Sharing
from harken.context.schemas import ContextPut, PersonaPut, PreferencesPatch, Provenance
from harken.db import DIALECT_INSERT
from harken.errors import Invalid
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.subjects import vault
from harken.subjects.models import SubjectRef
from harken.subjects.service import person_subjects
from harken.webhooks import outbox
from harken.webhooks.models import Endpoint
from harken.webhooks.schemas import EventType

CONTEXT_LIFETIME = timedelta(hours=4)
LONGEST_CONTEXT = timedelta(days=30)
# What each purpose needs to see; `service` (a contract) needs only how and when to reach the customer.
FIELDS_FOR_PURPOSE = {
    "service": ("channel", "situation_channels", "quiet_hours", "time_zone", "locale", "country"),
    "marketing": ("context", "interest"),
    "personalised-offers": ("context", "persona", "interest", "novelty"),
}


class Change(NamedTuple):
    """One datum to set (value) or remove (value None)."""

    key: str
    value: dict[str, Any] | None
    valid_until: datetime | None = None


def context_changes(body: ContextPut, now: datetime) -> list[Change]:
    # "Do not disturb until 22:00" is a context that lasts until 22:00, unless the customer says otherwise.
    valid_until = body.valid_until or body.do_not_disturb_until or now + CONTEXT_LIFETIME
    if body.do_not_disturb_until is not None:
        valid_until = max(valid_until, body.do_not_disturb_until)
    if valid_until <= now:
        raise Invalid("valid_until", "must lie in the future")
    if valid_until > now + LONGEST_CONTEXT:
        raise Invalid("valid_until" if body.valid_until else "do_not_disturb_until", "at most 30 days ahead")
    value = {
        "persona": body.persona,
        "intent": body.intent and str(body.intent),
        "situation": body.situation and str(body.situation),
        "topics": sorted(set(body.topics)),
        "do_not_disturb_until": rfc3339(body.do_not_disturb_until) if body.do_not_disturb_until else None,
    }
    return [Change("context", value, valid_until)]


def persona_change(key: str, body: PersonaPut | None) -> list[Change]:
    value = None if body is None else {"label": body.label, "interests": sorted(set(body.interests))}
    return [Change(f"persona:{key}", value)]


def preference_changes(body: PreferencesPatch, now: datetime) -> list[Change]:
    changes: list[Change] = []
    given = body.model_fields_set - {"provenance"}
    for topic, affinity in (body.interests or {}).items():
        changes.append(Change(f"interest:{topic}", None if affinity is None else {"affinity": affinity}))
    for channel, pref in (body.channels or {}).items():
        changes.append(Change(f"channel:{channel}", None if pref is None else pref.model_dump()))
    for situation, fitting in (body.situation_channels or {}).items():
        suits = None if fitting is None else {"channels": sorted({str(c) for c in fitting})}
        changes.append(Change(f"situation_channels:{situation}", suits))
    for key, event in (body.life_events or {}).items():
        if event is not None and event.until <= now:
            raise Invalid(f"life_events.{key}.until", "must lie in the future")
        value = (
            None
            if event is None
            else {"label": event.label, "topics": sorted(set(event.topics)), "until": rfc3339(event.until)}
        )
        changes.append(Change(f"life_event:{key}", value, event.until if event else None))
    if "quiet_hours" in given:
        hours = body.quiet_hours
        changes.append(
            Change(
                "quiet_hours",
                None if hours is None else {"start": f"{hours.start:%H:%M}", "end": f"{hours.end:%H:%M}"},
            )
        )
    for name in ("time_zone", "locale", "country", "novelty"):
        if name in given:
            value = getattr(body, name)
            changes.append(Change(name, None if value is None else {"value": value}))
    return changes


def write(
    session: Session,
    *,
    subject_id: uuid.UUID,
    provenance: Provenance,
    source: str,
    changes: Sequence[Change],
    chain_id: str,
    notary: Notary,
    now: datetime,
    via: str | None = None,
) -> None:
    """Set or remove data about a person, with one ledger entry that names each change by digest only
    (and `via`: "agent" when the customer said it through their own agent)."""
    if not changes:
        return
    db = session.connection()
    upsert = _UPSERT[db.dialect.name]
    data_key = vault.data_key(session, subject_id, now=now)
    for change in changes:
        where = {"subject_id": subject_id, "key": change.key, "provenance": str(provenance), "source": source}
        if change.value is None:
            db.execute(_DELETE, where)
        else:
            db.execute(
                upsert,
                {
                    **where,
                    "id": uuid.uuid4(),
                    "value": vault.seal(
                        data_key, change.value, _sealed_as(change.key, str(provenance), source)
                    ),
                    "valid_until": change.valid_until,
                    "recorded_at": now,
                    "via": via,
                },
            )
    ledger_service.append(
        session,
        notary=notary,
        chain_id=chain_id,
        type="profile.changed",
        data={
            "subject": str(subject_id),
            "provenance": str(provenance),
            "source": source,
            **({"via": via} if via else {}),
            # The kind of each datum in clear, the rest by digest only: "interest", never "interest:pregnancy".
            "changes": [
                {
                    "kind": c.key.partition(":")[0],
                    # keyed by the person's data key: after erasure no guess can be checked against it
                    "digest": vault.digest(data_key, chain.canonical({"key": c.key, "value": c.value})),
                    "removed": c.value is None,
                    "valid_until": rfc3339(c.valid_until) if c.valid_until else None,
                }
                for c in changes
            ],
        },
        at=now,
    )
    _announce(
        session,
        subject_id=subject_id,
        provenance=str(provenance),
        source=source,
        keys={c.key for c in changes},
        now=now,
    )


def _upsert(dialect_insert: Any) -> Any:
    stmt = dialect_insert(Fact.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["subject_id", "key", "provenance", "source"],
        set_={
            "value": stmt.excluded.value,
            "valid_until": stmt.excluded.valid_until,
            "recorded_at": stmt.excluded.recorded_at,
            "via": stmt.excluded.via,
        },
    )


_UPSERT = {name: _upsert(insert) for name, insert in DIALECT_INSERT.items()}
_DELETE = delete(Fact).where(
    Fact.subject_id == bindparam("subject_id"),
    Fact.key == bindparam("key"),
    Fact.provenance == bindparam("provenance"),
    Fact.source == bindparam("source"),
)
# Every datum held about the person: the subject's own, and every subject linked to the same verified person.
_FACTS = select(
    Fact.key,
    Fact.provenance,
    Fact.source,
    Fact.value,
    Fact.valid_until,
    Fact.recorded_at,
    Fact.subject_id,
    Fact.via,
).where(Fact.subject_id.in_(person_subjects(bindparam("subject_id"))))
_PEOPLES_FACTS = select(*_FACTS.selected_columns).where(
    Fact.subject_id.in_(bindparam("people", expanding=True))
)


class StoredFact(NamedTuple):
    key: str
    provenance: str
    source: str
    value: dict[str, Any]
    valid_until: datetime | None
    recorded_at: datetime
    subject_id: uuid.UUID | None = None  # which of the person's subjects holds it
    via: str | None = None  # "agent": declared through the customer's own agent


_SHARING = select(Sharing).where(
    Sharing.subject_id == bindparam("subject_id"), Sharing.org_id == bindparam("org_id")
)


def sharing(session: Session, *, subject_id: uuid.UUID, org_id: uuid.UUID) -> Sharing | None:
    return session.execute(_SHARING, {"subject_id": subject_id, "org_id": org_id}).scalar_one_or_none()


def set_sharing(
    session: Session,
    *,
    subject_id: uuid.UUID,
    org_id: uuid.UUID,
    profile: bool,
    purchases: bool,
    chain_id: str,
    notary: Notary,
    now: datetime,
) -> Sharing:
    """The customer's choice of what this org may see beyond what it was told directly; in the ledger."""
    found = sharing(session, subject_id=subject_id, org_id=org_id)
    if found is None:
        found = Sharing(
            subject_id=subject_id, org_id=org_id, profile=profile, purchases=purchases, updated_at=now
        )
        session.add(found)
    else:
        found.profile, found.purchases, found.updated_at = profile, purchases, now
    session.flush()
    ledger_service.append(
        session,
        notary=notary,
        chain_id=chain_id,
        type="sharing.changed",
        at=now,
        data={"subject": str(subject_id), "org": str(org_id), "profile": profile, "purchases": purchases},
    )
    ref = session.execute(
        select(SubjectRef.ref).where(SubjectRef.org_id == org_id, SubjectRef.subject_id == subject_id)
    ).scalar_one_or_none()
    if ref is not None:
        outbox.emit(
            session,
            org_id=org_id,
            type=EventType.share_updated,
            subject_id=subject_id,
            data={"ref": ref, "profile": profile, "purchases": purchases},
            now=now,
        )
    return found


def facts(
    session: Session, *, subject_id: uuid.UUID, people: Sequence[uuid.UUID] | None = None
) -> list[StoredFact]:
    """Every datum held about the person — this subject and every subject linked to the same verified
    person (`people`, when the caller has read them) — each opened with its subject's data key (plain
    rows: decisions read them on every call). Who may see which is the caller's to filter, by source and
    provenance."""
    if people is None:
        rows = session.connection().execute(_FACTS, {"subject_id": subject_id}).all()
    else:  # the person's subjects, read already (a decision has them): no second search for them
        rows = session.connection().execute(_PEOPLES_FACTS, {"people": list(people)}).all()
    if not any(vault.is_sealed(row.value) for row in rows):  # none, or only rows from before 0007
        return [StoredFact(*row) for row in rows]
    return [
        StoredFact(
            key,
            provenance,
            source,
            vault.unseal(vault.data_key(session, holder), value, _sealed_as(key, provenance, source)),
            valid_until,
            recorded_at,
            holder,
            via,
        )
        for key, provenance, source, value, valid_until, recorded_at, holder, via in rows
    ]


def _sealed_as(key: str, provenance: str, source: str) -> str:
    """What a sealed value is bound to: moved to another row, it will not open."""
    return f"fact:{key}:{provenance}:{source}"


def visible(
    session: Session, *, subject_id: uuid.UUID, org_id: uuid.UUID, now: datetime
) -> tuple[list[StoredFact], Sharing | None]:
    """The facts an org may read — what it wrote, and what the customer declared to it or shares with
    it — and the customer's sharing choice with that org."""
    shared = sharing(session, subject_id=subject_id, org_id=org_id)
    own = str(org_id)
    rows = [
        row
        for row in facts(session, subject_id=subject_id)
        if (row.valid_until is None or row.valid_until > now)
        and (
            row.source == own
            or (shared is not None and shared.profile and row.provenance == Provenance.declared)
        )
    ]
    return rows, shared


def readable_kinds(granted: Iterable[str]) -> set[str]:
    """The kinds of datum an org may read: those its granted purposes need (`service` always). Life
    events are never read by an org; the engine applies them."""
    return {kind for p in {"service", *granted} for kind in FIELDS_FOR_PURPOSE.get(p, ())}


def readable(rows: Iterable[StoredFact], granted: Iterable[str]) -> list[StoredFact]:
    """Of the facts an org may see, those it may read."""
    needed = readable_kinds(granted)
    return [row for row in rows if row.key.partition(":")[0] in needed]


_LISTENING = (
    select(SubjectRef.org_id, SubjectRef.ref, SubjectRef.subject_id)
    .join(Endpoint, Endpoint.org_id == SubjectRef.org_id)
    .where(
        SubjectRef.subject_id.in_(person_subjects(bindparam("subject_id"))), Endpoint.disabled_at.is_(None)
    )
    .distinct()
)


def _announce(
    session: Session, *, subject_id: uuid.UUID, provenance: str, source: str, keys: set[str], now: datetime
) -> None:
    """Tell each org with a webhook endpoint which fields changed — only those it may see and read
    (its own data, or declared data the customer shares with it, of the kinds its purposes need).
    The event names fields, never values: the org reads them with GET /v1/subjects/{ref}."""
    for org_id, ref, customer in session.execute(_LISTENING, {"subject_id": subject_id}).all():
        if source != str(org_id):
            shared = sharing(session, subject_id=customer, org_id=org_id)
            if provenance != Provenance.declared or not (shared and shared.profile):
                continue
        kinds = readable_kinds(
            consent_service.granted(
                consent_service.in_force(session, org_id=org_id, subject_id=customer), now
            )
        )
        fields = sorted(k for k in keys if k.partition(":")[0] in kinds)
        for type, chosen in (
            (EventType.context_updated, [f for f in fields if f == "context"]),
            (EventType.preferences_updated, [f for f in fields if f != "context"]),
        ):
            if chosen:
                data = {"ref": ref, "fields": chosen, "provenance": provenance}
                outbox.emit(session, org_id=org_id, type=type, subject_id=customer, data=data, now=now)
