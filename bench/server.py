"""The `harken` command as a subprocess: migrate, create orgs, and serve on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from bench.stores import BenchDatabase

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def harken_command() -> list[str]:
    """The installed `harken` script of this environment, else `python -m harken`."""
    script = Path(sys.executable).parent / "harken"
    if script.exists():
        return [str(script)]
    found = shutil.which("harken")
    return [found] if found else [sys.executable, "-m", "harken"]


def environment(database: BenchDatabase, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HARKEN_DATABASE_URL=database.url, HARKEN_DATA_DIR=str(data_dir), NO_COLOR="1", TERM="dumb")
    env.pop("HARKEN_PUBLIC_URL", None)
    # The load comes from one address with a few keys: limits high enough never to trip, still counted.
    for limit in ("PER_KEY", "PER_ADDRESS", "FAILED_AUTH"):
        env.setdefault(f"HARKEN_RATE_LIMIT_{limit}", str(10**9))
    return env


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """Run `harken ARGS`; its stdout, or RuntimeError with its stderr."""
    done = subprocess.run([*harken_command(), *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"harken {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def create_org(name: str, env: dict[str, str]) -> str:
    """Create an org and return its API key (the last line `harken org create` prints)."""
    key = run_cli(["org", "create", name], env).strip().splitlines()[-1].strip()
    if not key.startswith("hk_"):
        raise RuntimeError(f"`harken org create {name}` printed no API key on its last line: {key!r}")
    return key


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningServer:
    pid: int
    host: str
    port: int
    workers: int
    log: Path  # the server's stdout and stderr

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def serve(workers: int, env: dict[str, str], log: Path) -> Iterator[RunningServer]:
    """`harken serve --workers N` on a free loopback port, in a process group of its own; stopped after."""
    port = free_port()
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*harken_command(), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                command = " ".join(args)
                raise RuntimeError(f"`harken {command}` did not come up (exit {process.poll()}):\n{tail}")
            time.sleep(0.1)
        yield RunningServer(process.pid, HOST, port, workers, log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (uvicorn's workers with it), SIGKILL if it lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)
    else:
        # the leader is gone; make sure no worker of its group outlives it
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
