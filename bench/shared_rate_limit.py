"""Benchmark: several worker processes against one tenant, with and without `WS1_SHARED_RATE_LIMIT`.

Each worker process is configured with the tenant's whole per-minute budget (the easy mistake once a second
worker is added). Without a shared limit their combined rate is N x the budget; with every process drawing
from one Prefect global rate limit (slot decay = budget per second) the combined rate stays at the budget.
Real parts: a Prefect server (test harness), the sandbox on a loopback socket, N separate processes.

    .venv/bin/python bench/shared_rate_limit.py [--workers 2] [--per-minute 120] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child(base_url: str, seconds: float) -> None:
    from ws1ai.settings import UEMSettings
    from ws1ai.uem import UEMClient

    settings = UEMSettings(base_url=base_url, token_url=f"{base_url}/connect/token", daily_quota_reserve=0)
    deadline = time.monotonic() + seconds
    with UEMClient(settings) as client:
        while time.monotonic() < deadline:
            client.system.info()


def run_workers(base_url: str, workers: int, seconds: float, env: dict[str, str]) -> float:
    """Combined requests/minute the sandbox saw while `workers` processes ran for `seconds`."""
    counts = lambda: httpx.get(f"{base_url}/_sandbox/requests").json()["total"]  # noqa: E731
    before = counts()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--child", base_url, str(seconds)], env=env)
        for _ in range(workers)
    ]
    # Timed from the first request on: process start-up (imports) is not part of the rate.
    while counts() == before:
        time.sleep(0.05)
    start = time.monotonic()
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"worker exited with {p.returncode}")
    return (counts() - before) / (time.monotonic() - start) * 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-minute", type=int, default=120, help="the tenant's budget, given to every worker")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long each worker sends")
    ap.add_argument("--burst", type=int, default=5, help="the Prefect limit's slots (burst allowance)")
    ap.add_argument("--child", nargs=2, metavar=("URL", "SECONDS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]))
        return

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from ws1ai.sandbox import SandboxState
    from ws1ai.sandbox.server import serve_in_background

    state = SandboxState.seeded(devices=10, seed=1, days=1, rate_limit_per_minute=1_000_000)
    with prefect_test_harness(), serve_in_background(state) as url:
        name = f"ws1-uem-api-{uuid.uuid4().hex[:6]}"
        with get_client(sync_client=True) as client:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=name, limit=args.burst, slot_decay_per_second=args.per_minute / 60.0
                )
            )
        env = {
            **os.environ,
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "WS1_RATE_LIMIT_PER_MINUTE": str(args.per_minute),
        }
        env.pop("WS1_SHARED_RATE_LIMIT", None)
        alone = run_workers(url, args.workers, args.seconds, env)
        shared = run_workers(url, args.workers, args.seconds, {**env, "WS1_SHARED_RATE_LIMIT": name})
    budget = float(args.per_minute)
    print(f"{args.workers} workers, each configured with the tenant budget of {budget:.0f} calls/min:")
    print(f"  per-process limiters only : {alone:6.1f} calls/min = {alone / budget:.2f} x budget")
    print(f"  shared Prefect rate limit : {shared:6.1f} calls/min = {shared / budget:.2f} x budget")
    print(f"  ratio shared/per-process  : {shared / alone:.2f}")


if __name__ == "__main__":
    main()
