"""Benchmark: the webhook receiver under load, with none lost (issue 5), beside two baselines.

Starts a Prefect server (temporary SQLite DB) and the receiver in its own process (uvicorn on 127.0.0.1, so
it shares no GIL with the senders), then a few sender threads POST N distinct UEM events (Basic auth, the
real payload shape). Three phases, each on its own device-id range so their events can be counted apart:

- **receiver**: batching on (group commit, up to `--batch-size` events per POST to Prefect);
- **receiver, batching off** (`batch_size=1`): one POST to Prefect per event;
- **direct**: the senders POST each Prefect event straight to `{PREFECT_API_URL}/events` (no receiver,
  no auth/validation/dedup) — what Prefect's API itself takes per request.

The receiver answers 200 once an event is committed to its on-disk outbox, and forwards the outbox to
Prefect in the background, so two rates are printed: events/s accepted, and events/s until the last one
is in Prefect (outbox drained). Checks count-in == count-emitted == count stored (read back from Prefect).
Target: >= 200 events/s on loopback with none lost. Bounded: `--events` per phase and `--max-seconds`.

    .venv/bin/python bench/webhook_load.py --events 2000 --threads 4
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from deployments.events import device_event
from deployments.payloads import UEMEvent
from ws1ai.net import free_port

USER, PASSWORD = "bench-notifier", "bench-webhook-password"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000, help="events per phase")
    parser.add_argument("--threads", type=int, default=4, help="sender threads")
    parser.add_argument("--batch-size", type=int, default=50, help="receiver batch size (batched phase)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop sending a phase after this")
    parser.add_argument("--skip-baselines", action="store_true", help="only the batched receiver")
    return parser.parse_args()


def uem_event(device_id: int, i: int) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "1Z"  # 7 digits, as UEM writes them
    return {
        "EventId": i, "EventType": "Compliance Status Changed", "DeviceId": device_id, "EventTime": stamp,
        "ComplianceStatus": "NonCompliant", "CompromisedStatus": "", "EnrollmentStatus": "Enrolled",
        "DeviceFriendlyName": f"user{i} MacBook", "EnrollmentEmailAddress": f"user{i}@example.com",
        "EnrollmentUserName": f"user{i}", "Udid": f"{i:032X}", "SerialNumber": f"C02{i:09d}",
        "Platform": "AppleOsX", "OperatingSystem": "14.4.1", "Ownership": "CorporateDedicated",
        "DeviceUUID": f"00000000-0000-4000-8000-{device_id:012d}",
    }  # fmt: skip


@contextmanager
def receiver_process(api_url: str, state_dir: Path, batch_size: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "WS1AI_WEBHOOK_USERNAME": USER,
        "WS1AI_WEBHOOK_PASSWORD": PASSWORD,
        "WS1AI_WEBHOOK_PREFECT_API_URL": api_url,
        "WS1AI_WEBHOOK_STATE_DIR": str(state_dir),
        "WS1AI_WEBHOOK_BATCH_SIZE": str(batch_size),
    }
    cmd = [sys.executable, "-m", "deployments.webhook", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"receiver did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def send_all(
    bodies: list[Any], post: Callable[[httpx.Client, Any], bool], threads: int, max_seconds: float
) -> tuple[int, float]:
    """POST every body from `threads` keep-alive clients; returns (accepted, wall seconds)."""
    deadline = time.monotonic() + max_seconds
    chunks = [bodies[i::threads] for i in range(threads)]

    def worker(chunk: list[Any]) -> int:
        ok = 0
        with httpx.Client(timeout=30) as client:
            for body in chunk:
                if time.monotonic() > deadline:
                    break
                ok += post(client, body)
        return ok

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        accepted = sum(pool.map(worker, chunks))
    return accepted, time.perf_counter() - start


def stored(api_url: str, prefix: str, expected: int, wait: float = 90.0) -> int:
    """Events Prefect stored on resources `prefix*`, polling while the persister catches up."""
    body = {"filter": {"resource": {"id_prefix": [prefix]}}, "limit": 1}
    deadline, total = time.monotonic() + wait, -1
    while time.monotonic() < deadline:
        total = int(httpx.post(f"{api_url}/events/filter", json=body, timeout=30).json()["total"])
        if total >= expected:
            break
        time.sleep(0.5)
    return total


def drained(url: str, max_seconds: float) -> dict[str, int]:
    """Poll the receiver until its outbox is empty (every accepted event is in Prefect) or time runs out."""
    deadline = time.monotonic() + max_seconds
    while True:
        metrics: dict[str, int] = httpx.get(f"{url}/metrics", timeout=30).json()
        if metrics["pending"] == 0 or time.monotonic() > deadline:
            return metrics
        time.sleep(0.05)


def receiver_phase(api: str, name: str, base: int, args: argparse.Namespace, batch: int) -> None:
    bodies = [uem_event(base + i, i) for i in range(args.events)]
    with tempfile.TemporaryDirectory() as tmp, receiver_process(api, Path(tmp), batch) as url:

        def post(client: httpx.Client, body: Any) -> bool:
            resp = client.post(f"{url}/webhooks/ws1", json=body, headers=AUTH)
            return resp.status_code == 200 and resp.json()["status"] == "accepted"

        start = time.perf_counter()
        accepted, wall = send_all(bodies, post, args.threads, args.max_seconds)
        metrics = drained(url, args.max_seconds)
        in_prefect = time.perf_counter() - start
    count = stored(api, f"ws1.device.{str(base)[0]}", accepted)
    report(name, accepted, wall, count, metrics, in_prefect)


def direct_phase(api: str, base: int, args: argparse.Namespace) -> None:
    events = [device_event(UEMEvent.model_validate(uem_event(base + i, i))) for i in range(args.events)]

    def post(client: httpx.Client, event: Any) -> bool:
        return client.post(f"{api}/events", json=[event]).status_code == 204

    accepted, wall = send_all(events, post, args.threads, args.max_seconds)
    report(
        "direct to Prefect, 1 event/POST", accepted, wall, stored(api, f"ws1.device.{str(base)[0]}", accepted)
    )


def report(
    name: str,
    accepted: int,
    wall: float,
    count: int,
    metrics: dict[str, int] | None = None,
    in_prefect: float | None = None,
) -> None:
    lost = accepted - count
    print(
        f"{name:<32} {accepted / wall:7.1f} events/s accepted ({accepted} in {wall:.2f} s); "
        f"stored in Prefect={count} ({'none lost' if lost == 0 else f'LOST {lost}'})",
        flush=True,
    )
    if metrics and in_prefect:
        m = metrics
        print(
            f"{'':<32} all in Prefect after {in_prefect:.2f} s ({accepted / in_prefect:.1f} events/s e2e);"
            f" receiver: emitted={m['emitted']} pending={m['pending']} spooled={m['spooled']}"
            f" rejected={m['rejected']}, {m['prefect_posts']} POSTs to Prefect",
            flush=True,
        )


def main() -> None:
    args = parse_args()
    # The persister writes every 5 s or per 20 events; a shorter interval only makes the read-back quicker.
    os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL", "0.5")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline box: no telemetry noise
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    print(f"{args.events} events per phase, {args.threads} sender threads, loopback, 2-core box", flush=True)
    with prefect_test_harness(server_startup_timeout=180):
        api = str(PREFECT_API_URL.value())
        receiver_phase(api, f"receiver, batch<={args.batch_size}", 1_000_000, args, args.batch_size)
        if not args.skip_baselines:
            receiver_phase(api, "receiver, batching off", 2_000_000, args, 1)
            direct_phase(api, 3_000_000, args)


if __name__ == "__main__":
    main()
