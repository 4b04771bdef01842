"""CPU time, memory and steal time from ``/proc`` (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """Fields of ``/proc/PID/stat`` after the command name (which may contain spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants (a server may run workers or helpers as children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        children.setdefault(parent, []).append(int(entry.name))
    tree = [pid]
    for current in tree:
        tree.extend(children.get(current, ()))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of the processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS_PER_SECOND


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass(frozen=True)
class SystemTimes:
    """Aggregate jiffies of all CPUs from the first line of ``/proc/stat``."""

    total: int
    steal: int
    idle: int

    @classmethod
    def read(cls) -> SystemTimes:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
        total = sum(values[:8])
        return cls(total=total, steal=values[7] if len(values) > 7 else 0, idle=values[3] + values[4])

    def steal_percent_since(self, earlier: SystemTimes) -> float:
        elapsed = self.total - earlier.total
        return 100.0 * (self.steal - earlier.steal) / elapsed if elapsed else 0.0

    def busy_percent_since(self, earlier: SystemTimes) -> float:
        elapsed = self.total - earlier.total
        busy = elapsed - (self.idle - earlier.idle)
        return 100.0 * busy / elapsed if elapsed else 0.0
