"""Runs waiting for approval: processes and memory held, `pause` vs `suspend`; approval → first action.

    .venv/bin/python bench/pending_approvals.py --runs 20

For each wait mode (WS1AI_GOVERNANCE_APPROVAL_WAIT), a Prefect runner process serves the compliance-triage
flow (as a process worker would: one subprocess per flow run) against the sandbox on a real Prefect server.
N runs (approve mode, one non-compliant device each) are started and the bench waits until all N wait for
approval (for `suspend`, also until their processes have exited). It then counts the runner's child processes
and sums their resident memory (VmRSS): what the pending approvals hold. The runner (the worker) is there
in both modes and is reported apart. Then all N are approved at once through the resume API the UI and
`ws1ai approvals approve` use, and the sandbox's ledger is polled for each run's first write: approval → first
action at the tenant, p50 and max, under the load of N runs resuming together on this machine.

The runner's process limit is raised to N + 2 so that `pause` can hold all N (with Prefect's default of 5, the
sixth paused run would not even start: each paused run holds a slot).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._util import free_port, percentile  # noqa: E402
from deployments.stack import prefect_server  # noqa: E402

DEPLOYMENT = "compliance-triage/bench-pending"
SERVE = (
    "from prefect import serve\n"
    "from flows.compliance_triage import compliance_triage\n"
    "serve(compliance_triage.to_deployment(name='bench-pending'))\n"
)


def _children(root: int) -> list[int]:
    """Every descendant of `root` (from /proc), not `root` itself."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found += kids
        frontier += kids
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _first_write(entries: list[dict[str, Any]], cids: set[str]) -> bool:
    return any(e["method"] != "GET" and e.get("correlation_id") in cids for e in entries)


def measure(
    wait: str, runs: int, api: str, sandbox_url: str, devices: list[int], work: Path
) -> dict[str, Any]:
    from prefect import get_client
    from prefect.deployments import run_deployment

    from ws1ai.governance.approval import Decision
    from ws1ai.governance.config import GovernanceSettings
    from ws1ai.governance.identity import ApproverVerifier
    from ws1ai.governance.resume import list_pending, submit_decision

    env = {
        **os.environ,
        "WS1AI_GOVERNANCE_APPROVAL_WAIT": wait,
        "PREFECT_API_URL": api,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_RUNNER_PROCESS_LIMIT": str(runs + 2),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PYTHONPATH": str(ROOT),
    }
    log = (work / f"runner-{wait}.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "-c", SERVE], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with get_client(sync_client=True) as client:
                    client.read_deployment_by_name(DEPLOYMENT)
                break
            except Exception:
                if runner.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"runner did not start; see {work / f'runner-{wait}.log'}") from None
                time.sleep(0.5)
        tag = secrets.token_hex(4)
        ids: list[UUID] = []
        for i in range(runs):
            run = run_deployment(
                DEPLOYMENT,
                parameters={
                    "mode": "approve",
                    "device_ids": [devices[i]],
                    "run_key": f"bench-{wait}-{tag}-{i}",
                },
                timeout=0,
            )
            ids.append(run.id)  # type: ignore[union-attr]
        wanted = {str(i) for i in ids}
        deadline = time.monotonic() + 60 + 20 * runs
        while True:
            pending = {p.flow_run_id: p for p in list_pending() if p.flow_run_id in wanted}
            settled = len(pending) == runs and (wait == "pause" or not _children(runner.pid))
            if settled:
                break
            with get_client(sync_client=True) as client:
                ended = [r for r in (client.read_flow_run(i) for i in ids) if r.state and r.state.is_final()]
            if ended or time.monotonic() > deadline:
                why = "; ".join(f"{r.name}: {r.state_name} {r.state and r.state.message}" for r in ended)
                raise RuntimeError(f"{len(pending)} of {runs} runs waiting for approval ({wait}); {why}")
            time.sleep(1)
        time.sleep(2)  # let the last ones settle into their wait before measuring
        held = _children(runner.pid)
        rss = sum(_rss_mb(p) for p in held)
        runner_rss = _rss_mb(runner.pid)
        token = ApproverVerifier(GovernanceSettings()).issue_token("bench-admin")
        submitted: dict[str, float] = {}
        for run_id in pending:
            submit_decision(run_id, approver="bench-admin", credential=token, decision=Decision.APPROVE)
            submitted[run_id] = time.monotonic()
        cids = {run_id: {i.correlation_id for i in p.request.items} for run_id, p in pending.items()}
        latency: dict[str, float] = {}
        deadline = time.monotonic() + 60 + 20 * runs
        with httpx.Client(base_url=sandbox_url, timeout=30) as control:
            while len(latency) < runs and time.monotonic() < deadline:
                entries = control.get("/_sandbox/ledger").json()["entries"]
                now = time.monotonic()
                for run_id in submitted:
                    if run_id not in latency and _first_write(entries, cids[run_id]):
                        latency[run_id] = now - submitted[run_id]
                time.sleep(0.05)
        return {
            "processes": len(held),
            "rss_mb": rss,
            "runner_rss_mb": runner_rss,
            "latencies": list(latency.values()),
            "missing": runs - len(latency),
        }
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=20, help="runs waiting for approval per mode (at most 200)"
    )
    args = parser.parse_args()
    runs = min(max(args.runs, 1), 200)
    work = Path(tempfile.mkdtemp(prefix="ws1ai-bench-"))
    with prefect_server(free_port(), work / "prefect") as api:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from ws1ai.sandbox import SandboxState, create_app
        from ws1ai.sandbox.server import serve_in_background
        from ws1ai.settings import SandboxSettings
        from ws1ai.uem import UEMClient

        state = SandboxState.seeded(devices=max(400, 8 * runs), seed=3, days=5)
        app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
        with temporary_settings(updates={PREFECT_API_URL: api}), serve_in_background(app) as sandbox_url:
            os.environ.update(
                {
                    "WS1_BASE_URL": sandbox_url,
                    "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
                    "WS1_RATE_LIMIT_PER_MINUTE": "1000000",
                    "SERVICENOW_BASE_URL": sandbox_url,
                    "WS1AI_GOVERNANCE_APPROVER_KEY": secrets.token_urlsafe(24),
                    "WS1AI_GOVERNANCE_REMINDER_BEFORE_SECONDS": "[]",
                    "WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS": "1",
                }
            )
            with UEMClient(read_only=True) as client:
                ids = [
                    d.id.value
                    for d in client.devices.iter_search(compliant_status=False)
                    if d.id and d.id.value
                ]
            if len(ids) < 2 * runs:
                raise SystemExit(f"only {len(ids)} non-compliant devices in the sandbox; need {2 * runs}")
            results = {
                "pause": measure("pause", runs, api, sandbox_url, ids[:runs], work),
                "suspend": measure("suspend", runs, api, sandbox_url, ids[runs : 2 * runs], work),
            }
    print(f"runs waiting for approval per mode: {runs}")
    for wait, r in results.items():
        lat = r["latencies"] or [float("nan")]
        print(
            f"{wait:8s} processes held {r['processes']:3d} ({r['processes'] / runs:.2f} per approval), "
            f"RSS {r['rss_mb']:8.1f} MB ({r['rss_mb'] / runs:6.1f} MB per approval); "
            f"runner {r['runner_rss_mb']:.0f} MB; "
            f"approval -> first action p50 {statistics.median(lat):.2f} s, "
            f"p95 {percentile(lat, 0.95):.2f} s, "
            f"max {max(lat):.2f} s" + (f"; {r['missing']} run(s) wrote nothing" if r["missing"] else "")
        )
    p, s = results["pause"], results["suspend"]
    per_p, per_s = p["rss_mb"] / runs, s["rss_mb"] / runs
    print(f"memory per pending approval, suspend/pause: {per_s / per_p:.3f}" if per_p else "")
    print(f"processes held, suspend/pause: {s['processes']}/{p['processes']}")
    if p["latencies"] and s["latencies"]:
        ratio = statistics.median(s["latencies"]) / statistics.median(p["latencies"])
        print(f"approval -> first action p50, suspend/pause: {ratio:.2f}")


if __name__ == "__main__":
    main()
