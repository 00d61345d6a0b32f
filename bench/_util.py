"""Small helpers shared by the benchmarks (run as scripts from the project root)."""

from __future__ import annotations

import resource
import socket
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); enough for p50/p95 over tens of samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def memory_mb(field: str = "VmHWM") -> float:
    """A memory figure of this process from /proc/self/status in MB: by default VmHWM, the peak. Not
    ru_maxrss, which in a child started by fork + exec also counts the parent's memory at the fork (the fleet
    generator's or the trainer's), not the measured work's; that is only the fallback off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
