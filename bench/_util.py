"""Small helpers shared by the benchmarks (run as scripts from the project root)."""

from __future__ import annotations

import resource
from pathlib import Path

from ws1ai.net import free_port

__all__ = ["free_port", "memory_mb", "percentile"]  # free_port: the shared one, re-exported for the scripts


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
