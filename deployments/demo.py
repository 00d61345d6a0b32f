"""What the local stack does after it starts, so the user sees ws1ai work: an event-triggered, governed run.

A compliant device falls out of compliance in the sandbox → the tenant POSTs its event notification to the
webhook receiver → a Prefect event → the `compliance-triage-on-event` trigger → a flow run that pauses for
approval. We then print where to approve it: the Prefect UI and the `ws1ai approvals` command.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
from rich.console import Console

from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.resume import wait_for_pending
from ws1ai.uem import UEMClient

__all__ = ["DEMO_APPROVER", "make_something_happen"]

DEMO_APPROVER = "demo-admin"
TRIGGERED_DEPLOYMENT = "compliance-triage-on-event"

console = Console()


def _wait_for_trigger(timeout: float = 60.0) -> None:
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


def make_something_happen(*, sandbox_url: str, ui_url: str, exit_after: bool = False) -> None:
    try:
        _wait_for_trigger()
        with UEMClient(read_only=True) as client:
            compliant = list(client.devices.iter_search(compliant_status=True))
        if not compliant:
            raise RuntimeError("the sandbox fleet has no compliant device to take out of compliance")
        # A laptop is the familiar case (its fix is an encryption profile push); any compliant device will do.
        device = next((d for d in compliant if d.platform in {"AppleOsX", "WinRT"}), compliant[0])
        assert device.id is not None and device.id.value is not None
        device_id = device.id.value
        console.print(
            f"[yellow]Scenario:[/] device {device_id} ({device.platform}) turns non-compliant in the tenant"
        )
        httpx.post(
            f"{sandbox_url}/_sandbox/devices/{device_id}/compliance",
            json={"ComplianceStatus": "NonCompliant"},
            timeout=10,
        ).raise_for_status()
        pending = wait_for_pending(timeout=120)
        token = ApproverVerifier(GovernanceSettings()).issue_token(DEMO_APPROVER)
        console.print(
            "\n[bold green]A triggered run is waiting for your approval[/]\n"
            f"  UI:  {ui_url}/runs/flow-run/{pending.flow_run_id}\n"
            f"  CLI: ws1ai approvals list\n"
            f"       ws1ai approvals approve {pending.flow_run_id} \\\n"
            f"             --approver {DEMO_APPROVER} --token {token}\n"
            "  (demo approver token derived from this stack's local key; see README: approver identity)\n"
        )
    except Exception as exc:  # the stack keeps serving; the user should still see why the demo failed
        console.print(f"[red]Demo scenario failed:[/] {type(exc).__name__}: {exc}")
    finally:
        if exit_after:
            os.kill(os.getpid(), signal.SIGINT)
