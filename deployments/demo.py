"""What the local stack does after it starts, so the user sees ws1ai work: the four blueprints, governed.

1. A compliant device falls out of compliance in the sandbox → the tenant POSTs its event notification to the
   webhook receiver → a Prefect event → the `compliance-triage-on-event` trigger → a run that pauses for
   approval.
2. The HRIS reports a leaver (POSTed to the receiver's HRIS endpoint) → `offboarding-on-leave`.
3. The scheduled blueprints are started once now instead of waiting for their cron: predictive health,
   licence reclamation and onboarding.

It then prints each run's state and, for those waiting, the Prefect UI link and the `ws1ai approvals` command.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import httpx
from rich.console import Console
from rich.table import Table

from ws1ai.connectors.hris import HRISClient
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.settings import HRISSettings
from ws1ai.stack_env import cli_invocation
from ws1ai.uem import UEMClient

__all__ = ["DEMO_APPROVER", "make_something_happen"]

DEMO_APPROVER = "demo-admin"
TRIGGERED_DEPLOYMENT = "compliance-triage-on-event"
SCHEDULED = (
    "predictive-health/predictive-health-weekly",
    "license-reclamation/license-reclamation-monthly",
    "onboarding/onboarding-daily",
)
SETTLED = {"PAUSED", "COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

console = Console()


def _wait_for_trigger(timeout: float = 90.0) -> None:
    """Serve registers deployments and their automations asynchronously; wait until the trigger exists."""
    from prefect import get_client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            automations = client.read_automations_by_name(f"{TRIGGERED_DEPLOYMENT}__automation_1")
        if automations:
            time.sleep(2)  # the trigger service loads new automations on its own short cycle
            return
        time.sleep(1)
    raise TimeoutError(f"the {TRIGGERED_DEPLOYMENT} trigger was not registered within {timeout:.0f} s")


def _device_falls_out_of_compliance(sandbox_url: str) -> int:
    with UEMClient(read_only=True) as client:
        compliant = list(client.devices.iter_search(compliant_status=True))
    if not compliant:
        raise RuntimeError("the sandbox fleet has no compliant device to take out of compliance")
    # A laptop is the familiar case (its fix is an encryption profile push); any compliant device will do.
    device = next((d for d in compliant if d.platform in {"AppleOsX", "WinRT"}), compliant[0])
    assert device.id is not None and device.id.value is not None
    httpx.post(
        f"{sandbox_url}/_sandbox/devices/{device.id.value}/compliance",
        json={"ComplianceStatus": "NonCompliant"},
        timeout=10,
    ).raise_for_status()
    console.print(f"[yellow]Scenario:[/] device {device.id.value} ({device.platform}) turns non-compliant")
    return device.id.value


def _hris_reports_a_leaver(receiver_url: str) -> str | None:
    with HRISClient() as hris:
        leaver = next((e for e in hris.iter_employees(status="terminated")), None)
    if leaver is None:
        return None
    httpx.post(
        f"{receiver_url}/webhooks/hris",
        json={
            # Unique per demo: the receiver de-duplicates by event id across restarts, as it should.
            "event_id": f"demo-leave-{leaver.employee_id}-{int(time.time())}",
            "type": "leave",
            "employee_id": leaver.employee_id,
            "effective_date": (leaver.end_date or date.today()).isoformat(),
        },
        headers={"X-API-Key": HRISSettings().api_key.get_secret_value()},
        timeout=10,
    ).raise_for_status()
    console.print(f"[yellow]Scenario:[/] the HRIS reports leaver {leaver.employee_id}")
    return leaver.employee_id


def _runs_of(deployment_name: str, since: datetime) -> list[tuple[str, UUID, str, str]]:
    """This demo's run of a deployment: created after `since`, due now (not a future cron slot)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    due = datetime.now(UTC) + timedelta(minutes=5)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=20,
        )
    mine = [
        r
        for r in runs
        if r.created is not None
        and r.created >= since
        and (r.expected_start_time is None or r.expected_start_time <= due)
    ]
    return [
        (deployment_name, r.id, r.state_type.value if r.state_type else "?", r.state_name or "?")
        for r in mine[:1]
    ]


def _settle(names: list[str], since: datetime, timeout: float) -> list[tuple[str, UUID, str, str]]:
    """Wait until every deployment's demo run paused for approval or finished."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [row for name in names for row in _runs_of(name, since)]
        done = {name for name, _, state, _ in rows if state in SETTLED}
        if done >= set(names) or time.monotonic() > deadline:
            return rows
        time.sleep(2)


def _report(rows: list[tuple[str, UUID, str, str]], ui_url: str) -> None:
    token = ApproverVerifier(GovernanceSettings()).issue_token(DEMO_APPROVER)
    table = Table(title="ws1ai blueprints on the sandbox tenant")
    for column in ("deployment", "state", "Prefect UI"):
        table.add_column(column, overflow="fold")
    waiting: list[UUID] = []
    for name, run_id, state, state_name in rows:
        table.add_row(
            name,
            "waiting for approval" if state == "PAUSED" else state_name,
            f"{ui_url}/runs/flow-run/{run_id}",
        )
        if state == "PAUSED":
            waiting.append(run_id)
    console.print(table)
    if waiting:
        console.print(
            "\n[bold green]A triggered run is waiting for your approval[/] "
            f"({len(waiting)} run(s) in all)\n"
            f"  UI:  {ui_url}/runs/flow-run/{waiting[0]}",
            soft_wrap=True,
        )
        # Commands are plain prints, one per line and never wrapped, so they work when pasted into another
        # shell (which reaches this stack through .ws1ai/stack.env; see README: the command line).
        ws1ai = cli_invocation()
        print(f"  CLI: {ws1ai} approvals list", flush=True)
        print(
            f"  CLI: WS1AI_APPROVER_TOKEN={token} {ws1ai} approvals approve {waiting[0]} "
            f"--approver {DEMO_APPROVER}",
            flush=True,
        )
        console.print(
            "  (demo approver token derived from this stack's local key; see README: approver identity)\n",
            soft_wrap=True,
        )


def make_something_happen(
    *, sandbox_url: str, receiver_url: str, ui_url: str, exit_after: bool = False
) -> None:
    from prefect.deployments import run_deployment

    since = datetime.now(UTC)
    try:
        _wait_for_trigger()
        _device_falls_out_of_compliance(sandbox_url)
        _hris_reports_a_leaver(receiver_url)
        for name in SCHEDULED:
            run_deployment(name, timeout=0)  # start now, do not wait: they run in the served processes
        names = [TRIGGERED_DEPLOYMENT, "offboarding-on-leave", *(n.split("/")[1] for n in SCHEDULED)]
        _report(
            _settle(names, since, timeout=float(os.environ.get("WS1AI_DEMO_SETTLE_SECONDS", "240"))), ui_url
        )
    except Exception as exc:  # the stack keeps serving; the user should still see why the demo failed
        console.print(f"[red]Demo scenario failed:[/] {type(exc).__name__}: {exc}")
    finally:
        if exit_after:
            os.kill(os.getpid(), signal.SIGINT)
