"""The numbers behind the console's overview: one org at a time, over whole UTC days [since, until).

What each answers for the business:
- `consents`: per purpose and channel, how many customers granted, denied or withdrew each day, and how
  many grants lapsed (expired while still in force): is our audience growing, or leaving, and where?
- `decisions`: how many decisions said "send" and how many "don't send", each day.
- `not_sent`: why not, each day, by the reason the answer gave first (the one its explanation states), for
  the most frequent codes: what holds our messages back (consent, quiet hours, in transit, relevance…)?
- `relevance`: how relevant what we sent was: the score of the action taken, in bins. Are we sending what
  fits, or only just clearing the floor?
- `feedback`: per offer, what became of it (accepted, dismissed, not relevant, opted out): which offers work?
- `shares`: per day, the shares customers granted us, our reads of them, and the credentials presented to
  us that we verified.

Every query takes the org id and filters on it first: nothing here reads another org's rows. Counting is
done by the database (GROUP BY), not by loading rows; a day is the UTC calendar date, spelt per backend by
`_day`. Days (and score bins) with nothing are zeros. Plain data out (`Table`): a chart, its text table and
its CSV all draw from the same one (`harken.console.charts`).
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Float, Integer, Select, String, cast, exists, func, literal_column, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from harken.consent.models import ConsentRecord
from harken.credentials.models import PresentationNonce
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.errors import Invalid
from harken.shares.models import Share, ShareGrant, ShareUse

MAX_DAYS = 366  # a year (and a leap day): what one page of charts can show a day per point
TOP_REASONS = 5
BIN_WIDTH = 0.25  # a power of two: bin edges are exact, so a score on an edge falls in one bin on any backend
MAX_BINS = 40

CONSENT_COLUMNS = ("granted", "denied", "withdrawn", "expired")
OUTCOME_COLUMNS = ("sent", "not sent")
FEEDBACK_COLUMNS = ("accepted", "dismissed", "not-relevant", "opted-out")
SHARE_COLUMNS = ("shares granted", "shares read", "credentials verified")
NO_CHANNEL = "all channels"  # a record naming none: a withdrawal or denial of the whole purpose, or analytics
NO_OFFER = "(no offer)"
OTHER = "other"


class Row(NamedTuple):
    """One key (a day, a score bin, an offer) and its counts, in the table's column order."""

    key: str
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Table:
    """Counts in named columns, one row per key: what a chart draws, its text table lists, its CSV holds."""

    title: str
    key: str  # the heading of the keys: "day", "score", "offer"
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def column(self, name: str) -> tuple[int, ...]:
        at = self.columns.index(name)
        return tuple(row.counts[at] for row in self.rows)

    def total(self, name: str) -> int:
        return sum(self.column(name))


@dataclass(frozen=True)
class Overview:
    since: date
    until: date
    consents: tuple[Table, ...]  # one per purpose and channel that saw anything in the range
    decisions: Table
    not_sent: Table
    relevance: Table
    feedback: Table
    shares: Table


def overview(
    session: Session, *, org_id: uuid.UUID, since: date, until: date, now: datetime, top: int = TOP_REASONS
) -> Overview:
    """Every number of the overview page, for `org_id` alone."""
    return Overview(
        since=since,
        until=until,
        consents=consents(session, org_id=org_id, since=since, until=until, now=now),
        decisions=decisions(session, org_id=org_id, since=since, until=until),
        not_sent=not_sent(session, org_id=org_id, since=since, until=until, top=top),
        relevance=relevance(session, org_id=org_id, since=since, until=until),
        feedback=feedback(session, org_id=org_id, since=since, until=until),
        shares=shares(session, org_id=org_id, since=since, until=until),
    )


def consents(
    session: Session, *, org_id: uuid.UUID, since: date, until: date, now: datetime
) -> tuple[Table, ...]:
    """Per purpose and channel, each day's grants, denials, withdrawals (by when the customer decided), and
    expiries: a grant whose expires_at passed (by `now`) before any later decision on its purpose replaced it.
    A record naming two channels counts once for each; one naming none, under NO_CHANNEL."""
    start, end = span(since, until)
    day = _day(session)
    R = ConsentRecord
    channels = cast(R.channels, String)  # grouped as text: PostgreSQL's json has no equality
    decided = _grouped(
        session,
        select(day(R.captured_at), R.purpose, channels, R.status).where(
            R.org_id == org_id, R.captured_at >= start, R.captured_at < end
        ),
    )
    later = aliased(R)
    replaced = exists().where(
        later.org_id == R.org_id,
        later.subject_id == R.subject_id,
        later.purpose == R.purpose,
        later.captured_at > R.captured_at,
        later.captured_at <= R.expires_at,
    )
    lapsed = _grouped(
        session,
        select(day(R.expires_at), R.purpose, channels).where(
            R.org_id == org_id,
            R.status == "granted",
            R.expires_at >= start,
            R.expires_at < end,
            R.expires_at <= now,
            ~replaced,
        ),
    )
    counts: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
    found = [*decided, *((d, purpose, kept, "expired", n) for d, purpose, kept, n in lapsed)]
    for d, purpose, kept, status, n in found:
        for channel in json.loads(kept) or [NO_CHANNEL]:
            counts.setdefault((purpose, channel), Counter())[(d, status)] += n
    return tuple(
        _daily(f"{purpose} · {channel}", CONSENT_COLUMNS, counts[purpose, channel], since, until)
        for purpose, channel in sorted(counts)
    )


def decisions(session: Session, *, org_id: uuid.UUID, since: date, until: date) -> Table:
    """Each day's decisions (by when they were asked) that said send, and that said don't send."""
    start, end = span(since, until)
    L = DecisionLog
    rows = _grouped(
        session,
        select(_day(session)(L.decided_at), L.allowed).where(
            L.org_id == org_id, L.decided_at >= start, L.decided_at < end
        ),
    )
    counts = Counter(
        {(d, OUTCOME_COLUMNS[0] if allowed else OUTCOME_COLUMNS[1]): n for d, allowed, n in rows}
    )
    return _daily("Decisions per day", OUTCOME_COLUMNS, counts, since, until)


def not_sent(
    session: Session, *, org_id: uuid.UUID, since: date, until: date, top: int = TOP_REASONS
) -> Table:
    """Each day's "don't send" answers by their first reason code: the `top` codes over the whole range
    (most frequent first, ties by code), the rest as "other"."""
    start, end = span(since, until)
    L = DecisionLog
    # `codes` is {"codes": [...], "explanation": ...}, or a bare list in rows logged before explanations
    first = func.coalesce(L.codes[("codes", 0)].as_string(), L.codes[0].as_string())
    rows = _grouped(
        session,
        select(_day(session)(L.decided_at), first).where(
            L.org_id == org_id, ~L.allowed, L.decided_at >= start, L.decided_at < end
        ),
    )
    totals: Counter[str] = Counter()
    for _, code, n in rows:
        totals[code] += n
    ranked = sorted(totals, key=lambda code: (-totals[code], code))
    shown = tuple(ranked[:top])
    columns = (*shown, OTHER) if len(ranked) > top else shown
    counts: Counter[tuple[str, str]] = Counter()
    for d, code, n in rows:
        counts[(d, code if code in shown else OTHER)] += n
    return _daily("Why we did not send", columns, counts, since, until)


def relevance(session: Session, *, org_id: uuid.UUID, since: date, until: date) -> Table:
    """How many of the decisions that said send had their taken action scored in each bin [low, high): bins
    of BIN_WIDTH (doubled until at most MAX_BINS cover the range) from the lowest score to the highest.
    Sends without a logged choice (service messages owed by contract, old rows) have no score."""
    start, end = span(since, until)
    L = DecisionLog
    score = _chosen_score(session)
    sent = (L.org_id == org_id, L.allowed, L.choice.is_not(None), L.decided_at >= start, L.decided_at < end)
    low, high = session.execute(select(func.min(score), func.max(score)).where(*sent)).one()
    title = "Relevance of what was sent"
    if low is None:
        return Table(title, "score", ("sent",), ())
    width, first, bins = bins_for(float(low), float(high))
    offset = (score - first) / width
    place = func.floor(offset) if session.get_bind().dialect.name == "postgresql" else offset
    counts: Counter[int] = Counter()
    for at, n in _grouped(session, select(cast(place, Integer)).where(*sent)):
        counts[min(max(int(at), 0), bins - 1)] += n  # a score a rounding error past an edge
    rows = (Row(bin_label(first + i * width, width), (counts[i],)) for i in range(bins))
    return Table(title, "score", ("sent",), tuple(rows))


def bins_for(low: float, high: float) -> tuple[float, float, int]:
    """(width, first edge, number of bins) covering [low, high]."""
    width = BIN_WIDTH
    while True:
        first = math.floor(low / width) * width
        bins = int((high - first) // width) + 1
        if bins <= MAX_BINS:
            return width, first, bins
        width *= 2


def bin_label(low: float, width: float) -> str:
    """A bin as the charts and tables show it: half-open, [low, high)."""
    return f"[{low:.2f}, {low + width:.2f})"


def feedback(session: Session, *, org_id: uuid.UUID, since: date, until: date) -> Table:
    """Per offer, the feedback given in the range (by when it was given), by kind."""
    start, end = span(since, until)
    F = DecisionFeedback
    rows = _grouped(
        session,
        select(F.offer_id, F.kind).where(F.org_id == org_id, F.at >= start, F.at < end),
    )
    counts: dict[str, Counter[str]] = {}
    for offer, kind, n in rows:
        counts.setdefault(offer or NO_OFFER, Counter())[kind] += n
    table = (Row(offer, tuple(counts[offer][k] for k in FEEDBACK_COLUMNS)) for offer in sorted(counts))
    return Table("Feedback per offer", "offer", FEEDBACK_COLUMNS, tuple(table))


def shares(session: Session, *, org_id: uuid.UUID, since: date, until: date) -> Table:
    """Each day's shares granted to the org (by when the customer made them), its reads of shares, and the
    credential presentations it verified (a nonce of its own used up)."""
    start, end = span(since, until)
    day = _day(session)
    granted = _grouped(
        session,
        select(day(Share.created_at))
        .select_from(ShareGrant)
        .join(Share, Share.id == ShareGrant.share_id)
        .where(ShareGrant.org_id == org_id, Share.created_at >= start, Share.created_at < end),
    )
    read = _grouped(
        session,
        select(day(ShareUse.used_at)).where(
            ShareUse.org_id == org_id, ShareUse.used_at >= start, ShareUse.used_at < end
        ),
    )
    N = PresentationNonce
    verified = _grouped(
        session,
        select(day(N.used_at)).where(N.org_id == org_id, N.used_at >= start, N.used_at < end),
    )
    counts: Counter[tuple[str, str]] = Counter()
    for column, rows in zip(SHARE_COLUMNS, (granted, read, verified), strict=True):
        for d, n in rows:
            counts[(d, column)] += n
    return _daily("Shares and credentials", SHARE_COLUMNS, counts, since, until)


def span(since: date, until: date) -> tuple[datetime, datetime]:
    """The UTC instants [since 00:00, until 00:00); Invalid, naming the field, for an empty or too long range."""
    if until <= since:
        raise Invalid("until", "must be after since")
    if (until - since).days > MAX_DAYS:
        raise Invalid("until", f"a range covers at most {MAX_DAYS} days")
    return datetime.combine(since, time(), UTC), datetime.combine(until, time(), UTC)


def days(since: date, until: date) -> list[str]:
    return [(since + timedelta(days=n)).isoformat() for n in range((until - since).days)]


def _daily(
    title: str, columns: Sequence[str], counts: Counter[tuple[str, str]], since: date, until: date
) -> Table:
    rows = (Row(d, tuple(counts[(d, c)] for c in columns)) for d in days(since, until))
    return Table(title, "day", tuple(columns), tuple(rows))


def _grouped(session: Session, inner: Select[*tuple[Any, ...]]) -> Iterable[Any]:
    """(*keys, count) for each distinct row of `inner`, counted by the database. Grouped over a subquery,
    so that PostgreSQL sees each key as one column, not two spellings of an expression with parameters."""
    keys = list(inner.subquery().c)
    return session.execute(select(*keys, func.count()).group_by(*keys)).all()


def _day(session: Session) -> Callable[[Any], ColumnElement[str]]:
    """The function that spells a stored time as its UTC date, 'YYYY-MM-DD', on this session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)
    # SQLite keeps times as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (db.UTCDateTime): its first ten characters
    return lambda column: func.substr(column, 1, 10, type_=String)


def _chosen_score(session: Session) -> ColumnElement[float]:
    """The score of the action a logged choice took: choice["scores"][choice["chosen"]]."""
    if session.get_bind().dialect.name == "postgresql":
        sql = "((decisions.choice -> 'scores') ->> ((decisions.choice ->> 'chosen')::int))::float8"
    else:
        sql = (
            "json_extract(decisions.choice, '$.scores[' || json_extract(decisions.choice, '$.chosen') || ']')"
        )
    return literal_column(sql, Float)
