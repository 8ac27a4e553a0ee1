"""The decision engine: `decide(snapshot, request, at)`, a pure function over plain data.

No database, no web, no clock: the service builds the snapshot and passes the time in, and the scorer
and the random draw too. Hard gates run in order — customer known, the terms they set and the org
accepted (MyTerms), consent, context, frequency — then every candidate is filtered (ranking.judge); what is left are actions, each eligible offer on each
channel it may go by, and "don't send". The scorer scores them (`rules.RULES`, today's hand-set weights,
unless a learned one is passed) and `scoring.choose` takes one, exploring only as far as the customer's
own "surprise me" and the org's cap allow, never a sensitive offer, never anything a hard gate dropped.
Nothing relevant enough, or no open channel, means "don't send". The hub's own guesses (the table of
channels per situation, the floor, the weights) are soft defaults, `rules.Priors`: a scorer may revise
them, never what the customer declared.

Two rules shape what the engine may use:
- declared beats observed and inferred, always (`resolve` keeps the declared value of every key);
- protection flows everywhere, information only where shared: a declared datum the customer did not
  share with the asking org may still stop a message (do-not-disturb, quiet hours, a dislike, a life
  event), but never selects or explains one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from harken.consent.purposes import CATALOGUE, LegalBasis
from harken.decisions import features, shown
from harken.decisions.gates import (
    consented_channels,
    next_opening,
    on_clock,
    open_channels,
    terms_refusal,
    zone_of,
)
from harken.decisions.ranking import POSITIVE, Judged, Lens, Ranked, judge, lens_for, offer_channels
from harken.decisions.reasons import Code, Explanation, Reason, explain, reason
from harken.decisions.rules import PRIORS, RULES, Priors
from harken.decisions.scoring import DONT_SEND, Action, Choice, Scorer, choose
from harken.decisions.snapshot import (
    DECLARED,
    INFERRED,
    OBSERVED,
    ChannelPreference,
    ConsentState,
    Contact,
    Context,
    Fact,
    Feedback,
    Interest,
    LifeEvent,
    Offer,
    Persona,
    Profile,
    Purchase,
    Request,
    Snapshot,
    Terms,
    resolve,
)

__all__ = [  # decide, and the plain data it works on (defined in snapshot.py)
    "DECLARED",
    "INFERRED",
    "OBSERVED",
    "ChannelPreference",
    "ConsentState",
    "Contact",
    "Context",
    "Decision",
    "Explanation",
    "Fact",
    "Feedback",
    "Interest",
    "LifeEvent",
    "Offer",
    "Persona",
    "Profile",
    "Purchase",
    "Ranked",
    "Reason",
    "Request",
    "Snapshot",
    "Terms",
    "decide",
    "resolve",
]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    channel: str | None
    offer: str | None
    ranking: tuple[Ranked, ...]
    reasons: tuple[Reason, ...]
    explained: Explanation  # the one-sentence explanation as values: `explain` writes it in a language
    data_used: tuple[tuple[str, str], ...]  # (field, provenance)
    retry_after: datetime | None
    choice: Choice | None = None  # the actions scored, the one taken and its propensity (None: no choice)

    @property
    def explanation(self) -> str:
        """The one-sentence explanation in English, the API's default language."""
        return explain(self.explained)


def decide(
    snapshot: Snapshot,
    request: Request,
    at: datetime,
    *,
    scorer: Scorer = RULES,
    draw: float = 0.0,
    explore_cap: float = 0.0,
    priors: Priors = PRIORS,
) -> Decision:
    """Whether to contact the customer now, on which channel, with which candidate — and why. `draw`
    (in [0, 1)) decides an exploring choice; `explore_cap`, the org's bound on exploration."""
    used: set[tuple[str, str]] = set()
    if snapshot.erased:
        return _deny([reason(Code.subject_erased)], (), used, None, zone_of(snapshot.profile))
    if not snapshot.known:
        return _deny([reason(Code.subject_unknown)], (), used, None, zone_of(snapshot.profile))
    profile = snapshot.profile
    if snapshot.terms:
        refusal = terms_refusal(snapshot.terms, request.purpose)
        if refusal is not None:
            used.add((f"terms.{refusal.params['agreement']}", DECLARED))
            return _deny([refusal], (), used, None, zone_of(profile))
    purpose = CATALOGUE[request.purpose]
    contract = purpose.legal_basis == LegalBasis.contract

    reasons: list[Reason] = []
    if contract:
        channels = list(request.channels)
        reasons.append(reason(Code.consent_not_required))
    else:
        channels, refusal = consented_channels(snapshot, request.purpose, request.channels, at)
        used.add((f"consent.{request.purpose}", "declared"))
        if refusal is not None:
            return _deny([refusal], (), used, None, zone_of(profile))
    closed = [c for c in channels if not profile.channels.get(c, ChannelPreference(True, None)).allowed]
    if closed:
        used.add(("preferences.channels", profile.provenance.get("channel", DECLARED)))
        channels = [c for c in channels if c not in closed]
        if not channels:
            return _deny(
                [reason(Code.channel_not_allowed, channels=tuple(closed))],
                (),
                used,
                None,
                zone_of(profile),
            )
        reasons.append(reason(Code.channel_not_allowed, channels=tuple(closed)))
    if contract:
        return _owed(snapshot, request, at, channels, reasons, used)

    opened = open_channels(snapshot, channels, at, used, priors.fitting)
    if not opened.channels:
        retry = next_opening(snapshot, channels, at, priors.fitting)
        if retry is not None and on_clock(retry, profile).date() != on_clock(at, profile).date():
            opened.blocks.append(reason(Code.context_no_moment_today))
        refused = _deny(opened.blocks, (), used, retry, zone_of(profile))
        if not opened.soft:
            return refused
        # Only the hub's default table closes what is left: the scorer may revise it, else the refusal
        # stands as the rules give it (what the rules did not use stays out of data_used).
        spare: set[tuple[str, str]] = set()
        lens = lens_for(snapshot, request.purpose, [], at, False, opened.soft)
        blocks = [b for b in opened.blocks if b.code != Code.context_no_moment_today]
        return _choose(lens, request, [*reasons, *blocks], spare, scorer, draw, explore_cap, refused, used)
    reasons.extend(opened.blocks)  # channels closed while others stay open
    lens = lens_for(snapshot, request.purpose, opened.channels, at, False, opened.soft)
    return _choose(lens, request, reasons, used, scorer, draw, explore_cap, None, used)


def _choose(
    lens: Lens,
    request: Request,
    reasons: list[Reason],
    used: set[tuple[str, str]],
    scorer: Scorer,
    draw: float,
    explore_cap: float,
    refused: Decision | None,
    kept: set[tuple[str, str]],
) -> Decision:
    """Score every action the hard gates leave, choose one, and say why. `refused`: the rules' answer
    when only the default table closes every channel (kept unless the scorer revises it); `kept`, the
    data used that the answer shows either way."""
    judged = [_excluded(offer, lens, used) or judge(offer, lens, used) for offer in request.candidates]
    local = on_clock(lens.at, lens.snapshot.profile)
    shared = features.shared(lens.context, local)
    actions: list[Action] = []
    spans: list[tuple[Judged, int, int]] = []  # an offer's actions: actions[start:end]
    purpose = lens.purpose
    for verdict in judged:
        if isinstance(verdict, Judged):
            offer = verdict.offer
            offer_id = offer.id
            known = {
                **features.offer_features(offer, offer.purpose or purpose, verdict.sensitive),
                **verdict.matches,
            }
            start = len(actions)
            for channel, unfit in verdict.channels:
                actions.append(
                    _new(
                        Action,
                        (offer_id, channel, {**known, features.DEFAULT_UNFIT: 1.0} if unfit else known),
                    )
                )
            spans.append((verdict, start, len(actions)))
    actions.append(shown.STAY)
    scores = scorer.score(shared, actions)
    stay = scores[-1]
    # The engine ranks on scores to three decimals, as it always has (ties: the first asked); an
    # action below "don't send" stays below it.
    keys = [round(s, 3) if s >= stay else s for s in scores]
    explore = min(max(lens.snapshot.profile.novelty, 0.0), explore_cap, 1.0)
    explorable = None
    if explore > 0.0:  # sensitive offers are never explored, nor is not sending: no surprise
        explorable = [False] * len(actions)
        for verdict, start, end in spans:
            if not verdict.sensitive:
                explorable[start:end] = [True] * (end - start)
    choice = choose(scorer.name, shared, actions, keys, explore=explore, draw=draw, explorable=explorable)
    close = shown.as_if_open(scorer, shared, actions, spans, keys, stay) if lens.soft else {}
    situation = (
        next((r for r in reasons if r.code in shown.SITUATIONAL), shown.BELOW) if close else shown.BELOW
    )
    ranked = tuple(sorted(shown.ranking(judged, spans, keys, stay, close, situation), key=shown.best_first))
    taken = actions[choice.chosen]
    if taken.offer_id == DONT_SEND:
        if refused is not None:  # the rules' refusal, with what was close and the data that says so
            return replace(refused, ranking=ranked, data_used=tuple(sorted(kept | used)), choice=choice)
        why = [reason(Code.relevance_none)]
        if len(ranked) == 1:
            why = [*ranked[0].reasons[-1:], *why]
        return replace(_deny(why, ranked, used, None, zone_of(lens.snapshot.profile)), choice=choice)
    owner = next(v for v, start, end in spans if start <= choice.chosen < end)
    if refused is not None:
        kept |= used
    revised = (taken.channel, True) in owner.channels
    if revised:  # the scorer revised the default table: its guess is no reason any more
        reasons = [r for r in reasons if r.code not in (Code.context_in_transit, Code.context_situation)]
    ranking = next((r for r in ranked if r.offer_id == taken.offer_id), None)
    cited = ranking.reasons if ranking is not None else owner.reasons
    because = next((r for r in cited if r.code in POSITIVE), reason(Code.consent_not_required))
    if choice.probabilities[choice.chosen] < 1.0 and choice.chosen != _greedy(keys):
        because = reason(Code.relevance_novelty)  # explored: the customer asked to be surprised
        kept.add(("preferences.novelty", lens.snapshot.profile.provenance.get("novelty", DECLARED)))
    elif scorer.name != RULES.name:
        because = _learned(owner, shared, lens, kept)
    return Decision(
        allowed=True,
        channel=taken.channel,
        offer=taken.offer_id,
        ranking=ranked,
        reasons=(*reasons, reason(Code.allowed)),
        explained=Explanation(because, title=owner.offer.title, channel=taken.channel),
        data_used=tuple(sorted(kept)),
        retry_after=None,
        choice=choice,
    )


_new = tuple.__new__  # builds a named tuple without its Python-level __new__: some fifty per decision


def _greedy(keys: list[float]) -> int:
    return keys.index(max(keys))  # ties: the first


def _learned(owner: Judged, shared: dict[str, float], lens: Lens, kept: set[tuple[str, str]]) -> Reason:
    """A learned choice cites the declared facts it used, and the access log shows them."""
    topics = tuple(r.params["topic"] for r in owner.reasons if r.code == Code.relevance_interest)
    context = lens.context if features.informs(lens.context) else None
    situation = context.situation if context is not None else None
    if context is not None:  # what of the context the model saw
        for name, value in (
            ("situation", context.situation),
            ("intent", context.intent),
            ("persona", context.persona),
            ("topics", context.topics),
        ):
            if value:
                kept.add((f"context.{name}", DECLARED))
    if topics:
        kept.add(("preferences.interests", DECLARED))
    return reason(Code.relevance_learned, topics=topics, situation=situation)


def _owed(
    snapshot: Snapshot,
    request: Request,
    at: datetime,
    channels: list[str],
    reasons: list[Reason],
    used: set[tuple[str, str]],
) -> Decision:
    """A service message is owed, not chosen: the first candidate any open channel carries."""
    lens = lens_for(snapshot, request.purpose, channels, at, True)
    ranked = tuple(
        sorted(
            [
                _excluded(offer, lens, used) or _as_ranked(judge(offer, lens, used))
                for offer in request.candidates
            ],
            key=shown.best_first,
        )
    )
    best = ranked[0] if ranked and ranked[0].eligible else None
    if best is None:
        why = [reason(Code.relevance_none)]
        if len(ranked) == 1:
            why = [*ranked[0].reasons[-1:], *why]
        return _deny(why, ranked, used, None, zone_of(snapshot.profile))
    offer = next(o for o in request.candidates if o.id == best.offer_id)
    channel = offer_channels(offer, lens)[0]
    return Decision(
        allowed=True,
        channel=channel,
        offer=offer.id,
        ranking=ranked,
        reasons=(*reasons, reason(Code.allowed)),
        explained=Explanation(reason(Code.consent_not_required), title=offer.title, channel=channel),
        data_used=tuple(sorted(used)),
        retry_after=None,
    )


def _excluded(offer: Offer, lens: Lens, used: set[tuple[str, str]]) -> Ranked | None:
    """The candidate dropped because it serves a purpose of its own that the customer's accepted terms
    do not allow; None otherwise (and always, for a customer without terms)."""
    terms = lens.snapshot.terms
    if not terms or offer.purpose is None or offer.purpose == lens.purpose:
        return None
    why = terms_refusal(terms, offer.purpose, offer=True)
    if why is None:
        return None
    used.add((f"terms.{why.params['agreement']}", DECLARED))
    return _new(Ranked, (offer.id, False, 0.0, (why,)))


def _as_ranked(verdict: Ranked | Judged) -> Ranked:
    assert isinstance(verdict, Ranked), "a service message is judged on channels alone"
    return verdict


def _deny(
    reasons: list[Reason],
    ranking: tuple[Ranked, ...],
    used: set[tuple[str, str]],
    retry: datetime | None,
    zone: ZoneInfo,
) -> Decision:
    explained = Explanation(reasons[0])
    if retry is not None:
        next_day = any(r.code == Code.context_no_moment_today for r in reasons)
        explained = Explanation(
            reasons[0], retry=retry.astimezone(zone).isoformat(), zone=zone.key, next_day=next_day
        )
    return Decision(
        allowed=False,
        channel=None,
        offer=None,
        ranking=ranking,
        reasons=tuple(reasons),
        explained=explained,
        data_used=tuple(sorted(used)),
        retry_after=retry,
    )
