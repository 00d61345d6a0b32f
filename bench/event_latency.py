"""Workspace ONE event → flow code running, against `prefect deployment run` → flow code running.

    .venv/bin/python bench/event_latency.py --events 50

Both paths end in the same served deployment of a trivial flow on a real Prefect server (SQLite) with
`PREFECT_RUNNER_POLL_FREQUENCY=1`. The event path starts where Workspace ONE would: a JSON event notification
POSTed with Basic auth to the webhook receiver, which turns it into a Prefect event that a deployment trigger
matches. The baseline starts at `prefect deployment run` (the CLI, as an admin would). Events are sent one
at a time (each waits for its run to start), so the figures are latency, not queueing. Prints p50/p95.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._util import free_port, percentile  # noqa: E402
from deployments.stack import prefect_server  # noqa: E402
from deployments.webhook import UEM_PATH, create_receiver  # noqa: E402
from deployments.webhook_config import WebhookSettings  # noqa: E402
from ws1ai.sandbox.server import serve_in_background  # noqa: E402


def _wait_for(out: Path, marker: str, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            for line in out.read_text().splitlines():
                row = json.loads(line)
                if row["marker"] == marker:
                    return float(row["started"])
        time.sleep(0.02)
    raise TimeoutError(f"no run started for {marker} within {timeout} s")


def _uem_event(event_id: int) -> dict[str, object]:
    return {
        "EventId": event_id,
        "EventType": "Compliance Status Changed",
        "DeviceId": 10000 + event_id,
        "EventTime": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
        "ComplianceStatus": "NonCompliant",
        "CompromisedStatus": "",
        "EnrollmentStatus": "Enrolled",
        "Platform": "AppleOsX",
        "OperatingSystem": "14.6",
        "Ownership": "CorporateDedicated",
    }



def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50, help="events per path (bounded: at most 200)")
    args = parser.parse_args()
    n = min(args.events, 200)
    work = Path(tempfile.mkdtemp(prefix="ws1ai-bench-"))
    out = work / "started.jsonl"
    port = free_port()
    with prefect_server(port, work / "prefect") as api:
        env = {
            **os.environ,
            "PREFECT_API_URL": api,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PYTHONPATH": str(ROOT),
        }
        server = subprocess.Popen([sys.executable, "-m", "bench._latency_serve", str(out)], cwd=ROOT, env=env)
        try:
            settings = WebhookSettings(prefect_api_url=api)
            with serve_in_background(create_receiver(settings)) as receiver:
                auth = (settings.username, settings.password.get_secret_value())
                time.sleep(8)  # serve registers the deployments and their automation
                event_lat: list[float] = []
                for i in range(n + 1):  # the first one warms the trigger service up; not counted
                    sent = time.time()
                    httpx.post(
                        f"{receiver}{UEM_PATH}", json=_uem_event(5000 + i), auth=auth, timeout=10
                    ).raise_for_status()
                    started = _wait_for(out, str(5000 + i))
                    if i:
                        event_lat.append(started - sent)
                run_lat: list[float] = []
                for i in range(n):
                    marker = f"cli-{i}"
                    sent = time.time()
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "prefect",
                            "deployment",
                            "run",
                            "bench-latency-probe/on-demand",
                            "-p",
                            f"marker={marker}",
                        ],
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    run_lat.append(_wait_for(out, marker) - sent)
        finally:
            server.terminate()
            server.wait(timeout=30)
    e50, e95 = statistics.median(event_lat), percentile(event_lat, 0.95)
    r50, r95 = statistics.median(run_lat), percentile(run_lat, 0.95)
    print(f"events per path: {n}")
    print(f"Workspace ONE event -> flow code:   p50 {e50:.2f} s   p95 {e95:.2f} s")
    print(f"prefect deployment run -> flow code: p50 {r50:.2f} s   p95 {r95:.2f} s   (baseline)")
    print(f"ratio event/baseline: p50 {e50 / r50:.2f}   p95 {e95 / r95:.2f}")


if __name__ == "__main__":
    main()
