"""What a scorer sees of a decision: what the customer declared and the moment (`shared`), and for each
action the offer's own features, the channel, and how the offer meets what the customer told this
business (`action`). Never a trait the hub guessed: no age, no income, no look-alike.

Feature names are namespaced strings with a value (`situation=commuting` 1.0, `like.declared` 0.8), as
`scoring.Features` says. The `match.*`, `like.*`, `dislike.*` and `surprise` features are the very inputs
of the rules (`rules.RulesScorer`), worked out by `ranking` with the same care for provenance: an offer
touching a sensitive subject sees declared data only; information the customer did not share with the
business never appears — save `dislike.withheld`, an unshared dislike, which can only lower a score (as
it always has: protection flows everywhere) and names no topic. The business's own signals are kept
apart by provenance (`like.observed`, `like.inferred`) so a learner may weigh, or leave out, each.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from harken.decisions.snapshot import DECLARED, Context, Offer

if TYPE_CHECKING:
    from harken.decisions.scoring import Features

CONTEXT = "match.context"  # the offer's topics meet those the customer said matter right now
PERSONA = "match.persona"  # the offer is for the persona the customer is being now
OTHER_PERSONA = "match.other_persona"  # … for another of their personas
PERSONA_INTERESTS = "match.persona_interests"  # … and touches that persona's declared interests
LIKED_DECLARED, DISLIKED_DECLARED = "like.declared", "dislike.declared"  # strongest on the offer's topics
LIKED_OBSERVED, DISLIKED_OBSERVED = "like.observed", "dislike.observed"
LIKED_INFERRED, DISLIKED_INFERRED = "like.inferred", "dislike.inferred"
DISLIKED_WITHHELD = "dislike.withheld"  # a dislike the customer did not share: lowers, never names
SURPRISE = "surprise"  # nothing known fits: the customer's own "surprise me" (0..1)
DEFAULT_UNFIT = "default.unfit"  # the hub's default table says this channel does not suit the situation
LIKES: dict[str, tuple[str | None, str]] = {
    DECLARED: (LIKED_DECLARED, DISLIKED_DECLARED),
    "observed": (LIKED_OBSERVED, DISLIKED_OBSERVED),
}
LIKES["inferred"] = (LIKED_INFERRED, DISLIKED_INFERRED)

# Where a day's parts begin, on the customer's clock (as gates.DAY_PARTS): the moment, as a feature.
_PARTS = ((22, "night"), (17, "evening"), (12, "afternoon"), (5, "morning"), (0, "night"))


def day_part(local: datetime) -> str:
    return next(name for start, name in _PARTS if local.hour >= start)


def shared(context: Context | None, local: datetime) -> dict[str, float]:
    """The moment (day part, weekday or weekend, on the customer's clock) and, when the customer
    declared it and shared it with the asking org, their context: situation, intent, persona and the
    topics that matter right now. A context an unshared declaration added to protects, never informs."""
    found = {f"daypart={day_part(local)}": 1.0, "weekend" if local.weekday() >= 5 else "weekday": 1.0}
    if context is not None and informs(context):
        if context.situation:
            found[f"situation={context.situation}"] = 1.0
        if context.intent:
            found[f"intent={context.intent}"] = 1.0
        if context.persona:
            found[f"persona={context.persona}"] = 1.0
        for topic in context.topics:
            found[f"context.topic={topic}"] = 1.0
    return found


def informs(context: Context | None) -> bool:
    """Whether the context is one a scorer may see: declared, and shared with the asking org."""
    return context is not None and context.provenance == DECLARED and context.shared


@lru_cache(maxsize=8192)
def offer_features(offer: Offer, purpose: str, sensitive: bool) -> dict[str, float]:
    """The offer's own features: who it is, what it is about, whom it is for, its purpose. Kept for
    the next decision that asks about the same offer (so never change the dict returned)."""
    found = {f"offer={offer.id}": 1.0, f"purpose={purpose}": 1.0}
    for topic in offer.topics:
        found[f"topic={topic}"] = 1.0
    for persona in offer.personas:
        found[f"for={persona}"] = 1.0
    if sensitive:
        found["sensitive"] = 1.0
    return found


def channel_feature(channel: str) -> str:
    """The channel as a feature, for a scorer that wants it among the others (`Action.channel`)."""
    return _CHANNELS.get(channel) or f"channel={channel}"


_CHANNELS = {c: f"channel={c}" for c in ("email", "sms", "push", "phone", "post", "in-app")}


def action(offer: Features, matches: Features) -> dict[str, float]:
    """The features of every action sending one offer: the offer's own, and how it meets what the
    customer declared (the channel is each action's own)."""
    return {**offer, **matches}


def unfit(features: Features) -> dict[str, float]:
    """The same, on a channel only the hub's default table closes for the customer's situation now."""
    return {**features, DEFAULT_UNFIT: 1.0}
