"""Trivial flows for bench/event_latency.py: each records when its code started, nothing else."""

from __future__ import annotations

import json
import time
from pathlib import Path

from prefect import flow


@flow(name="bench-latency-probe")
def latency_probe(marker: str, out: str) -> None:
    started = time.time()
    with Path(out).open("a", encoding="utf-8") as f:
        f.write(json.dumps({"marker": marker, "started": started}) + "\n")
