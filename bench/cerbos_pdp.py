"""Cerbos, a stateless decision point in Go, as the yardstick for Harken's decisions (issue 14).

Cerbos answers "may P do A to R?" from what the caller sends: it reads and writes nothing. Harken reads
the person's state and logs every answer; the issue's aim is that it still answers ≥ 2.5 times as many
decisions per second as Cerbos answers twenty-item checks, on the same machine, in the same run.

The binary comes from the npm registry (`@cerbos/cerbos-linux-x64`, pinned below) into a cache outside
the repository; the policy and config are ours, in bench/cerbos/. Each request checks 20 offers on two
channels (email, sms) for a random customer whose state travels in the request. Before the runs, a few
hand-written cases and a sample of the load's own requests are checked against `expected` (this file's
reading of the policy), so a policy that allowed or denied everything could not pass as fast.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import cpu as cpu_meter
from bench.loadgen import call, request
from bench.server import HOST, START_TIMEOUT_S, RunningServer, _stop, free_port
from bench.writes import WriteFigure, WriteLoad, _measure, _run

VERSION = "0.55.0"
PACKAGE = "@cerbos/cerbos-linux-x64"
BINARY_ENV = "HARKEN_BENCH_CERBOS"  # a cerbos binary to use instead of the cached download
POLICY_DIR = Path(__file__).parent / "cerbos"
CHECK_PATH = "/api/check/resources"
HEALTH_PATH = "/_cerbos/health"
CHANNELS = ("email", "sms")
TOPICS = ("books", "wine", "travel", "garden", "music", "sport", "kids", "fashion", "food", "tech")
OFFERS = 20
PLAN_SIZE = 200  # distinct requests per connection, each for a random customer
SAMPLE = 200  # requests of the load checked in full before the runs
SCENARIO = "checks (20)"
ALLOW, DENY = "EFFECT_ALLOW", "EFFECT_DENY"


@dataclass
class CerbosResults:
    version: str | None = None
    skipped: str | None = None  # why Cerbos was not measured
    http: list[WriteFigure] = field(default_factory=list)
    checked: int = 0  # answers compared with `expected`, resource by resource
    problems: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harken-bench" / "cerbos"


def _version(binary: Path) -> str | None:
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    first = done.stdout.strip().splitlines()[:1]
    return first[0] if done.returncode == 0 and first else None


def install() -> tuple[Path | None, str]:
    """The cerbos binary and its version, or None and why not. Downloads it once with `npm pack`."""
    if os.environ.get(BINARY_ENV):
        binary = Path(os.environ[BINARY_ENV])
        version = _version(binary)
        return (binary, version) if version else (None, f"${BINARY_ENV}={binary} does not run")
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None, f"{PACKAGE} is for Linux x86-64, not {platform.system()} {platform.machine()}"
    binary = cache_dir() / VERSION / "cerbos"
    version = _version(binary) if binary.exists() else None
    if version:
        return binary, version
    npm = shutil.which("npm")
    if not npm:
        return None, f"npm not found: cannot fetch {PACKAGE}@{VERSION}"
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as scratch:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", scratch, "--silent"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=scratch,
        )
        packed = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or not packed:
            return None, f"`npm pack {PACKAGE}@{VERSION}` failed: {done.stderr.strip()[-300:]}"
        with tarfile.open(packed[0]) as archive:
            member = archive.getmember("package/cerbos-linux-x64")
            source = archive.extractfile(member)
            if source is None:
                return None, f"{packed[0].name} holds no cerbos-linux-x64 file"
            with source, binary.open("wb") as target:
                shutil.copyfileobj(source, target)
    binary.chmod(0o755)
    version = _version(binary)
    return (binary, version) if version else (None, f"{binary} (from npm) does not run")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{HEALTH_PATH}", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def serve(binary: Path, log: Path) -> Iterator[RunningServer]:
    """`cerbos server` with our config and policies on a free loopback port; stopped after."""
    port, grpc = free_port(), free_port()
    args = [
        str(binary),
        "server",
        f"--config={POLICY_DIR / 'config.yaml'}",
        f"--set=storage.disk.directory={POLICY_DIR / 'policies'}",
        f"--set=server.httpListenAddr={HOST}:{port}",
        f"--set=server.grpcListenAddr={HOST}:{grpc}",
        "--log-level=error",
    ]
    env = {**os.environ, "CERBOS_NO_TELEMETRY": "1"}
    with log.open("w") as output:
        process = subprocess.Popen(
            args, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"cerbos server did not come up (exit {process.poll()}):\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield RunningServer(process.pid, HOST, port, 1, log)
    finally:
        _stop(process)


# ---- the customers, their offers, and what the policy says ---------------------------------------


def offers(seed: int = 14) -> list[dict[str, Any]]:
    """OFFERS offers of the marketing purpose, each about one to three topics."""
    rng = random.Random(seed)
    return [
        {"id": f"offer-{i:02d}", "purpose": "marketing", "topics": rng.sample(TOPICS, rng.randint(1, 3))}
        for i in range(OFFERS)
    ]


def customer(rng: random.Random, index: int) -> dict[str, Any]:
    """A principal whose state comes with the request: consents, do-not-disturb, dislikes, pauses, counts."""
    granted = [c for c in CHANNELS if rng.random() < (0.9 if c == "email" else 0.5)]
    return {
        "id": f"customer-{index}",
        "roles": ["customer"],
        "attr": {
            "consents": {"marketing": granted} if rng.random() < 0.9 else {},
            "do_not_disturb": rng.random() < 0.05,
            "dislikes": rng.sample(TOPICS, rng.randint(0, 2)),
            "paused_topics": rng.sample(TOPICS, 1) if rng.random() < 0.2 else [],
            "sent_this_week": {"email": rng.randint(0, 3), "sms": rng.randint(0, 1)},
            "weekly_limit": {"email": 3, "sms": 1},
        },
    }


def check_body(principal: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    resources = [
        {
            "actions": list(CHANNELS),
            "resource": {
                "kind": "offer",
                "id": o["id"],
                "attr": {"purpose": o["purpose"], "topics": o["topics"]},
            },
        }
        for o in items
    ]
    return json.dumps({"requestId": principal["id"], "principal": principal, "resources": resources}).encode()


def expected(principal: dict[str, Any], offer: dict[str, Any]) -> dict[str, str]:
    """bench/cerbos/policies/offer.yaml, read in Python."""
    attr = principal["attr"]
    topics = set(offer["topics"])
    paused = bool(topics & set(attr["paused_topics"]))
    answer = {}
    for channel in CHANNELS:
        allowed = (
            channel in attr["consents"].get(offer["purpose"], [])
            and not attr["do_not_disturb"]
            and not topics & set(attr["dislikes"])
            and attr["sent_this_week"][channel] < attr["weekly_limit"][channel]
            and not paused
        )
        answer[channel] = ALLOW if allowed else DENY
    return answer


def _answers(raw: bytes) -> dict[str, dict[str, str]]:
    try:
        results = json.loads(raw).get("results", [])
        return {r["resource"]["id"]: r["actions"] for r in results}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def hand_cases() -> list[tuple[dict[str, Any], dict[str, Any], dict[str, str]]]:
    """(principal, offer, answer) written out by hand: an allow, and a deny for each rule."""
    base = {
        "consents": {"marketing": ["email"]},
        "do_not_disturb": False,
        "dislikes": ["wine"],
        "paused_topics": ["sport"],
        "sent_this_week": {"email": 2, "sms": 0},
        "weekly_limit": {"email": 3, "sms": 1},
    }
    books = {"id": "hand-books", "purpose": "marketing", "topics": ["books"]}
    wine = {"id": "hand-wine", "purpose": "marketing", "topics": ["books", "wine"]}
    sport = {"id": "hand-sport", "purpose": "marketing", "topics": ["sport"]}
    full = {**base, "sent_this_week": {"email": 3, "sms": 0}}
    quiet = {**base, "do_not_disturb": True}
    both = {**base, "consents": {"marketing": ["email", "sms"]}}

    def who(name: str, attr: dict[str, Any]) -> dict[str, Any]:
        return {"id": name, "roles": ["customer"], "attr": attr}

    return [
        (who("hand-1", base), books, {"email": ALLOW, "sms": DENY}),  # no sms consent
        (who("hand-2", base), wine, {"email": DENY, "sms": DENY}),  # a disliked topic
        (who("hand-3", both), sport, {"email": DENY, "sms": DENY}),  # a paused topic
        (who("hand-4", full), books, {"email": DENY, "sms": DENY}),  # the weekly email limit reached
        (who("hand-5", quiet), books, {"email": DENY, "sms": DENY}),  # do not disturb
        (who("hand-6", both), books, {"email": ALLOW, "sms": ALLOW}),
    ]


def verify(
    server: RunningServer, sample: list[tuple[dict[str, Any], bytes]], items: list[dict[str, Any]]
) -> tuple[int, list[str]]:
    """Send the hand cases and the sample; every resource's answer must be what `expected` says (and the
    hand cases must agree with `expected` too). Returns the answers checked and the first problems."""
    problems: list[str] = []
    bodies: list[bytes] = []
    wants: list[tuple[str, dict[str, dict[str, str]]]] = []
    for principal, offer, answer in hand_cases():
        if expected(principal, offer) != answer:
            problems.append(f"bench/cerbos_pdp.expected disagrees with hand case {principal['id']}")
        bodies.append(check_body(principal, [offer]))
        wants.append((principal["id"], {offer["id"]: answer}))
    for principal, body in sample:
        bodies.append(body)
        wants.append((principal["id"], {o["id"]: expected(principal, o) for o in items}))
    headers = {"Content-Type": "application/json"}
    raws = [request("POST", CHECK_PATH, host=server.host, headers=headers, body=body) for body in bodies]
    replies: list[tuple[int, bytes]] = _run(call(server.host, server.port, raws))
    checked = 0
    for (who, want), (status, raw) in zip(wants, replies, strict=True):
        checked += len(want)
        if status != 200 or _answers(raw) != want:
            problems.append(f"cerbos answered {who} with {status} {raw[:300]!r}; the policy says {want}")
    return checked, problems[:3]


def bench_cerbos(concurrencies: list[int], load: WriteLoad, console: Console, log: Path) -> CerbosResults:
    """Install, serve, verify, then one closed-loop run per concurrency; skipped with a note if it cannot run."""
    results = CerbosResults()
    binary, note = install()
    if binary is None:
        results.skipped = note
        console.print(f"[yellow]Cerbos skipped: {note}[/]")
        return results
    results.version = note
    try:
        with serve(binary, log) as server:
            _runs(server, results, concurrencies, load, console)
    except RuntimeError as exc:  # it did not come up: a note, not a failed bench
        results.skipped = str(exc)[:500]
        console.print(f"[yellow]Cerbos skipped: {results.skipped}[/]")
    return results


def _runs(
    server: RunningServer, results: CerbosResults, concurrencies: list[int], load: WriteLoad, console: Console
) -> None:
    """Verify the answers, then one closed-loop run per concurrency."""
    items = offers()
    rng = random.Random(8)
    people = [customer(rng, i) for i in range(SAMPLE)]
    sample = [(p, check_body(p, items)) for p in people]
    results.checked, results.problems = verify(server, sample, items)
    for problem in results.problems:
        console.print(f"[red]{problem}[/]")
    headers = {"Content-Type": "application/json"}
    for concurrency in concurrencies:
        plans = [
            [
                request(
                    "POST",
                    CHECK_PATH,
                    host=server.host,
                    headers=headers,
                    body=check_body(customer(rng, SAMPLE + c * PLAN_SIZE + i), items),
                )
                for i in range(PLAN_SIZE)
            ]
            for c in range(concurrency)
        ]
        runs = WriteLoad(load.duration_s, load.warmup_s, concurrency, load.settle_s)
        if load.settle_s:
            cpu_meter.settle(load.settle_s, lambda line: console.print(f"  [dim]{line}[/]"))
        result, share = _measure(server, plans, runs, health=HEALTH_PATH)
        figure = WriteFigure.of("cerbos", 1, SCENARIO, result, 200, share)
        verdict = "" if figure.ok else f"  [red]unexpected answers {figure.statuses} {figure.failures[:1]}[/]"
        console.print(
            f"  cerbos     c={concurrency:<3} {SCENARIO} {figure.rate:>9,.1f}/s  p50 {figure.p50_ms:.1f} ms  "
            f"p99 {figure.p99_ms:.1f} ms  server CPU {figure.cpu['server'] or 0:.2f}{verdict}"
        )
        results.http.append(figure)
