"""Where the machine's CPU went during a measurement window: the server, the client, PostgreSQL, the rest.

Read from /proc (Linux); on other systems every figure is None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
QUIET_CORES = 0.25
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    wall: float
    client: float  # seconds of CPU used by this (client) process
    machine: int | None  # busy jiffies of all cores
    server: int | None  # jiffies of the server process and its descendants
    postgres: int | None  # jiffies of every process named postgres
    server_processes: dict[int, int]  # pid → jiffies, for each process of the server


@dataclass(frozen=True)
class CpuShare:
    """Cores busy on average over the window (2.0 = both cores of a 2-core machine, all the time)."""

    machine: float | None
    server: float | None
    client: float
    postgres: float | None
    server_processes: list[float]  # per process of the server, busiest first: shows how evenly workers share

    @property
    def other(self) -> float | None:
        """Cores busy with anything else: the kernel's share of I/O, and whatever else runs on the machine."""
        if self.machine is None or self.server is None or self.postgres is None:
            return None
        return round(max(0.0, self.machine - self.server - self.client - self.postgres), 2)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "machine": self.machine,
            "server": self.server,
            "client": self.client,
            "postgres": self.postgres,
            "other": self.other,
        }


def _processes() -> dict[int, tuple[int, str, int]]:
    """pid → (ppid, name, utime+stime jiffies) for every process we can read."""
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
    return found


def _machine_busy() -> int:
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle


def sample(server_pid: int | None) -> Sample:
    wall, client = time.perf_counter(), time.process_time()
    if not (PROC / "stat").exists():
        return Sample(wall, client, None, None, None, {})
    table = _processes()
    tree, frontier = set(), [server_pid] if server_pid else []
    while frontier:
        pid = frontier.pop()
        tree.add(pid)
        frontier += [child for child, (ppid, _, _) in table.items() if ppid == pid and child not in tree]
    processes = {pid: table[pid][2] for pid in tree if pid in table}
    postgres = sum(jiffies for _, name, jiffies in table.values() if name == "postgres")
    return Sample(wall, client, _machine_busy(), sum(processes.values()), postgres, processes)


def busy_cores(seconds: float) -> float | None:
    """Cores busy on the whole machine over the next `seconds`; None where /proc/stat is missing."""
    if not (PROC / "stat").exists():
        return None
    before, began = _machine_busy(), time.perf_counter()
    time.sleep(seconds)
    return (_machine_busy() - before) / TICKS / (time.perf_counter() - began)


def settle(max_wait_s: float, say: Callable[[str], None], threshold: float = QUIET_CORES) -> float | None:
    """Wait (at most `max_wait_s`) until the machine is quiet: less than `threshold` cores busy over a second.

    The machine may be shared (other builds, other tests); a run that starts on a busy machine measures
    the contention, not Harken. Returns the last busy figure seen.
    """
    deadline = time.monotonic() + max_wait_s
    busy = busy_cores(1.0)
    warned = False
    while busy is not None and busy >= threshold and time.monotonic() < deadline:
        if not warned:
            say(f"waiting up to {max_wait_s:.0f} s for the machine to go quiet ({busy:.2f} cores busy)…")
            warned = True
        busy = busy_cores(1.0)
    return busy


def share(first: Sample, last: Sample) -> CpuShare:
    wall = last.wall - first.wall

    def cores(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None or wall <= 0 else round((b - a) / TICKS / wall, 2)

    return CpuShare(
        machine=cores(first.machine, last.machine),
        server=cores(first.server, last.server),
        client=round((last.client - first.client) / wall, 2) if wall > 0 else 0.0,
        postgres=cores(first.postgres, last.postgres),
        server_processes=sorted(
            (
                round((jiffies - first.server_processes.get(pid, 0)) / TICKS / wall, 2)
                for pid, jiffies in last.server_processes.items()
            )
            if wall > 0
            else [],
            reverse=True,
        ),
    )
