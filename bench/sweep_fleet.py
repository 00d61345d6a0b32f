"""Benchmark: sweep a large sandbox fleet through the UEM client, beside the per-device baseline.

Starts the sandbox tenant on 127.0.0.1 (uvicorn, random port) with N devices and a server throttle, then

- **sweep**: the whole inventory through `devices.search` in pages of 500, pages fetched by a few threads
  that share the credential's limiter (configured at `--limit` requests/minute);
- **baseline**: what most admin scripts do — fetch each device by id (`GET /mdm/devices/{id}`), on a sample,
  extrapolated to the fleet.

Prints API calls per device, achieved request rate / configured limit, 429s and failures. Targets (issue 2):
<= 0.003 calls/device, >= 0.95 of the configured rate, zero requests failed by throttling. No assertions.

    .venv/bin/python bench/sweep_fleet.py --devices 100000 --limit 300 --sandbox-throttle 360
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import UEMSettings
from ws1ai.uem import UEMClient, UEMError
from ws1ai.uem.ratelimit import clear_registry


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=100_000, help="fleet size to seed")
    parser.add_argument("--seed", type=int, default=7, help="fleet simulator seed")
    parser.add_argument("--days", type=int, default=1, help="telemetry days (unused by the sweep)")
    parser.add_argument("--limit", type=int, default=300, help="client rate limit, requests/minute")
    parser.add_argument("--sandbox-throttle", type=int, default=360, help="server throttle, requests/minute")
    parser.add_argument("--page-size", type=int, default=500, help="search page size (API max 500)")
    parser.add_argument("--workers", type=int, default=16, help="threads fetching pages (one shared limiter)")
    parser.add_argument("--baseline-sample", type=int, default=300, help="devices fetched one by one")
    parser.add_argument(
        "--server",
        choices=["process", "thread"],
        default="process",
        help="sandbox in its own process (default: no shared GIL with the client) or in a thread",
    )
    parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    return parser.parse_args()


def settings_for(url: str, limit: int) -> UEMSettings:
    return UEMSettings(  # type: ignore[call-arg]
        _env_file=None,
        base_url=url,
        token_url=f"{url}/connect/token",
        rate_limit_per_minute=limit,
        daily_quota_reserve=100,
    )


def sandbox_counts(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url) as control:
        body: dict[str, Any] = control.get("/_sandbox/requests").json()
        return body


def run_sweep(url: str, args: argparse.Namespace) -> dict[str, float]:
    with UEMClient(settings_for(url, args.limit)) as uem:
        devices = failures = 0
        start = time.perf_counter()
        try:
            for page in uem.devices.search_pages(page_size=args.page_size, workers=args.workers):
                devices += len(page.items)
        except UEMError as exc:
            failures += 1
            print(f"  sweep stopped: {exc}")
        elapsed = time.perf_counter() - start
        return {
            "devices": devices,
            "calls": uem.stats.requests,
            "seconds": elapsed,
            "rate_per_min": uem.stats.requests / elapsed * 60.0,
            "send_rate_per_min": uem.stats.send_rate_per_minute() or 0.0,
            "rate_limited": uem.stats.rate_limited,
            "retries": uem.stats.retries,
            "failures": failures,
        }


def run_baseline(url: str, args: argparse.Namespace, fleet: int) -> dict[str, float]:
    clear_registry()  # a fresh limiter: the baseline gets the same budget, not what the sweep left over
    with UEMClient(settings_for(url, args.limit)) as uem:
        start = time.perf_counter()
        # Admin scripts first list the ids, then fetch every device: count the listing too.
        ids: list[int] = []
        for device in uem.devices.iter_search(page_size=min(args.page_size, args.baseline_sample)):
            if device.device_id is not None:
                ids.append(device.device_id)
            if len(ids) >= args.baseline_sample:
                break
        failures = 0
        for device_id in ids:
            try:
                uem.devices.get(device_id)
            except UEMError:
                failures += 1
        elapsed = time.perf_counter() - start
        calls_per_device = uem.stats.requests / max(1, len(ids))
        rate = uem.stats.requests / elapsed * 60.0
        send_rate = uem.stats.send_rate_per_minute() or 0.0
        return {
            "send_rate_per_min": send_rate,
            "devices": len(ids),
            "calls": uem.stats.requests,
            "seconds": elapsed,
            "calls_per_device": calls_per_device,
            "rate_per_min": rate,
            "fleet_minutes": fleet * calls_per_device / rate,
            "rate_limited": uem.stats.rate_limited,
            "failures": failures,
        }


def seed(args: argparse.Namespace) -> SandboxState:
    return SandboxState.seeded(
        devices=args.devices, seed=args.seed, days=args.days, rate_limit_per_minute=args.sandbox_throttle
    )


def serve_only(args: argparse.Namespace) -> None:
    """Child process: seed, serve on loopback, announce the URL, run until the parent closes our stdin."""
    with serve_in_background(create_app(seed(args))) as url:
        print(f"READY {url}", flush=True)
        sys.stdin.read()


@contextmanager
def sandbox(args: argparse.Namespace) -> Iterator[str]:
    if args.server == "thread":
        with serve_in_background(create_app(seed(args))) as url:
            yield url
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-only", *sys.argv[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        line = child.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"sandbox process did not start: {line!r}")
        yield line.split()[1]
    finally:
        child.stdin.close()  # the child's stdin.read() returns and it shuts uvicorn down
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    args = parse_args()
    # Show why a request was retried (transport failures, throttling), nothing chattier.
    logging.basicConfig(level=logging.WARNING, format="  %(levelname)s %(name)s: %(message)s")
    if args.serve_only:
        serve_only(args)
        return
    print(f"seeding a {args.devices:,}-device sandbox (seed {args.seed}, {args.server}) ...", flush=True)
    t0 = time.perf_counter()
    with sandbox(args) as url:
        print(f"  serving at {url} after {time.perf_counter() - t0:.1f} s")
        print(f"sweep: pages of {args.page_size}, {args.workers} workers, limit {args.limit}/min, "
              f"sandbox throttle {args.sandbox_throttle}/min", flush=True)
        sweep = run_sweep(url, args)
        after_sweep = sandbox_counts(url)
        print(f"baseline: GET /mdm/devices/{{id}} for {args.baseline_sample} devices", flush=True)
        base = run_baseline(url, args, args.devices)
        after_all = sandbox_counts(url)

    sweep_cpd = sweep["calls"] / max(1, sweep["devices"])
    print()
    print("                              sweep (search pages)    baseline (per device)")
    print(f"devices covered               {sweep['devices']:>20,.0f}    {base['devices']:>21,.0f} (sample)")
    print(f"API calls                     {sweep['calls']:>20,.0f}    {base['calls']:>21,.0f}")
    print(f"API calls per device          {sweep_cpd:>20.4f}    {base['calls_per_device']:>21.4f}")
    print(f"wall time                     {sweep['seconds']:>18.1f} s    {base['seconds']:>19.1f} s")
    print(f"achieved rate / limit         {sweep['rate_per_min'] / args.limit:>20.3f}    "
          f"{base['rate_per_min'] / args.limit:>21.3f}   (calls / wall time)")
    print(f"send rate / limit             {sweep['send_rate_per_min'] / args.limit:>20.3f}    "
          f"{base['send_rate_per_min'] / args.limit:>21.3f}   (first to last send)")
    print(f"time for the whole fleet      {sweep['seconds'] / 60:>16.2f} min    "
          f"{base['fleet_minutes']:>17.1f} min (extrapolated)")
    print(f"429s seen by the client       {sweep['rate_limited']:>20.0f}    {base['rate_limited']:>21.0f}")
    print(f"requests failed               {sweep['failures']:>20.0f}    {base['failures']:>21.0f}")
    print()
    print(f"sandbox 429s (throttle)       sweep {after_sweep.get('throttled_429', '?')}, "
          f"total {after_all.get('throttled_429', '?')}")
    print(f"calls/device ratio baseline:sweep  {base['calls_per_device'] / sweep_cpd:,.0f}x")
    print(f"fleet time ratio baseline:sweep    {base['fleet_minutes'] / (sweep['seconds'] / 60):,.0f}x")
    print("targets: <= 0.003 calls/device, >= 0.95 of the configured rate, 0 requests failed by throttling")


if __name__ == "__main__":
    main()
