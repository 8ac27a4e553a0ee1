"""The client's calls about your catalogue: the notices you show when asking for a purpose, and your
offers; each listed a page at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from harken.client.wire import ChannelName, Wire, given, segment
from harken.consent.schemas import Channel, NoticePage, NoticeRead
from harken.decisions.schemas import OfferPage, OfferRead


class CatalogueCalls(Wire):
    # ---- notices ------------------------------------------------------------------------------

    def put_notice(self, purpose: str, text: str, locale: str = "en") -> NoticeRead:
        """Store the notice text shown for a purpose as its next version (the latest text again: no change)."""
        return self._model(
            NoticeRead, "PUT", f"/v1/notices/{segment(purpose)}", {"text": text, "locale": locale}
        )

    def notice(self, purpose: str, version: int | None = None) -> NoticeRead:
        """The latest notice for a purpose, or the given version."""
        params = {"version": version} if version is not None else None
        return self._model(NoticeRead, "GET", f"/v1/notices/{segment(purpose)}", params=params)

    def notices(self, purpose: str | None = None, *, page_size: int = 100) -> Iterator[NoticeRead]:
        """Every version of your notices (or of one purpose's), in (purpose, version) order; pages of
        `page_size` are fetched as the iteration reaches them."""
        return self._pages(NoticePage, "/v1/notices", {"purpose": purpose, "limit": page_size})

    # ---- offers -------------------------------------------------------------------------------

    def put_offer(
        self,
        offer_id: str,
        title: str,
        *,
        topics: Sequence[str] = (),
        personas: Sequence[str] = (),
        channels: Sequence[Channel | ChannelName] = (),
        purpose: str | None = None,
        sensitive: bool = False,
        item: str | None = None,
        situations: Sequence[str] = (),
        countries: Sequence[str] = (),
        locales: Sequence[str] = (),
        suppress_days: int = 30,
    ) -> OfferRead:
        """Create or replace an offer in your catalogue (an empty list means any)."""
        body = given(
            {
                "title": title,
                "topics": list(topics),
                "personas": list(personas),
                "channels": list(channels),
                "purpose": purpose,
                "sensitive": sensitive,
                "item": item,
                "situations": list(situations),
                "countries": list(countries),
                "locales": list(locales),
                "suppress_days": suppress_days,
            }
        )
        return self._model(OfferRead, "PUT", f"/v1/offers/{segment(offer_id)}", body)

    def offer(self, offer_id: str) -> OfferRead:
        return self._model(OfferRead, "GET", f"/v1/offers/{segment(offer_id)}")

    def offers(self, *, page_size: int = 100) -> Iterator[OfferRead]:
        """Every offer in your catalogue, in id order; pages of `page_size` are fetched as the iteration
        reaches them."""
        return self._pages(OfferPage, "/v1/offers", {"limit": page_size})
