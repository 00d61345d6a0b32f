"""An event storm: N compliance-change webhooks in S seconds, coalesced triggers against one run per device.

    .venv/bin/python bench/event_storm.py --devices 1000 --seconds 60 --per-device-sample 10

Everything is real: a Prefect server (SQLite) in a child process, the sandbox tenant (in this process; its
devices are taken out of compliance first, so triage finds them), the webhook receiver in its own process
(`python -m deployments.webhook serve`), and the deployment served by `serve` in a child process (the
runner and its flow-run subprocesses), with `PREFECT_RUNNER_POLL_FREQUENCY=1`. Two phases, each with its own
receiver and its own served deployment:

- **per device** (the old trigger: one run per `ws1.device.compliance-changed` event): a sample of
  `--per-device-sample` devices at the storm's rate; its figures are scaled to N (runs, approvals, CPU-s
  linearly; the time as N runs at the sample's CPU-s per run on this machine's cores: a lower bound);
- **coalesced** (prefect.yaml's `compliance-triage-on-event`: one `ws1.devices.compliance-changed` event
  per receiver window: closed after `--window` s without a new device, `--max-window` s at most): all N.

Per phase it prints flow runs created, approval requests (runs PAUSED waiting for a decision), CPU-s spent
(utime + stime of every process of the Prefect server, the receiver and the served deployment, including
reaped children, from /proc; the sandbox tenant is not counted), and the time from the first webhook until
every device was triaged (its row in a run's `compliance-triage-decisions` artifact), checking that every
device was triaged exactly once. Bounded by `--max-seconds` per phase; nothing is approved.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deployments.stack import prefect_server  # noqa: E402
from ws1ai.net import free_port  # noqa: E402

USER, PASSWORD = "bench-notifier", "bench-webhook-password"
PER_DEVICE, COALESCED = "compliance-triage-per-device", "compliance-triage-on-event"
WAITING = {"PAUSED"}
SETTLED = {"PAUSED", "COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
TICK = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000, help="devices that change (one webhook each)")
    parser.add_argument("--seconds", type=float, default=60.0, help="spread the webhooks over this long")
    parser.add_argument("--window", type=float, default=30.0, help="WS1AI_WEBHOOK_COALESCE_SECONDS (quiet)")
    parser.add_argument("--max-window", type=float, default=120.0, help="WS1AI_WEBHOOK_COALESCE_MAX_SECONDS")
    parser.add_argument("--per-device-sample", type=int, default=10, help="devices through the old trigger")
    parser.add_argument("--max-seconds", type=float, default=420.0, help="give up waiting on a phase")
    parser.add_argument("--serve", nargs=2, metavar=("WHICH", "LIMIT"), help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the served deployment (child process) -------------------------------------------------------------
def serve_child(which: str, limit: int) -> None:
    from prefect import serve
    from prefect.events import DeploymentEventTrigger

    from deployments.project import PROJECT_FILE, load_flow, runner_deployments

    if which == COALESCED:
        deployments = runner_deployments(PROJECT_FILE, only={COALESCED})
    else:  # the trigger prefect.yaml had before coalescing: one run per device event
        flow = load_flow("flows/compliance_triage.py:compliance_triage")
        trigger = DeploymentEventTrigger(
            name=f"{PER_DEVICE}__automation_1",
            expect={"ws1.device.compliance-changed"},
            match={"prefect.resource.id": "ws1.device.*", "ws1.device.compliance-status": "NonCompliant"},
            parameters={"device_id": "{{ event.resource.name | int }}"},
        )
        deployment = flow.to_deployment(name=PER_DEVICE, parameters={"mode": "approve"}, triggers=[trigger])
        deployments = [deployment]  # type: ignore[list-item]
    serve(*deployments, print_starting_message=False, limit=limit)  # type: ignore[arg-type]


# --- CPU from /proc ------------------------------------------------------------------------------------
def _stats() -> Iterator[tuple[int, int, int, float]]:
    """(pid, ppid, session id, CPU-s incl. reaped children) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        yield int(entry.name), int(fields[1]), int(fields[3]), ticks / TICK


def session_cpu(sid: int) -> float:
    """CPU-s of every live process of session `sid` plus the children they reaped."""
    return sum(cpu for _, _, s, cpu in _stats() if s == sid)


def server_session(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "server start" in cmd and f"--port {port}" in cmd:
                return next(s for pid, _, s, _ in _stats() if pid == int(entry.name))
    raise RuntimeError("Prefect server process not found")


# --- processes -----------------------------------------------------------------------------------------
@contextmanager
def child(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session (its session id is its pid: what `session_cpu` sums)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


# --- Prefect reads (REST) ------------------------------------------------------------------------------
def wait_automation(api: str, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [a["name"] for a in httpx.post(f"{api}/automations/filter", json={}, timeout=10).json()]
        if name in names:
            time.sleep(3)  # the trigger service loads new automations on its own short cycle
            return
        time.sleep(1)
    raise TimeoutError(f"automation {name} not registered")


def runs_of(api: str, deployment: str) -> list[dict[str, Any]]:
    body = {"deployments": {"name": {"any_": [deployment]}}, "limit": 200}
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = httpx.post(f"{api}/flow_runs/filter", json={**body, "offset": offset}, timeout=30).json()
        out += page
        if len(page) < 200:
            return out
        offset += 200


def triaged(api: str, run_ids: list[str]) -> list[int]:
    """Every device row of those runs' decision tables (a device twice = triaged twice)."""
    if not run_ids:
        return []
    body = {
        "artifacts": {"key": {"any_": ["compliance-triage-decisions"]}, "flow_run_id": {"any_": run_ids}},
        "limit": 200,
    }
    devices: list[int] = []
    for artifact in httpx.post(f"{api}/artifacts/filter", json=body, timeout=30).json():
        table = artifact["data"]
        rows = json.loads(table) if isinstance(table, str) else table
        devices += [int(row["device"]) for row in rows]
    return devices


def remove_deployment(api: str, name: str) -> None:
    """So its trigger does not also fire in the next phase."""
    found = httpx.post(f"{api}/deployments/filter", json={"deployments": {"name": {"any_": [name]}}}).json()
    for dep in found:
        httpx.delete(f"{api}/automations/owned-by/prefect.deployment.{dep['id']}", timeout=30)
        httpx.delete(f"{api}/deployments/{dep['id']}", timeout=30)


# --- one phase -----------------------------------------------------------------------------------------
def uem_event(device_id: int, i: int) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
    return {
        "EventId": 900_000 + i, "EventType": "Compliance Status Changed", "DeviceId": device_id,
        "EventTime": stamp, "ComplianceStatus": "NonCompliant", "CompromisedStatus": "",
        "EnrollmentStatus": "Enrolled", "Platform": "AppleOsX", "Ownership": "CorporateDedicated",
    }  # fmt: skip


def phase(
    name: str, which: str, devices: list[int], seconds: float, args: argparse.Namespace, ctx: dict[str, Any]
) -> dict[str, Any]:
    api, env, work = ctx["api"], ctx["env"], ctx["work"]
    port = free_port()
    receiver_env = {
        **env,
        "WS1AI_WEBHOOK_USERNAME": USER,
        "WS1AI_WEBHOOK_PASSWORD": PASSWORD,
        "WS1AI_WEBHOOK_PREFECT_API_URL": api,
        "WS1AI_WEBHOOK_STATE_DIR": str(work / f"receiver-{which}"),
        "WS1AI_WEBHOOK_COALESCE_SECONDS": str(args.window),
        "WS1AI_WEBHOOK_COALESCE_MAX_SECONDS": str(args.max_window),
        "WS1AI_WEBHOOK_FLEET": "bench",
    }
    limit = len(devices) + 2 if which == PER_DEVICE else 4  # every per-device run may wait paused at once
    serve_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", which, str(limit)]
    recv_cmd = [sys.executable, "-m", "deployments.webhook", "serve", "--port", str(port)]
    server_sid = ctx["server_sid"]
    with (
        child(serve_cmd, env, work / f"serve-{which}.log") as served,
        child(recv_cmd, receiver_env, work / f"receiver-{which}.log") as receiver,
    ):
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", receiver)
        wait_automation(api, f"{which}__automation_1")
        cpu0 = {"server": session_cpu(server_sid), "receiver": session_cpu(receiver.pid)}
        serve0 = session_cpu(served.pid)  # its start-up (imports, registering) is not the storm's cost
        gap = seconds / len(devices)
        start = time.monotonic()
        with httpx.Client(auth=(USER, PASSWORD), timeout=30) as client:
            for i, device in enumerate(devices):
                time.sleep(max(0.0, start + i * gap - time.monotonic()))
                client.post(f"{url}/webhooks/ws1", json=uem_event(device, i)).raise_for_status()
        sent = time.monotonic() - start
        wanted, done_at, rows, runs = set(devices), None, [], []
        while time.monotonic() - start < args.max_seconds:
            runs = runs_of(api, which)
            settled = [r["id"] for r in runs if r["state_type"] in SETTLED]
            rows = triaged(api, settled)
            if wanted <= set(rows) and len(settled) == len(runs):
                done_at = time.monotonic() - start
                break
            time.sleep(1)
        cpu = {
            "server": session_cpu(server_sid) - cpu0["server"],
            "receiver": session_cpu(receiver.pid) - cpu0["receiver"],
            "runs": session_cpu(served.pid) - serve0,
        }
    remove_deployment(api, which)
    paused = sum(1 for r in runs if r["state_type"] in WAITING)
    return {
        "name": name,
        "devices": len(devices),
        "sent_seconds": sent,
        "runs": len(runs),
        "approvals": paused,
        "states": sorted({r["state_name"] for r in runs}),
        "cpu": cpu,
        "cpu_total": sum(cpu.values()),
        "triaged": len(set(rows) & wanted),
        "triaged_twice": len(rows) - len(set(rows)),
        "done_seconds": done_at,
    }


def show(r: dict[str, Any]) -> None:
    done = f"{r['done_seconds']:.1f} s" if r["done_seconds"] is not None else "NOT within the limit"
    cpu = r["cpu"]
    print(
        f"{r['name']:<34} {r['devices']} devices sent in {r['sent_seconds']:.1f} s: {r['runs']} flow runs, "
        f"{r['approvals']} approval requests, CPU {r['cpu_total']:.1f} s (server {cpu['server']:.1f}, "
        f"receiver {cpu['receiver']:.1f}, runner+runs {cpu['runs']:.1f}); "
        f"triaged {r['triaged']}/{r['devices']}, twice {r['triaged_twice']}; all triaged after {done}; "
        f"run states {r['states']}",
        flush=True,
    )


def main() -> None:
    args = parse_args()
    if args.serve:
        serve_child(args.serve[0], int(args.serve[1]))
        return
    from ws1ai.sandbox import SandboxState, create_app
    from ws1ai.sandbox.server import serve_in_background
    from ws1ai.settings import SandboxSettings

    n, sample = args.devices, args.per_device_sample
    work = Path(tempfile.mkdtemp(prefix="ws1ai-storm-"))
    print(
        f"{n} compliance changes in {args.seconds:.0f} s; window: {args.window:.0f} s quiet, "
        f"{args.max_window:.0f} s at most; "
        f"per-device sample {sample}"
    )
    state = SandboxState.seeded(devices=n + sample + 50, seed=11, days=30)
    # Devices compliant so far fall out of compliance; those already out are reported again (as UEM does).
    compliant = sorted(state.devices, key=lambda d: (state.devices[d].compliance != "Compliant", d))
    app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    port = free_port()
    with prefect_server(port, work / "prefect") as api, serve_in_background(app) as sandbox:
        with httpx.Client(base_url=sandbox, timeout=30) as control:
            for device in compliant[: n + sample]:  # the policy change: these are now non-compliant
                control.post(
                    f"/_sandbox/devices/{device}/compliance", json={"ComplianceStatus": "NonCompliant"}
                )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PREFECT_API_URL": api,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "WS1_BASE_URL": sandbox,
            "WS1_TOKEN_URL": f"{sandbox}/connect/token",
            "WS1_RATE_LIMIT_PER_MINUTE": "100000",
            "SERVICENOW_BASE_URL": sandbox,
            "HRIS_BASE_URL": f"{sandbox}/hris",
            "WS1AI_GOVERNANCE_APPROVER_KEY": "bench-approver-key",
            "WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS": "1",
            "WS1AI_GOVERNANCE_MAX_MODE": "approve",
        }
        env.pop("OPENAI_API_KEY", None)  # the rule decides: no LLM in the measurement
        ctx = {"api": api, "env": env, "work": work, "server_sid": server_session(port)}
        old = phase(
            f"per device (sample of {sample})", PER_DEVICE, compliant[n : n + sample],
            args.seconds * sample / n, args, ctx,
        )  # fmt: skip
        show(old)
        new = phase("coalesced (one run per window)", COALESCED, compliant[:n], args.seconds, args, ctx)
        show(new)
    scale = n / sample
    per_run = old["cpu_total"] / max(1, old["runs"])
    cores = os.cpu_count() or 1
    print(
        f"per device scaled to {n}: {old['runs'] * scale:.0f} runs, {old['approvals'] * scale:.0f} approval "
        f"requests, {old['cpu_total'] * scale:.0f} CPU-s; at {per_run:.1f} CPU-s per run on {cores} cores "
        f">= {old['cpu_total'] * scale / cores / 60:.0f} min until all are triaged "
        "(extrapolated from the sample)",
        flush=True,
    )
    runs_ratio = new["runs"] / max(1, old["runs"] * scale)
    approvals_ratio = new["approvals"] / max(1, old["approvals"] * scale)
    cpu_ratio = new["cpu_total"] / max(1e-9, old["cpu_total"] * scale)
    print(
        f"coalesced / per device (scaled): runs {runs_ratio:.4f}, approval requests {approvals_ratio:.4f}, "
        f"CPU-s {cpu_ratio:.3f}",
        flush=True,
    )
    print(f"logs: {work}")


if __name__ == "__main__":
    main()
