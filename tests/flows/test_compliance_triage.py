"""Compliance triage end to end: real Prefect server, sandbox on a socket, approval via the resume API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from threading import Thread
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.events import emit_event
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings
from prefect.states import State

from flows.compliance_triage import compliance_triage
from models.risk import _sensitivity
from tasks.compliance import COMPLIANCE_EVENT, read_compliance_history
from tests.flows.conftest import tenant_writes
from ws1ai.governance.approval import Decision
from ws1ai.governance.config import RolloutMode
from ws1ai.sandbox import SandboxState
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


def _sensitive(device_id: int) -> bool:
    """The role's data sensitivity as the risk model reads it (from the inventory the sandbox exports)."""
    record = SANDBOX.devices[device_id]
    return _sensitivity(record.role, record.department, {}) == "high"


def _pick_devices() -> dict[str, int]:
    """One non-compliant device of each kind the policy treats differently (facts read through the API)."""
    picked: dict[str, int] = {}
    with UEMClient(read_only=True) as client:
        for d in client.devices.iter_search(compliant_status=False):
            assert d.id is not None and d.id.value is not None
            encrypted = (d.data_encryption_yn or "").upper() == "Y"
            if d.compromised_status and _sensitive(d.id.value):
                picked.setdefault("compromised_sensitive", d.id.value)
            elif d.compromised_status and "compromised" not in picked:
                picked["compromised"] = d.id.value
            elif not d.compromised_status and not encrypted and d.platform == "AppleOsX":
                picked.setdefault("unencrypted_mac", d.id.value)
            elif not d.compromised_status and encrypted:
                picked.setdefault("plain", d.id.value)
    assert {"compromised", "compromised_sensitive", "unencrypted_mac", "plain"} <= set(picked), picked
    return picked


@pytest.fixture(autouse=True)
def _sandbox(sandbox_state: SandboxState) -> None:
    global SANDBOX
    SANDBOX = sandbox_state


SANDBOX: SandboxState


def _plain(devices: dict[str, int]) -> list[int]:
    """The devices whose triage does not depend on compliance history (the wipe test adds some)."""
    return [devices[k] for k in ("compromised", "unencrypted_mac", "plain")]


def test_observe_mode_sends_no_write_and_lists_devices_by_risk(tenant: httpx.Client) -> None:
    devices = _pick_devices()
    state = compliance_triage(
        mode=RolloutMode.OBSERVE, device_ids=list(devices.values()), run_key="t-observe", return_state=True
    )
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []
    # The request log agrees: the only non-GET routes hit were the report exports' run and download search.
    routes = tenant.get("/_sandbox/requests").json()["by_route"]
    assert {r for r in routes if not r.startswith("GET ")} == {
        "POST /v1/reports/{report_id}/run",
        "POST /v1/reports/{report_id}/downloads/search",
    }
    rows = _artifact_rows(state, "compliance-triage-priorities")
    assert [r["device"] for r in rows][:2] == [devices["compromised_sensitive"], devices["compromised"]]
    assert [r["risk"] for r in rows] == sorted((r["risk"] for r in rows), reverse=True)
    top = rows[0]
    assert "device is compromised (jailbroken or rooted)" in top["reasons"]
    assert "high-sensitivity data" in top["reasons"] and top["sensitivity"] == "high"
    plain = next(r for r in rows if r["device"] == devices["plain"])
    assert "compromised" not in plain["reasons"]  # reasons are true of the input


def _artifact_rows(state: State[Any], key: str) -> list[dict[str, Any]]:
    with get_client(sync_client=True) as client:
        run_id = state.state_details.flow_run_id
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
        )
    assert found, f"no {key} artifact on run {run_id}"
    data = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list)
    return rows


def test_a_compromised_sensitive_device_with_a_lasting_violation_is_wiped_after_two_approvals(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    device = _pick_devices()["compromised_sensitive"]
    # Workspace ONE told the receiver ten days ago that the device fell out of compliance.
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    emit_event(
        event=COMPLIANCE_EVENT,
        resource={
            "prefect.resource.id": f"ws1.device.{device}",
            "prefect.resource.name": str(device),
            "ws1.device.compliance-status": "NonCompliant",
        },
        payload={"event_time": ten_days_ago.isoformat(), "compliance_status": "NonCompliant"},
    )
    _wait_for_history(device)
    approve_in_background(Decision.APPROVE, approvers=("alice", "bob"))
    state = compliance_triage(
        mode=RolloutMode.APPROVE, device_ids=[device], run_key="t-wipe", return_state=True
    )
    assert state.is_completed(), state
    wipes = [e for e in tenant_writes(tenant) if e["operation"] == "Command.EnterpriseWipe"]
    assert [e["device_ids"] for e in wipes] == [[device]]
    [row] = _artifact_rows(state, "compliance-triage-priorities")
    assert row["days_non_compliant"] == 10 and "None" not in row["reasons"]


def _wait_for_history(device: int) -> None:
    """The event persister writes in batches: wait until the flow's own reader sees the event."""
    deadline = time.monotonic() + 30
    while not read_compliance_history.fn([device]).height:
        assert time.monotonic() < deadline, "the compliance event never reached Prefect's event store"
        time.sleep(0.5)


def test_approve_mode_acts_after_approval_and_a_rerun_repeats_nothing(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    devices = _pick_devices()
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = compliance_triage(
        mode=RolloutMode.APPROVE, device_ids=_plain(devices), run_key="t-approve", return_state=True
    )
    assert state.is_completed(), state
    writes = tenant_writes(tenant)
    by_device: dict[int, list[str]] = {}
    for entry in writes:
        for device_id in entry["device_ids"]:  # type: ignore[attr-defined]
            by_device.setdefault(int(device_id), []).append(str(entry["path"]).lower())
    # Exactly the remediation per device (plus the provenance note), nothing for other devices.
    assert set(by_device) == set(_plain(devices))
    assert any("/tags/" in p and "adddevices" in p for p in by_device[devices["compromised"]])
    assert any("/profiles/" in p and p.endswith("/install") for p in by_device[devices["unencrypted_mac"]])
    assert any("/messages/push" in p for p in by_device[devices["plain"]])
    assert all(any(p.endswith("/notes") for p in paths) for paths in by_device.values())

    # The same decisions again (same run key): governance skips what was executed, without asking anyone.
    before = len(writes)
    again = compliance_triage(
        mode=RolloutMode.APPROVE, device_ids=_plain(devices), run_key="t-approve", return_state=True
    )
    assert again.is_completed(), again
    assert again.name == "SKIPPED"
    assert len(tenant_writes(tenant)) == before


def test_rejected_approval_executes_only_what_needed_none(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    devices = _pick_devices()
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = compliance_triage(
        mode=RolloutMode.APPROVE,
        device_ids=[devices["compromised"], devices["unencrypted_mac"]],
        run_key="t-reject",
        return_state=True,
    )
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []


def test_event_runs_within_the_hour_share_one_fleet_export(tenant: httpx.Client) -> None:
    """Each event-triggered run triages one device; the fleet-wide exports behind its risk score are made once
    an hour per tenant, not once per event (the suite otherwise refreshes caches, see tests/conftest.py)."""
    devices = _pick_devices()

    def report_runs() -> int:
        routes = tenant.get("/_sandbox/requests").json()["by_route"]
        return int(routes.get("POST /v1/reports/{report_id}/run", 0))

    before = report_runs()
    # The suite refreshes caches (the first run exports and stores the result); the second run reads them.
    first = compliance_triage(
        mode=RolloutMode.OBSERVE, device_id=devices["plain"], run_key="t-cache", return_state=True
    )
    after_first = report_runs()
    with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: False}):
        second = compliance_triage(
            mode=RolloutMode.OBSERVE,
            device_id=devices["unencrypted_mac"],
            run_key="t-cache",
            return_state=True,
        )
    assert first.is_completed() and second.is_completed(), (first, second)
    assert after_first - before == 2  # inventory + threat signals
    assert report_runs() == after_first  # the second event's run reused them
    [row] = _artifact_rows(second, "compliance-triage-priorities")
    assert row["device"] == devices["unencrypted_mac"] and "storage is not encrypted" in row["reasons"]
