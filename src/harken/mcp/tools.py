"""The tools: one per `/v1/me` route, each an HTTP call to the hub with the caller's own bearer.

Nothing here decides who may do what. The hub answers every call as it answers the person's own app, so
a token that may not change preferences gets the hub's 403 back as the tool's error, and a revoked one
its 401. The request bodies are the API's own models: the tool's input schema is the route's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import AwareDatetime

from harken.consent.purposes import PurposeKey
from harken.consent.schemas import Channel
from harken.context.schemas import Intent, Key, Label, PreferencesPatch, Situation, Topics
from harken.shares.schemas import SharePost

Connect = Callable[[Context], httpx.AsyncClient]
"""An HTTP client to the hub speaking with the bearer of this tool call (stdio: the configured token;
streamable HTTP: the request's own `Authorization`)."""

INSTRUCTIONS = (
    "Harken holds what this person told the businesses they deal with: context, personas, interests, "
    "channel limits, shares and the terms they proffer. Every tool acts for the person, with their own "
    "token, and changes only what its description says. With the verified person's token a change "
    "reaches every business they linked; with a token a business's app gave them, that business only."
)


async def call(connect: Connect, ctx: Context, method: str, path: str, **kwargs: Any) -> Any:
    """One `/v1/me` call; its JSON (None when empty). A refusal becomes the tool's error, with the
    problem's status, title and detail (and the fields it names), so the assistant can say why."""
    async with connect(ctx) as client:
        response = await client.request(method, path, **kwargs)
    if response.status_code >= 400:
        raise ToolError(_refusal(response))
    return response.json() if response.content else None


def _refusal(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return f"{response.status_code}: {response.text[:300]}"
    # The detail names the refused fields (harken.problems), so it is all the assistant needs.
    return f"{response.status_code} {problem.get('title', '')}: {problem.get('detail') or ''}".rstrip(": ")


def server(connect: Connect) -> MCPServer:
    """An MCP server whose tools reach the hub through `connect`."""
    mcp = MCPServer(
        name="harken",
        title="Harken: your preferences, for your assistant",
        instructions=INSTRUCTIONS,
        log_level="WARNING",  # not a line per tool call in the host's log
    )
    powers = Powers(connect)
    for tool in (
        powers.what_businesses_know,
        powers.what_businesses_asked,
        powers.list_businesses,
        powers.set_context,
        powers.clear_context,
        powers.save_persona,
        powers.remove_persona,
        powers.change_preferences,
        powers.pause_topics,
        powers.decide_consent,
        powers.share_profile_with,
        powers.make_share,
        powers.list_shares,
        powers.revoke_share,
        powers.my_terms,
        powers.proffer_terms,
        powers.terms_record,
        powers.withdraw_terms,
    ):
        mcp.add_tool(tool)
    return mcp


class Powers:
    """The tools. Each docstring is the tool's description: what it changes, and for whom. "Every
    business I linked" is the verified person's reach; a business app's token (`hc_…`) reaches that
    business only, as the INSTRUCTIONS tell the assistant."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect

    async def _call(self, ctx: Context, method: str, path: str, **kwargs: Any) -> Any:
        return await call(self.connect, ctx, method, path, **kwargs)

    # ---- reading -----------------------------------------------------------------------------------

    async def what_businesses_know(self, ctx: Context) -> dict[str, Any]:
        """What the businesses know about me (GET /v1/me): every datum with who said it (provenance)
        and through which business, and my consents at each business. Changes nothing."""
        known: dict[str, Any] = await self._call(ctx, "GET", "/v1/me")
        return known

    async def what_businesses_asked(self, ctx: Context, limit: int = 50) -> dict[str, Any]:
        """Who asked about me, when, for what purpose and channel, what they were told and why (reason
        codes and a sentence), and who read what I shared; newest first (GET /v1/me/access-log).
        Changes nothing."""
        entries = await self._call(ctx, "GET", "/v1/me/access-log", params={"limit": limit})
        return {"entries": entries}

    async def list_businesses(self, ctx: Context) -> dict[str, Any]:
        """The businesses on this hub, with the ids the other tools take (GET /v1/me/directory).
        Changes nothing."""
        return {"businesses": await self._call(ctx, "GET", "/v1/me/directory")}

    # ---- context and preferences -------------------------------------------------------------------

    async def set_context(
        self,
        ctx: Context,
        situation: Situation | None = None,
        intent: Intent | None = None,
        topics: Topics | None = None,
        persona: Key | None = None,
        do_not_disturb_until: AwareDatetime | None = None,
        valid_until: AwareDatetime | None = None,
    ) -> dict[str, Any]:
        """Tell every business I linked what matters to me right now ("travelling until Friday,
        researching hotels in Lisbon"), replacing my current context (PUT /v1/me/context). `persona`
        switches who I am being (a key saved with save_persona); `do_not_disturb_until` stops every
        business contacting me until then; the context ends by itself at `valid_until` (default: in 4
        hours, at most 30 days). Businesses see it as declared by me from their next decision on."""
        body = {
            "situation": situation,
            "intent": intent,
            "topics": topics or [],
            "persona": persona,
            "do_not_disturb_until": _iso(do_not_disturb_until),
            "valid_until": _iso(valid_until),
        }
        written = await self._call(
            ctx, "PUT", "/v1/me/context", json={k: v for k, v in body.items() if v is not None}
        )
        return {"changed": written}

    async def clear_context(self, ctx: Context) -> dict[str, Any]:
        """Clear my current context (and its do-not-disturb) for every business I linked
        (DELETE /v1/me/context)."""
        await self._call(ctx, "DELETE", "/v1/me/context")
        return {"changed": [{"field": "context", "value": None}]}

    async def save_persona(
        self, ctx: Context, key: Key, label: Label, interests: Topics | None = None
    ) -> dict[str, Any]:
        """Save one of who I am (parent, runner, employee) with its own interests, for every business
        I linked (PUT /v1/me/personas/{key}). Switch to it with set_context(persona=key)."""
        body = {"label": label, "interests": interests or []}
        return {"changed": await self._call(ctx, "PUT", f"/v1/me/personas/{key}", json=body)}

    async def remove_persona(self, ctx: Context, key: Key) -> dict[str, Any]:
        """Remove one of my personas everywhere (DELETE /v1/me/personas/{key})."""
        await self._call(ctx, "DELETE", f"/v1/me/personas/{key}")
        return {"changed": [{"field": f"persona:{key}", "value": None}]}

    async def change_preferences(self, ctx: Context, changes: PreferencesPatch) -> dict[str, Any]:
        """Change my preferences for every business I linked (PATCH /v1/me/preferences): interests
        (topic → -1 never … +1 love), channels (allowed, max_per_week: my channel limits), quiet hours,
        time zone, locale, country, life events, "surprise me" (novelty) and which channels suit which
        situation. A field given sets it, null removes it, a field left out stays as it is."""
        body = changes.model_dump(mode="json", exclude_unset=True)
        return {"changed": await self._call(ctx, "PATCH", "/v1/me/preferences", json=body)}

    async def pause_topics(
        self, ctx: Context, key: Key, label: Label, topics: Topics, until: AwareDatetime
    ) -> dict[str, Any]:
        """Pause topics for a life event ("a bereavement: no baby products until June"): no business I
        linked may offer me these topics until `until` (PATCH /v1/me/preferences, life_events). Remove
        it early with change_preferences({"life_events": {key: null}})."""
        event = {"label": label, "topics": topics, "until": until.isoformat()}
        written = await self._call(ctx, "PATCH", "/v1/me/preferences", json={"life_events": {key: event}})
        return {"changed": written}

    # ---- what I consent to --------------------------------------------------------------------------

    async def decide_consent(
        self,
        ctx: Context,
        business: uuid.UUID,
        purpose: PurposeKey,
        status: Literal["granted", "withdrawn"],
        channels: list[Channel] | None = None,
    ) -> dict[str, Any]:
        """Grant or withdraw one purpose (marketing, personalised-offers…) at one business I linked, on
        the channels I name (PUT /v1/me/consents/{business}/{purpose}). That business alone is told; its
        next decision about me sees it, and its ledger keeps the record and its receipt."""
        body = {"status": status, "channels": channels or []}
        decided = await self._call(ctx, "PUT", f"/v1/me/consents/{business}/{purpose}", json=body)
        return {"changed": decided}  # with its signed receipt

    # ---- what I share ------------------------------------------------------------------------------

    async def share_profile_with(
        self, ctx: Context, business: uuid.UUID, profile: bool, purchases: bool = False
    ) -> dict[str, Any]:
        """Let one business I linked see what I declared elsewhere (`profile`) and, if I choose, the
        purchases other businesses recorded (`purchases`); false stops it (PUT /v1/me/sharing/{id}).
        Verified person only."""
        body = {"profile": profile, "purchases": purchases}
        shared = await self._call(ctx, "PUT", f"/v1/me/sharing/{business}", json=body)
        return {"business": str(business), "changed": shared}

    async def make_share(self, ctx: Context, share: SharePost) -> dict[str, Any]:
        """Tell several businesses at once, each only the fields it needs for one purpose, until
        `expires_at` (at most 30 days) (POST /v1/me/shares). Each business is notified and reads only
        its fields. Verified person only."""
        return {"share": await self._call(ctx, "POST", "/v1/me/shares", json=share.model_dump(mode="json"))}

    async def list_shares(self, ctx: Context) -> dict[str, Any]:
        """My shares, newest first, with who may still read them and how often they did
        (GET /v1/me/shares). Changes nothing."""
        return {"shares": await self._call(ctx, "GET", "/v1/me/shares")}

    async def revoke_share(
        self, ctx: Context, share: uuid.UUID, business: uuid.UUID | None = None
    ) -> dict[str, Any]:
        """Take a share back: from every business, or from one (`business`); from their next read on
        they no longer see it (DELETE /v1/me/shares/{id}[/orgs/{business}])."""
        path = f"/v1/me/shares/{share}" + (f"/orgs/{business}" if business else "")
        await self._call(ctx, "DELETE", path)
        return {"revoked": str(share), "from": str(business) if business else "every business"}

    # ---- my terms (IEEE 7012 MyTerms) -------------------------------------------------------------

    async def my_terms(self, ctx: Context) -> dict[str, Any]:
        """The roster of standard agreements I may proffer, and every agreement I proffered with each
        business's answer (GET /v1/me/terms). Changes nothing."""
        terms: dict[str, Any] = await self._call(ctx, "GET", "/v1/me/terms")
        return terms

    async def proffer_terms(
        self, ctx: Context, agreement: str, businesses: list[uuid.UUID] | None = None
    ) -> dict[str, Any]:
        """Proffer an agreement of the roster (e.g. SD-BASE, "service delivery only") to every business
        I linked, or to some (`businesses`) (POST /v1/me/terms). Each business accepts, offers one
        alternative or declines; accepted terms bind its decisions at once. Verified person only."""
        body: dict[str, Any] = {"agreement": agreement}
        if businesses is not None:
            body["orgs"] = [str(b) for b in businesses]
        return {"proffers": await self._call(ctx, "POST", "/v1/me/terms", json=body)}

    async def terms_record(self, ctx: Context, proffer: uuid.UUID) -> dict[str, Any]:
        """My copy of one agreement record, signed by the hub: the same record the business fetches
        (GET /v1/me/terms/{id}). Changes nothing."""
        record: dict[str, Any] = await self._call(ctx, "GET", f"/v1/me/terms/{proffer}")
        return record

    async def withdraw_terms(self, ctx: Context, proffer: uuid.UUID) -> dict[str, Any]:
        """Withdraw a proffer, answered or not: accepted terms stop binding that business from its next
        decision; the record stays, marked withdrawn (DELETE /v1/me/terms/{id})."""
        await self._call(ctx, "DELETE", f"/v1/me/terms/{proffer}")
        return {"withdrawn": str(proffer)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
