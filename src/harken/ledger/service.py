"""Appending to the ledger inside the caller's transaction, checkpointing (and publishing each signed
checkpoint as a head the orgs concerned keep), and verifying what is stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.db import insert_ignore, insert_many
from harken.ledger import chain
from harken.ledger.keys import KeyRing
from harken.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from harken.orgs import models as _orgs  # noqa: F401  before the outbox: see below
from harken.webhooks import outbox

# The outbox builds its statements when imported, and a column that refers to orgs.id takes its type
# from that table: were it not defined yet, an org's id would reach SQLite as an untyped UUID.
from harken.webhooks.schemas import EventType


@dataclass(frozen=True)
class Notary:
    """What the ledger needs to sign: the hub's keys and how often to checkpoint."""

    keys: KeyRing
    checkpoint_every: int = 100


# Built once: the write path runs these on every consent change.
_LOCK_HEAD = (
    select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.chain == bindparam("chain")).with_for_update()
)
_MOVE_HEAD = (
    update(LedgerHead)
    .where(LedgerHead.chain == bindparam("head_chain"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def append(
    session: Session, *, notary: Notary, chain_id: str, type: str, data: Mapping[str, Any], at: datetime
) -> chain.Entry:
    """Append an entry to `chain_id` in the caller's transaction; the chain's head is locked until commit.

    Every `checkpoint_every`th entry also gets a signed checkpoint, in the same transaction.
    """
    head_seq, head_hash = lock_head(session, chain_id)
    entry = chain.next_entry(
        chain=chain_id, head_seq=head_seq, head_hash=head_hash, type=type, at=rfc3339(at), data=data
    )
    store(session, notary=notary, entries=[entry], at=at)
    return entry


def lock_head(session: Session, chain_id: str) -> tuple[int, str]:
    """The chain's head (seq, hash), locked until commit; created for the chain's first entry (once,
    even when racing another writer)."""
    db = session.connection()  # plain Core from here: this runs on every write
    head = db.execute(_LOCK_HEAD, {"chain": chain_id}).first()
    if head is None:
        insert_ignore(session, LedgerHead, {"chain": chain_id, "seq": 0, "hash": chain.GENESIS})
        head = db.execute(_LOCK_HEAD, {"chain": chain_id}).one()
    return int(head.seq), str(head.hash)


def store(session: Session, *, notary: Notary, entries: Sequence[chain.Entry], at: datetime) -> None:
    """Store entries that continue their chain from its locked head (`lock_head`), sign a checkpoint
    at every `checkpoint_every`th, and move the head to the last."""
    db = session.connection()
    insert_many(
        db,
        LedgerEntry,
        [
            {
                "chain": e.chain,
                "seq": e.seq,
                "type": e.type,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "body": e.body.decode(),
            }
            for e in entries
        ],
    )
    for e in entries:
        if e.seq % notary.checkpoint_every == 0:
            _store_checkpoint(session, notary, e.chain, e.seq, e.hash, at)
    last = entries[-1]
    db.execute(_MOVE_HEAD, {"head_chain": last.chain, "new_seq": last.seq, "new_hash": last.hash})


def checkpoint_all(session: Session, *, notary: Notary, at: datetime) -> list[chain.Checkpoint]:
    """Sign the current head of every chain that moved since its last checkpoint."""
    made = []
    for head in session.execute(select(LedgerHead).with_for_update()).scalars():
        last = session.execute(
            select(LedgerCheckpoint.seq)
            .where(LedgerCheckpoint.chain == head.chain)
            .order_by(LedgerCheckpoint.seq.desc())
            .limit(1)
        ).scalar()
        if head.seq > 0 and head.seq != last:
            made.append(_store_checkpoint(session, notary, head.chain, head.seq, head.hash, at))
    return made


def _store_checkpoint(
    session: Session, notary: Notary, chain_id: str, seq: int, hash: str, at: datetime
) -> chain.Checkpoint:
    """Sign, store and publish a checkpoint, all in the caller's transaction."""
    cp = chain.sign_checkpoint(
        chain=chain_id,
        seq=seq,
        hash=hash,
        at=rfc3339(at),
        every=notary.checkpoint_every,
        key=notary.keys.active,
        kid=notary.keys.active_kid,
    )
    session.add(LedgerCheckpoint(chain=chain_id, seq=seq, hash=hash, created_at=at, jws=cp.jws))
    _publish(session, cp, at)
    return cp


def _publish(session: Session, cp: chain.Checkpoint, at: datetime) -> None:
    """`ledger.checkpoint` with the signed head, so that it is kept outside this database: to the org
    whose chain it is; a chain of the hub's own (`centre`, `credentials`), which every org's customers
    may write to, to every org that subscribed to the event. A head names no person."""
    head = chain.signed_head(cp)
    owner = org_of(cp.chain)
    if owner is None:
        outbox.emit_to_subscribers(session, type=EventType.ledger_checkpoint, data=head, now=at)
    else:
        outbox.emit(
            session, org_id=owner, type=EventType.ledger_checkpoint, subject_id=None, data=head, now=at
        )


def org_of(chain_id: str) -> uuid.UUID | None:
    """The org whose own chain `chain_id` is (`org:<id>`); None for a chain of the hub's own."""
    prefix, _, rest = chain_id.partition(":")
    if prefix != "org":
        return None
    try:
        return uuid.UUID(rest)
    except ValueError:
        return None


_ORG_CHAIN = "org:"  # an org's own chain is `org:<its id>` (`Org.chain`)


def heads(session: Session, *, org_id: uuid.UUID | None, chain_id: str | None = None) -> list[dict[str, Any]]:
    """The latest signed head of each chain of the hub's own and, given `org_id`, of that org's own chain
    (or of `chain_id` only, if it is one of those), as `ledger.checkpoint` delivers them. Never another
    org's: which orgs are on the hub and how many entries each has is theirs."""
    seen = ~LedgerCheckpoint.chain.startswith(_ORG_CHAIN, autoescape=True)
    if org_id is not None:
        seen = seen | (LedgerCheckpoint.chain == f"{_ORG_CHAIN}{org_id}")
    latest = (
        select(LedgerCheckpoint.chain, func.max(LedgerCheckpoint.seq).label("seq"))
        .where(seen)
        .group_by(LedgerCheckpoint.chain)
    )
    if chain_id is not None:
        latest = latest.where(LedgerCheckpoint.chain == chain_id)
    newest = latest.subquery()
    rows = session.execute(
        select(LedgerCheckpoint)
        .join(newest, (LedgerCheckpoint.chain == newest.c.chain) & (LedgerCheckpoint.seq == newest.c.seq))
        .order_by(LedgerCheckpoint.chain)
    ).scalars()
    return [chain.signed_head(chain.Checkpoint(r.chain, r.seq, r.hash, r.jws)) for r in rows]


def entries(
    session: Session, chain_id: str, *, batch: int = 20_000, after: int = 0, through: int | None = None
) -> Iterator[chain.Entry]:
    """The stored entries of a chain in seq order (those past seq `after`, up to `through`), streamed."""
    stretch = [LedgerEntry.chain == chain_id, LedgerEntry.seq > after]
    if through is not None:
        stretch.append(LedgerEntry.seq <= through)
    rows = session.connection().execute(  # plain Core rows: verification reads millions of them
        select(LedgerEntry.seq, LedgerEntry.prev_hash, LedgerEntry.hash, LedgerEntry.body, LedgerEntry.type)
        .where(*stretch)
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=batch)
    )
    entry = chain.Entry
    try:
        for seq, prev_hash, hash_, body, type_ in rows:
            yield entry(chain_id, seq, prev_hash, hash_, body.encode(), type_)
    finally:  # a verifier that stops at the first bad entry must not leave a server-side cursor open
        rows.close()


def checkpoints(session: Session, chain_id: str) -> list[chain.Checkpoint]:
    rows = session.execute(
        select(LedgerCheckpoint).where(LedgerCheckpoint.chain == chain_id).order_by(LedgerCheckpoint.seq)
    ).scalars()
    return [chain.Checkpoint(r.chain, r.seq, r.hash, r.jws) for r in rows]


def chains(session: Session) -> list[str]:
    """Every chain that has a head, an entry or a checkpoint (deleting one kind of row must not hide a chain)."""
    named = set(session.execute(select(LedgerHead.chain)).scalars())
    named |= set(session.execute(select(LedgerEntry.chain).distinct()).scalars())
    named |= set(session.execute(select(LedgerCheckpoint.chain).distinct()).scalars())
    return sorted(named)


def verify(
    session: Session,
    *,
    keys: KeyRing,
    every: int | None = None,
    kept: Iterable[chain.Checkpoint] = (),
    watch: Callable[[Iterator[chain.Entry]], Iterator[chain.Entry]] = lambda entries: entries,
) -> Iterator[chain.ChainReport]:
    """Verify each chain from its first entry through its last checkpoint and its recorded head, with
    a checkpoint wherever the hub must have signed one (`every`: the interval in force; the CLI always
    gives it, None skips that check), and against
    the signed heads `kept` elsewhere (a chain the database no longer has at all included).

    `watch` sees every entry on its way to the verifier (a progress bar, say).
    """
    witness: dict[str, list[chain.Checkpoint]] = {}
    for cp in kept:
        witness.setdefault(cp.chain, []).append(cp)
    for chain_id in sorted(set(chains(session)) | set(witness)):
        head = session.get(LedgerHead, chain_id)
        yield chain.verify_chain(
            chain_id,
            watch(entries(session, chain_id)),
            checkpoints=checkpoints(session, chain_id),
            keys=keys.public,
            head=(head.seq, head.hash) if head else (0, chain.GENESIS),
            every=every,
            kept=witness.get(chain_id, ()),
        )


def typed_entries(session: Session, chain_id: str, type: str) -> Iterator[tuple[int, Any]]:
    """(seq, data) of the entries of one type on a chain, in seq order, streamed."""
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.body)
        .where(LedgerEntry.chain == chain_id, LedgerEntry.type == type)
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=20_000)
    )
    try:
        for seq, body in rows:
            yield seq, json.loads(body)["data"]
    finally:
        rows.close()


def proof(
    session: Session, *, notary: Notary, chain_id: str, seq: int, at: datetime
) -> tuple[list[str], chain.Checkpoint]:
    """What proves entry `seq` is in the chain: the body digests of the entries after it, up to the first
    signed checkpoint at or after it (signed now, at the head, if there is none yet)."""
    stored = session.execute(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.chain == chain_id, LedgerCheckpoint.seq >= seq)
        .order_by(LedgerCheckpoint.seq)
        .limit(1)
    ).scalar_one_or_none()
    if stored is None:
        head = session.connection().execute(_LOCK_HEAD, {"chain": chain_id}).one()
        checkpoint = _store_checkpoint(session, notary, chain_id, head.seq, head.hash, at)
    else:
        checkpoint = chain.Checkpoint(stored.chain, stored.seq, stored.hash, stored.jws)
    bodies = session.execute(
        select(LedgerEntry.body)
        .where(LedgerEntry.chain == chain_id, LedgerEntry.seq > seq, LedgerEntry.seq <= checkpoint.seq)
        .order_by(LedgerEntry.seq)
    ).scalars()
    return [chain.digest(body.encode()) for body in bodies], checkpoint
