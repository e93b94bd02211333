"""Process figures from /proc: CPU seconds, RSS, and the cores to pin workloads to."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
from collections.abc import Sequence

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of `pid` in bytes: resident now, and the peak."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return rss, hwm


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for servers that cannot report a port-0 bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cores() -> tuple[int, int] | None:
    """(driver core, measured core) when there are two cores to pin to, else None."""
    have = sorted(os.sched_getaffinity(0))
    if len(have) < 2 or shutil.which("taskset") is None:
        return None
    return have[0], have[1]


def pinned(core: int | None, argv: Sequence[str]) -> list[str]:
    """`argv` prefixed with `taskset -c core` (unchanged when there is nothing to pin to)."""
    if core is None:
        return list(argv)
    return ["taskset", "-c", str(core), *argv]


def median(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def core_busy(core: int | None) -> float | None:
    """Seconds core `core` spent busy (not idle or iowait) since boot, from /proc/stat."""
    if core is None:
        return None
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + (v[4] if len(v) > 4 else 0)
                return (sum(v[:8]) - idle) / _TICKS
    return None
