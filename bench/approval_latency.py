"""Approval submitted → first action received by the tenant, p50, at our poll interval vs Prefect's default.

    .venv/bin/python bench/approval_latency.py --runs 8

Each run: the compliance-triage flow (approve mode, one non-compliant device) pauses for approval on a real
Prefect server; the approval is submitted through the same resume API the UI uses, and the sandbox's ledger is
polled (every 20 ms) for the first write. The baseline is the same path with Prefect's default pause poll
interval (10 s); ws1ai uses 1-2 s (WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS).
"""

from __future__ import annotations

import argparse
import contextvars
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._util import free_port  # noqa: E402
from deployments.stack import prefect_server  # noqa: E402


def _writes(control: httpx.Client) -> int:
    entries = control.get("/_sandbox/ledger").json()["entries"]
    return sum(1 for e in entries if e["method"] != "GET")


def measure(poll_seconds: int, runs: int, sandbox_url: str, device_ids: list[int]) -> list[float]:
    from flows.compliance_triage import compliance_triage
    from ws1ai.governance.approval import Decision
    from ws1ai.governance.config import GovernanceSettings, RolloutMode
    from ws1ai.governance.identity import ApproverVerifier
    from ws1ai.governance.resume import submit_decision, wait_for_pending

    os.environ["WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS"] = str(poll_seconds)
    token = ApproverVerifier(GovernanceSettings()).issue_token("bench-admin")
    latencies: list[float] = []
    with httpx.Client(base_url=sandbox_url, timeout=30) as control:
        for i in range(runs):
            key = f"bench-approval-{poll_seconds}-{i}-{secrets.token_hex(4)}"
            flow_thread = threading.Thread(  # copy_context: the thread must see the bench's Prefect settings
                target=contextvars.copy_context().run,
                args=(compliance_triage,),
                kwargs={
                    "mode": RolloutMode.APPROVE,
                    "device_ids": [device_ids[i % len(device_ids)]],
                    "run_key": key,
                },
                daemon=True,
            )
            flow_thread.start()
            pending = wait_for_pending(timeout=120)
            before = _writes(control)
            submitted = time.monotonic()
            submit_decision(
                pending.flow_run_id, approver="bench-admin", credential=token, decision=Decision.APPROVE
            )
            while _writes(control) == before:
                time.sleep(0.02)
            latencies.append(time.monotonic() - submitted)
            flow_thread.join(timeout=120)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=8, help="approvals per configuration (at most 30)")
    args = parser.parse_args()
    runs = min(args.runs, 30)
    work = Path(tempfile.mkdtemp(prefix="ws1ai-bench-"))
    with prefect_server(free_port(), work / "prefect") as api:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from ws1ai.sandbox import SandboxState, create_app
        from ws1ai.sandbox.server import serve_in_background
        from ws1ai.settings import SandboxSettings
        from ws1ai.uem import UEMClient

        state = SandboxState.seeded(devices=400, seed=3, days=5)
        app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=100_000))
        with temporary_settings(updates={PREFECT_API_URL: api}), serve_in_background(app) as sandbox_url:
            os.environ.update(
                {
                    "WS1_BASE_URL": sandbox_url,
                    "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
                    "WS1_RATE_LIMIT_PER_MINUTE": "100000",
                    "SERVICENOW_BASE_URL": sandbox_url,
                    "WS1AI_GOVERNANCE_APPROVER_KEY": secrets.token_urlsafe(24),
                    "WS1AI_GOVERNANCE_REMINDER_BEFORE_SECONDS": "[]",
                }
            )
            with UEMClient(read_only=True) as client:
                ids = [
                    d.id.value
                    for d in client.devices.iter_search(compliant_status=False)
                    if d.id and d.id.value
                ]
            ours = measure(1, runs, sandbox_url, ids[:runs])
            default = measure(10, runs, sandbox_url, ids[runs : 2 * runs])
    p_ours, p_default = statistics.median(ours), statistics.median(default)
    print(f"approvals per configuration: {runs}")
    print(
        f"ws1ai (poll 1 s):            approval -> first action p50 {p_ours:.2f} s  (max {max(ours):.2f} s)"
    )
    print(
        f"Prefect default (poll 10 s): approval -> first action p50 {p_default:.2f} s "
        f"(max {max(default):.2f} s)"
    )
    print(f"ratio ours/default: {p_ours / p_default:.2f}")


if __name__ == "__main__":
    main()
