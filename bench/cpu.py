"""Where the machine's CPU went during a measurement window: the server, the client, PostgreSQL, the rest.

Read from /proc (Linux); on other systems every figure is None.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    wall: float
    client: float  # seconds of CPU used by this (client) process
    machine: int | None  # busy jiffies of all cores
    server: int | None  # jiffies of the server process and its descendants
    postgres: int | None  # jiffies of every process named postgres


@dataclass(frozen=True)
class CpuShare:
    """Cores busy on average over the window (2.0 = both cores of a 2-core machine, all the time)."""

    machine: float | None
    server: float | None
    client: float
    postgres: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"machine": self.machine, "server": self.server, "client": self.client,
                "postgres": self.postgres}


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
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]))
    return found


def _machine_busy() -> int:
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle


def sample(server_pid: int | None) -> Sample:
    wall, client = time.perf_counter(), time.process_time()
    if not (PROC / "stat").exists():
        return Sample(wall, client, None, None, None)
    table = _processes()
    tree, frontier = set(), [server_pid] if server_pid else []
    while frontier:
        pid = frontier.pop()
        tree.add(pid)
        frontier += [child for child, (ppid, _, _) in table.items() if ppid == pid and child not in tree]
    server = sum(table[pid][2] for pid in tree if pid in table)
    postgres = sum(jiffies for _, name, jiffies in table.values() if name == "postgres")
    return Sample(wall, client, _machine_busy(), server, postgres)


def share(first: Sample, last: Sample) -> CpuShare:
    wall = last.wall - first.wall

    def cores(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None or wall <= 0 else round((b - a) / TICKS / wall, 2)

    return CpuShare(
        machine=cores(first.machine, last.machine),
        server=cores(first.server, last.server),
        client=round((last.client - first.client) / wall, 2) if wall > 0 else 0.0,
        postgres=cores(first.postgres, last.postgres),
    )
