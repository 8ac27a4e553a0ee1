"""Wiring: the FastAPI application over the hub's parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware import Middleware

import harken
from harken import fastpath, idempotency, problems, schema
from harken.centre import mail
from harken.centre import web as centre_web
from harken.centre.api import router as export_router
from harken.centre.mail import Mailer
from harken.clock import Clock, system_clock
from harken.config import Settings
from harken.consent.api import fast_consents
from harken.consent.api import router as consent_router
from harken.console import web as console_web
from harken.context.api import router as context_router
from harken.credentials.api import router as credentials_router
from harken.db import create_db_engine, make_session_factory
from harken.decisions.api import fast_decisions
from harken.decisions.api import router as decisions_router
from harken.decisions.memory import Memory
from harken.deps import Authenticate, Hub
from harken.edge import limits
from harken.edge.counters import open_counters
from harken.edge.headers import SecurityHeaders
from harken.edge.size import BodySizeLimit
from harken.grants.api import router as grants_router
from harken.ledger import keys as ledger_keys
from harken.ledger.api import router as ledger_router
from harken.mcp import http as mcp_http
from harken.observe import logs
from harken.observe.api import router as observe_router
from harken.observe.middleware import Instruments
from harken.orgs.api import router as keys_router
from harken.profiling.api import router as profiling_router
from harken.shares.api import router as shares_router
from harken.subjects import tokens, vault
from harken.subjects.api import router as subjects_router
from harken.terms.api import router as terms_router
from harken.webhooks.api import router as webhooks_router
from harken.writer import GroupWriter


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    sessions: sessionmaker[Session] | None = None,
    clock: Clock = system_clock,
    mailer: Mailer | None = None,
) -> FastAPI:
    """The hub's HTTP application. Refuses to build on a database that is not at this Harken's schema."""
    settings = settings or Settings()
    engine = engine or create_db_engine(settings.database_url)
    schema.check(engine)
    sessions = sessions or make_session_factory(engine)
    memory = Memory(settings.decision_memory)
    secret = tokens.load_or_create_secret(settings.data_dir / "secret")
    hub = Hub(
        settings=settings,
        sessions=sessions,
        keys=ledger_keys.load_or_create(settings.keys_dir),
        secret=secret,
        clock=clock,
        mailer=mailer or mail.from_setting(settings.mailer),
        # SQLite takes one writer at a time: every unit goes through one thread, committed in groups.
        # PostgreSQL runs units on several threads at once and already flushes the WAL of concurrent
        # commits together; one writer thread there measured slower (docs/benchmarks.md).
        writer=GroupWriter(sessions, prepare=partial(vault.bind, secret=secret), lost=memory.clear)
        if engine.dialect.name == "sqlite"
        else None,
        memory=memory,
    )
    counters = open_counters(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await counters.open()  # on the loop that serves this process's requests
        try:
            async with assistant.running():
                yield
        finally:
            await counters.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Harken",
        version=harken.__version__,
        summary="Zero-party context, preference and consent hub: ask, don't guess.",
        description="Every refusal is an RFC 9457 problem (`application/problem+json`). Besides each "
        "operation's own: 405 with `Allow` for a method a path does not take; 413 for a body larger than "
        "the hub accepts; under /v1, 429 past a rate limit, with `Retry-After`. Every /v1 answer carries "
        "the `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers).",
        # Outermost first. The headers go on every answer, refusals below included; nothing reads a
        # body before the size limit; nothing does work for a caller past a rate limit.
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(limits.RateLimits, hub=hub, counters=counters),
            # Authentication before anything reads or validates the body (401 before 422), and outside
            # idempotency: a replay needs a live credential.
            Middleware(Authenticate, hub=hub),
            Middleware(idempotency.IdempotencyMiddleware, hub=hub),
        ],
    )
    instrument(app, settings)
    app.state.hub = hub
    idempotency.document(app)
    limits.document(app)
    problems.document(app)
    problems.install(app)
    centre_web.install(app)
    console_web.install(app)
    for router in (
        subjects_router,
        consent_router,
        context_router,
        decisions_router,
        profiling_router,
        ledger_router,
        webhooks_router,
        shares_router,
        credentials_router,
        export_router,
        keys_router,
        observe_router,
        terms_router,
        grants_router,
    ):
        app.include_router(router)
    # Decisions and consent writes skip FastAPI's per-request machinery when they can, and fall back
    # to its route (fastpath).
    fastpath.install(app, decisions_router, "/v1/decisions", "POST", fast_decisions)
    fastpath.install(app, consent_router, "/v1/subjects/{ref}/consents/{purpose}", "PUT", fast_consents)

    # The person's powers as MCP tools (streamable HTTP), calling this app's own /v1/me routes.
    assistant = mcp_http.Endpoint(hub, app)
    app.router.routes.append(assistant.route())

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness, touching nothing: also the framework floor in benchmarks."""
        return {"status": "ok"}

    return app


def instrument(app: FastAPI, settings: Settings) -> None:
    """Outermost of all, outside even Starlette's ServerErrorMiddleware: every answer is counted, logged
    and given its X-Request-ID, refusals and the 500 of an unhandled error included."""
    build = app.build_middleware_stack
    log = logs.logger(settings)
    app.build_middleware_stack = lambda: Instruments(build(), router=app.router, log=log)  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and `harken serve`: settings from the environment."""
    return create_app(Settings())
