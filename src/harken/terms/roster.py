"""The roster of MyTerms agreements (IEEE 7012-2025): the standard-form terms a person proffers to a
business, each with a stable id, a version, a title, a short plain-language text and machine-readable
terms that the decision engine reads as hard gates.

Source. Customer Commons keeps the public roster of first-party terms
(https://customercommons.org/solutions/tools/terms/, read 2026-12-05). That page names one candidate,
P2B1 (beta), "#NoStalking": don't track me off your site, don't let others track me, show me ads not
based on tracking me. We could not confirm a published list of MyTerms launch agreements with ids, so
this roster ships the five the issue names (service delivery only, service delivery with data
protection, no AI training, goods and services only, intent instead of tracking — the last is our
reading of #NoStalking). The ids (`SD-BASE`, …) are ours, pending the roster's own; the texts are ours
too, short summaries, not Customer Commons' wording. Bump an agreement's version when its meaning
changes: records keep the version and the text's digest they were agreed at.

The machine vocabulary is closed (`Machine`): what the hub enforces is named here and nowhere else.
- `purposes`: the purposes (consent.purposes keys) the business may contact or use data for; None: any.
- `personalisation`: may offers be chosen for the person (`personalised-offers`).
- `partner_sharing`: may data go to other parties (`partner-sharing`).
- `tracking`: may the business measure or follow the person beyond the service (`analytics`).
- `ai_training`: may the person's data (their decisions included) train the business's models.
- `retention`: `service` (kept only while the service needs it) or `default` — stated, not enforced
  by the hub (it holds no retention clock of its own); part of the signed record.

Pure data: no database, no web, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harken.consent.purposes import CATALOGUE

ROSTER_SOURCE = "https://customercommons.org/solutions/tools/terms/"
ROSTER_READ = "2026-12-05"


@dataclass(frozen=True)
class Machine:
    """What an agreement allows, in the closed vocabulary the gates read."""

    purposes: frozenset[str] | None = None
    personalisation: bool = True
    partner_sharing: bool = True
    tracking: bool = True
    ai_training: bool = True
    retention: str = "default"

    def allowed(self) -> frozenset[str]:
        """The purposes a decision under this agreement may serve."""
        found = set(CATALOGUE) if self.purposes is None else set(self.purposes)
        if not self.personalisation:
            found.discard("personalised-offers")
        if not self.partner_sharing:
            found.discard("partner-sharing")
        if not self.tracking:
            found.discard("analytics")
        return frozenset(found)

    def as_json(self) -> dict[str, Any]:
        return {
            "purposes": sorted(self.purposes) if self.purposes is not None else None,
            "personalisation": self.personalisation,
            "partner_sharing": self.partner_sharing,
            "tracking": self.tracking,
            "ai_training": self.ai_training,
            "retention": self.retention,
        }


@dataclass(frozen=True)
class Agreement:
    id: str
    version: int
    title: str
    text: str
    terms: Machine

    @property
    def text_sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "text": self.text,
            "text_sha256": self.text_sha256,
            "terms": self.terms.as_json(),
        }


_SERVICE = frozenset({"service"})

AGREEMENTS: Mapping[str, Agreement] = {
    a.id: a
    for a in (
        Agreement(
            "SD-BASE",
            1,
            "Service delivery only",
            "Use what I give you only to deliver what I asked for. No marketing, no personalised offers, "
            "no sharing with others, no tracking, no training of AI on my data.",
            Machine(
                _SERVICE, personalisation=False, partner_sharing=False, tracking=False, ai_training=False
            ),
        ),
        Agreement(
            "SD-DP",
            1,
            "Service delivery with data protection",
            "Service delivery only, and keep my data no longer than the service needs it: no marketing, "
            "no personalised offers, no sharing, no tracking, no AI training.",
            Machine(
                _SERVICE,
                personalisation=False,
                partner_sharing=False,
                tracking=False,
                ai_training=False,
                retention="service",
            ),
        ),
        Agreement(
            "NO-AI",
            1,
            "No AI training",
            "Do not use my data, or what I do with you, to train AI models. Everything else stays as we "
            "agreed before.",
            Machine(ai_training=False),
        ),
        Agreement(
            "GS-ONLY",
            1,
            "Goods and services only",
            "You may tell me about your own goods and services, the same for everyone. No offers chosen "
            "for me from my data, no sharing with others, no tracking.",
            Machine(
                frozenset({"service", "marketing"}),
                personalisation=False,
                partner_sharing=False,
                tracking=False,
            ),
        ),
        Agreement(
            "INTENT",
            1,
            "Intent instead of tracking",
            "Don't track me, and don't let others track me. Go by what I tell you I want, not by what "
            "you watch me do (after Customer Commons' #NoStalking).",
            Machine(partner_sharing=False, tracking=False),
        ),
    )
}


def find(agreement_id: str) -> Agreement | None:
    return AGREEMENTS.get(agreement_id)


def document() -> dict[str, Any]:
    """The roster as `GET /.well-known/myterms` serves it."""
    return {
        "standard": "IEEE 7012-2025 (MyTerms)",
        "source": ROSTER_SOURCE,
        "read": ROSTER_READ,
        "note": "ids are this hub's own, pending the Customer Commons roster's",
        "agreements": [a.as_json() for a in AGREEMENTS.values()],
    }
