"""CPU seconds of processes on this machine, read from /proc: the benches report CPU per call,
which moves much less than throughput on a shared machine."""

from __future__ import annotations

import os


def cpu_seconds(pids: list[int]) -> dict[int, float] | None:
    """User + system CPU seconds of each process, None when one is not on this machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return None
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found
