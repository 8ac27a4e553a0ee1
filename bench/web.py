"""The web layer's fixed cost: `python -m bench.web` (issue 14).

One real uvicorn server (`app` below: the hub's app, plus `POST /v1/bench/fastapi/decisions`, the
decisions route function itself mounted through FastAPI's machinery, as every request took it before the
fast path), on a fresh SQLite hub with one org and one customer who granted marketing by email and sms.
wrk drives, in one run and one after the other:

- `GET /healthz` — the framework floor (FastAPI, no auth, no data);
- `POST /v1/bench/fastapi/decisions` — 20 candidates through FastAPI and pydantic;
- `POST /v1/decisions` — the same body on the fast path (`harken.fastpath`: a plain Starlette route,
  the same pydantic models, validated from and serialised to JSON by pydantic-core directly);
- `POST /v1/bench/msgspec/decisions` — the fast path with msgspec structs instead (`bench.web_msgspec`),
  decoded and encoded by msgspec: is a second schema worth it?

Every decision route authenticates, open a transaction, run the engine, log the decision and commit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from bench import cpu, web_msgspec
from bench.server import HOST, environment, free_port, run_cli
from bench.stores import BenchDatabase
from harken import fastpath
from harken.app import app_from_env
from harken.centre.i18n import accepted
from harken.decisions import api as decisions_api
from harken.decisions import service as decision_service
from harken.decisions.reasons import language
from harken.decisions.schemas import DecisionPost, DecisionRead
from harken.orgs.api import OrgCall
from harken.orgs.models import Org

FASTAPI_DECISIONS = "/v1/bench/fastapi/decisions"
MSGSPEC_DECISIONS = "/v1/bench/msgspec/decisions"
CANDIDATES = 20


def app() -> FastAPI:
    """The hub's app with the pre-fast-path decisions route beside it (uvicorn --factory)."""
    hub_app = app_from_env()

    # The decisions route itself, through FastAPI's machinery, as every request took it before.
    hub_app.add_api_route(
        FASTAPI_DECISIONS, decisions_api.post_decision, methods=["POST"], response_model=DecisionRead
    )

    async def msgspec_answer(scope: Scope, body: DecisionPost) -> tuple[int, bytes] | None:
        call = OrgCall.of(scope)
        assert call is not None
        hub, now = call.hub, call.hub.clock()
        said = language(accepted(Headers(scope=scope).get("accept-language")))

        def work(session: Session, org: Org) -> bytes:
            decided = decision_service.decide(
                session, org=org, body=body, notary=hub.notary, now=now, memory=hub.memory, clock=hub.clock
            )
            return web_msgspec.answer(decided, said)

        content = await call(work)
        return Response(content, media_type="application/json", headers={"Content-Language": said})

    twin = next(
        r for r in decisions_api.router.routes if isinstance(r, APIRoute) and r.path == "/v1/decisions"
    )
    fast = fastpath.FastRoute(twin, web_msgspec.decode, msgspec_answer)
    hub_app.router.routes.insert(0, Route(MSGSPEC_DECISIONS, fast, methods=["POST"]))
    return hub_app


def decision_body() -> bytes:
    topics = ("books", "travel", "running", "cooking", "music")
    candidates = [
        {"id": f"offer-{i}", "title": f"Offer {i}", "topics": [topics[i % 5], topics[(i + 2) % 5]]}
        for i in range(CANDIDATES)
    ]
    body = {
        "subject": "cust-1",
        "purpose": "marketing",
        "channels": ["email", "sms"],
        "candidates": candidates,
    }
    return json.dumps(body).encode()


def _call(port: int, method: str, path: str, key: str, body: bytes | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


def wrk(
    port: int, path: str, *, key: str, body: bytes | None, connections: int, seconds: int
) -> dict[str, float]:
    """wrk -t1 -cN --latency; req/s, p50 and p99 in ms, and non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        method = "POST" if body is not None else "GET"
        script.write(WRK_SCRIPT.format(method=method, key=key, body=(body or b"").decode()))
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name]
    out = subprocess.run([*args, f"http://{HOST}:{port}{path}"], capture_output=True, text=True, check=True)
    os.unlink(script.name)
    text = out.stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return {
        "rate": rate,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per run (10)")
    parser.add_argument("--connections", default="8,32", help="wrk connections to try (8,32)")
    parser.add_argument("--rounds", type=int, default=2, help="times each run is repeated, interleaved (2)")
    parser.add_argument(
        "--settle", type=float, default=30, help="before each run, wait up to S s for a quiet machine (30)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        env = environment(BenchDatabase("sqlite", f"sqlite:///{data}/harken.db"), data / "data")
        run_cli(["db", "upgrade"], env)
        key = run_cli(["org", "create", "bench"], env).strip().splitlines()[-1].strip()
        port = free_port()
        env["HARKEN_PUBLIC_URL"] = f"http://{HOST}:{port}"
        command = [sys.executable, "-m", "uvicorn", "bench.web:app", "--factory", "--host", HOST]
        command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(command, env=env, start_new_session=True, cwd=Path(__file__).parent.parent)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            assert _call(port, "PUT", "/v1/subjects/cust-1", key, b"{}")[0] in (200, 201)
            consent = json.dumps({"status": "granted", "channels": ["email", "sms"]}).encode()
            assert _call(port, "PUT", "/v1/subjects/cust-1/consents/marketing", key, consent)[0] in (200, 201)
            body = decision_body()
            answers = {
                path: _call(port, "POST", path, key, body)
                for path in (FASTAPI_DECISIONS, MSGSPEC_DECISIONS, "/v1/decisions")
            }
            for path, (status, answer) in answers.items():
                ranking = json.loads(answer).get("ranking", [])
                assert status == 200 and len(ranking) == CANDIDATES, (path, status, answer[:300])
            print(f"one answer: {answers['/v1/decisions'][1][:160].decode()}…")
            runs = [
                ("/healthz", None),
                (FASTAPI_DECISIONS, body),
                (MSGSPEC_DECISIONS, body),
                ("/v1/decisions", body),
            ]
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
            print(f"commit {commit.stdout.strip()}, wrk -t1 -d{args.seconds}s, 1 uvicorn worker, SQLite")
            print(
                f"{'route':<34} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU':>10} {'busy before':>12}"
            )
            print(f"{'':<34} {'':>3} {'':>9} {'':>8} {'':>8} {'ms/req':>10}")
            for _ in range(args.rounds):
                for connections in (int(c) for c in args.connections.split(",")):
                    for path, payload in runs:
                        busy = cpu.settle(args.settle, lambda _line: None) if args.settle else None
                        before = cpu.sample(server.pid)
                        figure = wrk(
                            port, path, key=key, body=payload, connections=connections, seconds=args.seconds
                        )
                        after = cpu.sample(server.pid)
                        served = figure["rate"] * args.seconds
                        jiffies = (after.server or 0) - (before.server or 0)
                        cpu_ms = jiffies / cpu.TICKS * 1000 / served if served else float("nan")
                        refused = f"  non-2xx {figure['non_2xx']:.0f}" if figure["non_2xx"] else ""
                        print(
                            f"{path:<34} {connections:>3} {figure['rate']:>9,.0f} {figure['p50_ms']:>8.2f} "
                            f"{figure['p99_ms']:>8.2f} {cpu_ms:>10.2f} {busy if busy is not None else float('nan'):>9.2f} cores"
                            + refused,
                            flush=True,
                        )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
