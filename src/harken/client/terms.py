"""The client's calls about MyTerms (IEEE 7012-2025, docs/myterms.md): the terms your customers proffered
to you and your answers to them, the signed record of each (checked offline with `verify_terms_record`),
and which agreements of the roster you say you accept."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from harken.client.wire import Wire, segment
from harken.jws import keys_from_jwks
from harken.terms.record import RecordProblem, verify
from harken.terms.schemas import OrgTerms, ProfferPage, SignedRecord

__all__ = ["ProfferStateName", "RecordProblem", "TermsCalls", "verify_terms_record"]

ProfferStateName = Literal["proffered", "accepted", "alternative", "declined", "withdrawn"]


def verify_terms_record(
    saved: SignedRecord | Mapping[str, Any] | str, jwks: Mapping[str, Any]
) -> dict[str, Any]:
    """The agreement record, once the hub's signature checks out against `jwks` (the hub's public keys,
    `Harken.jwks()`, kept wherever you like): offline, as the hub itself verifies it. `saved` is what
    `terms_record` or an answer returned, its JSON, or the bare JWS. Raises RecordProblem when the record
    is not what the hub signed or disagrees with the ledger entry it carries."""
    if isinstance(saved, SignedRecord):
        saved = {"record": saved.record, "jws": saved.jws}
    return verify(saved, keys_from_jwks(jwks))


class TermsCalls(Wire):
    # ---- what your customers proffered, and your answers ---------------------------------------

    def terms_proffers(self, state: ProfferStateName | None = None) -> ProfferPage:
        """The terms your customers proffered to you (only those in `state`, if given), newest first,
        each under your own ref for the customer and with your answer so far."""
        params = {"state": state} if state is not None else None
        return self._model(ProfferPage, "GET", "/v1/terms/proffers", params=params)

    def terms_record(self, proffer_id: uuid.UUID | str) -> SignedRecord:
        """The agreement record of a proffer, signed by the hub: the same document your customer
        fetches. Another business's proffer is a 404 HarkenError, as one that does not exist."""
        return self._model(SignedRecord, "GET", f"/v1/terms/proffers/{segment(proffer_id)}")

    def accept_terms(self, proffer_id: uuid.UUID | str) -> SignedRecord:
        """Accept the customer's terms: they bind your decisions about them from the next one. Your
        key is your side of the record. A proffer already accepted or withdrawn is a 409 HarkenError."""
        return self._model(SignedRecord, "POST", f"/v1/terms/proffers/{segment(proffer_id)}/accept")

    def offer_terms_alternative(self, proffer_id: uuid.UUID | str, agreement: str) -> SignedRecord:
        """Offer one other agreement of the roster instead; if the customer proffers it to you, it is
        agreed at once on this answer. The agreement proffered, or one not on the roster, is a 422."""
        path = f"/v1/terms/proffers/{segment(proffer_id)}/alternative"
        return self._model(SignedRecord, "POST", path, {"agreement": agreement})

    def decline_terms(self, proffer_id: uuid.UUID | str) -> SignedRecord:
        """Decline the customer's terms: they see it, and may not share with you under them."""
        return self._model(SignedRecord, "POST", f"/v1/terms/proffers/{segment(proffer_id)}/decline")

    # ---- which agreements you accept ------------------------------------------------------------

    def accepted_terms(self) -> OrgTerms:
        """The agreements of the roster you say you accept (public at /.well-known/myterms/{org id})."""
        return self._model(OrgTerms, "GET", "/v1/terms/accepted")

    def publish_terms(self, agreements: Sequence[str]) -> OrgTerms:
        """Say which agreements of the roster you accept: the whole list, the others are taken back."""
        return self._model(OrgTerms, "PUT", "/v1/terms/accepted", {"agreements": list(agreements)})

    verify_terms_record = staticmethod(verify_terms_record)  # offline: needs only the hub's keys
