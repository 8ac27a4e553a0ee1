"""The client's calls about customers: registering them, what you may see of them, what you observed or
inferred (only the customer declares), and what happened."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from harken.client.wire import (
    DOCUMENT,
    UNSET,
    ChannelName,
    EventTypeName,
    OrgProvenanceName,
    Unset,
    Wire,
    given,
    segment,
)
from harken.consent.schemas import Channel
from harken.context.schemas import Datum, EventRead, EventType, Provenance, SubjectView
from harken.subjects.schemas import SessionRead, SubjectListed, SubjectPage, SubjectRead

_DATA = TypeAdapter(list[Datum])


class Erasure(BaseModel):
    """What an erasure erased: `scope` "this-business" (yours; the person's data elsewhere is theirs to
    erase) and the businesses whose records of them were erased."""

    scope: Literal["this-business", "everywhere"]
    businesses: list[str]


class CustomerCalls(Wire):
    # ---- customers ---------------------------------------------------------------------------

    def register(self, ref: str, email: str | None = None) -> SubjectRead:
        """Register a customer under your own ref (`created` is False if it already was). The email,
        if they gave it, links them to the same person at other businesses (kept only as a digest)."""
        body = {"email": email} if email is not None else None
        return self._model(SubjectRead, "PUT", f"/v1/subjects/{segment(ref)}", body)

    def customer(self, ref: str) -> SubjectView:
        """What you may see of your customer: their consents and the data your purposes need."""
        return self._model(SubjectView, "GET", f"/v1/subjects/{segment(ref)}")

    def customers(self, *, page_size: int = 100) -> Iterator[SubjectListed]:
        """Every customer you registered, in ref order: when, when they last changed through you, and
        whether they were erased (then nothing more); pages of `page_size` are fetched as the iteration
        reaches them."""
        return self._pages(SubjectPage, "/v1/subjects", {"limit": page_size})

    def erase(self, ref: str) -> Erasure:
        """Your customer asked you to erase them: everything you hold of them is erased, for good (their
        ref answers 410 from now on, and you are told with `subject.erased`). What they keep with other
        businesses is theirs to erase. Erasing them again changes nothing."""
        return self._model(Erasure, "DELETE", f"/v1/subjects/{segment(ref)}")

    def customer_token(self, ref: str, ttl_seconds: int = 900) -> SessionRead:
        """A short-lived customer token (`hc_...`, 60 to 3600 s) for your app to embed their own controls."""
        path = f"/v1/subjects/{segment(ref)}/sessions"
        return self._model(SessionRead, "POST", path, {"ttl_seconds": ttl_seconds})

    def export(self, ref: str) -> dict[str, Any]:
        """Everything you hold about the customer or they share with you, with signed receipts: the
        document to hand them when they ask for their data."""
        return DOCUMENT.validate_json(self._send("GET", f"/v1/subjects/{segment(ref)}/export").content)

    # ---- context, preferences and events (observed or inferred: only the customer declares) -------

    def put_context(
        self,
        ref: str,
        *,
        provenance: Provenance | OrgProvenanceName,
        persona: str | None = None,
        intent: str | None = None,
        situation: str | None = None,
        topics: Sequence[str] = (),
        do_not_disturb_until: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> list[Datum]:
        """The customer's context right now, as you observed or inferred it (replaces your previous
        one; expires at `valid_until`, by default in 4 hours). `intent`: browsing, buying,
        researching, in-a-rush, need-help; `situation`: home, work, commuting, travelling, out."""
        body = given(
            {
                "provenance": provenance,
                "persona": persona,
                "intent": intent,
                "situation": situation,
                "topics": list(topics),
                "do_not_disturb_until": do_not_disturb_until,
                "valid_until": valid_until,
            }
        )
        return _DATA.validate_json(self._send("PUT", f"/v1/subjects/{segment(ref)}/context", body).content)

    def patch_preferences(
        self,
        ref: str,
        *,
        provenance: Provenance | OrgProvenanceName,
        interests: Mapping[str, float | None] | Unset = UNSET,
        channels: Mapping[Channel | ChannelName, Mapping[str, Any] | None] | Unset = UNSET,
        quiet_hours: Mapping[str, str] | Unset | None = UNSET,
        time_zone: str | Unset | None = UNSET,
        locale: str | Unset | None = UNSET,
        country: str | Unset | None = UNSET,
        life_events: Mapping[str, Mapping[str, Any] | None] | Unset = UNSET,
        novelty: float | Unset | None = UNSET,
    ) -> list[Datum]:
        """Change preferences you observed or inferred: an argument given sets the value, None removes
        it, one left out stays. Maps change per entry the same way: interests={"golf": 0.4,
        "tennis": None}; channels={"sms": {"allowed": False}}; quiet_hours={"start": "22:00",
        "end": "07:00"}; life_events={"moving": {"label": ..., "topics": [...], "until": ...}}."""
        body = given(
            {
                "provenance": provenance,
                "interests": interests,
                "channels": channels,
                "life_events": life_events,
            }
        )
        for name, value in (
            ("quiet_hours", quiet_hours),
            ("time_zone", time_zone),
            ("locale", locale),
            ("country", country),
            ("novelty", novelty),
        ):
            if value is not UNSET:
                body[name] = value  # None included: it removes the preference
        path = f"/v1/subjects/{segment(ref)}/preferences"
        return _DATA.validate_json(self._send("PATCH", path, body).content)

    def event(
        self,
        ref: str,
        type: EventType | EventTypeName,
        *,
        item: str | None = None,
        topics: Sequence[str] = (),
        gift: bool = False,
        offer_id: str | None = None,
        occurred_at: datetime | None = None,
        decision_id: uuid.UUID | str | None = None,
    ) -> EventRead:
        """A purchase, or an offer shown, accepted or dismissed. A gift never counts as the buyer's
        interest. An offer event may name the decision it answers (yours, about this customer, that
        chose this offer): accepted or dismissed, it is then that decision's reward for your model."""
        body = given(
            {
                "type": type,
                "item": item,
                "topics": list(topics),
                "gift": gift,
                "offer_id": offer_id,
                "occurred_at": occurred_at,
                "decision_id": decision_id,
            }
        )
        return self._model(EventRead, "POST", f"/v1/subjects/{segment(ref)}/events", body)
