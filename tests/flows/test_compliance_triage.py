"""Compliance triage end to end: real Prefect server, sandbox on a socket, approval via the resume API."""

from __future__ import annotations

import json
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
from tests._wait import wait_for
from tests.connectors.fake_openai import FakeOpenAI, Reply
from tests.flows.conftest import tenant_writes
from ws1ai.connectors.prompts import load_prompt
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.config import RolloutMode
from ws1ai.sandbox import SandboxState
from ws1ai.sandbox.server import serve_in_background
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
    # Workspace ONE told the receiver ten days ago (tenant clock) that the device fell out of compliance.
    ten_days_ago = SANDBOX.now() - timedelta(days=10)
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
    seen = wait_for(lambda: read_compliance_history.fn([device]).height, interval=0.5)
    assert seen, "the compliance event never reached Prefect's event store"


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
    # A provenance note after each write whose tier keeps one (GovernanceSettings.device_notes); the low-tier
    # reminder leaves none (its correlation id travels on the request and is in the audit trail).
    noted = {d: any(p.endswith("/notes") for p in paths) for d, paths in by_device.items()}
    assert noted == {d: d != devices["plain"] for d in by_device}

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
    # Something was planned for both devices, and the audit trail shows each plan rejected, not forgotten.
    records = PrefectAuditStore().read(run_keys=["t-reject"])
    planned = {r.correlation_id for r in records if r.status is AuditStatus.PLANNED}
    rejected = {r.correlation_id for r in records if r.status is AuditStatus.REJECTED}
    targets = {t for r in records if r.status is AuditStatus.PLANNED for t in r.action.targets}
    assert targets == {str(devices["compromised"]), str(devices["unencrypted_mac"])}
    assert planned and rejected == planned
    assert not any(r.status is AuditStatus.EXECUTED for r in records)


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


def _emit_violation(device: int, started: datetime) -> None:
    """What the webhook receiver posts when Workspace ONE reports a compliance change (tenant-clock time)."""
    emit_event(
        event=COMPLIANCE_EVENT,
        resource={
            "prefect.resource.id": f"ws1.device.{device}",
            "prefect.resource.name": str(device),
            "ws1.device.compliance-status": "NonCompliant",
        },
        payload={"event_time": started.isoformat(), "compliance_status": "NonCompliant"},
    )
    _wait_for_history(device)


def _audited(run_key: str) -> dict[int, Action]:
    """The actions the audit trail recorded for `run_key`, by device."""
    return {
        int(r.action.targets[0]): r.action
        for r in PrefectAuditStore().read(run_keys=[run_key])
        if r.status is AuditStatus.PLANNED
    }


def test_a_violation_just_begun_is_not_weeks_old_and_not_despite_reminders(tenant: httpx.Client) -> None:
    """The age is measured on the tenant's clock, which here is weeks behind this machine's calendar."""
    device = _pick_devices()["plain"]
    assert SANDBOX.now().date() != datetime.now(UTC).date()  # otherwise this test proves nothing
    _emit_violation(device, SANDBOX.now())  # just now, on the tenant's clock
    state = compliance_triage(
        mode=RolloutMode.OBSERVE, device_ids=[device], run_key="t-fresh", return_state=True
    )
    assert state.is_completed(), state
    [row] = _artifact_rows(state, "compliance-triage-priorities")
    assert row["days_non_compliant"] == 0
    [decision] = _artifact_rows(state, "compliance-triage-decisions")
    assert decision["remediation"] == "notify_user" and "despite" not in decision["why"]
    assert decision["why"].startswith("non-compliant for 0 days;")
    # The audit trail says the same, and that the rule decided because no LLM is configured.
    action = _audited("t-fresh")[device]
    assert action.rationale == decision["why"]
    assert (action.decided_by, action.prompt_version, action.model_version) == ("rule", None, None)
    assert action.fallback_reason is not None and "not configured" in action.fallback_reason


def test_despite_reminders_only_after_a_reminder_was_executed(tenant: httpx.Client) -> None:
    device = _pick_devices()["plain"]
    _emit_violation(device, SANDBOX.now() - timedelta(days=12))
    # Twelve days, but nobody was reminded: the reminder goes out first (auto mode: it is low tier).
    first = compliance_triage(
        mode=RolloutMode.AUTO, device_ids=[device], run_key="t-remind-1", return_state=True
    )
    assert first.is_completed(), first
    [decision] = _artifact_rows(first, "compliance-triage-decisions")
    assert decision["remediation"] == "notify_user"
    assert decision["why"] == "non-compliant for 12 days and no reminder sent yet: remind the user first"
    pushes = [e for e in tenant_writes(tenant) if "/messages/push" in str(e["path"]).lower()]
    assert [e["device_ids"] for e in pushes] == [[device]]
    # The next day's run: the audit trail shows one executed reminder during this violation.
    second = compliance_triage(
        mode=RolloutMode.OBSERVE, device_ids=[device], run_key="t-remind-2", return_state=True
    )
    assert second.is_completed(), second
    [decision] = _artifact_rows(second, "compliance-triage-decisions")
    assert decision["remediation"] == "escalate"
    assert decision["why"] == "non-compliant for 12 days despite 1 reminder sent during this violation"
    ticket = _audited("t-remind-2")[device]
    assert ticket.kind is ActionKind.ITSM_TICKET and ticket.payload["category"] == "security"


def test_the_llm_decides_inside_the_flow_and_sees_no_personal_data(tenant: httpx.Client) -> None:
    """The fake OpenAI server answers the first device and garbles the second: one LLM decision (its model
    and prompt version recorded) and one rule decision (with why), and no name, email or serial sent."""
    devices = _pick_devices()
    ids = [devices["compromised"], devices["unencrypted_mac"]]
    server = FakeOpenAI()
    answer = {"remediation": "escalate", "rationale": "needs a technician's look", "confidence": 0.55}
    server.script(Reply(content=json.dumps(answer)), Reply(content="not json at all"))
    with serve_in_background(server.app()) as base_url, pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", f"{base_url}/v1")
        env.setenv("OPENAI_API_KEY", "sk-test")
        env.setenv("OPENAI_MODEL", "fake-1")
        state = compliance_triage(
            mode=RolloutMode.OBSERVE, device_ids=ids, run_key="t-llm", return_state=True
        )
    assert state.is_completed(), state
    assert len(server.requests) == 2
    sent = json.dumps(server.requests)
    for device_id in ids:
        record = SANDBOX.devices[device_id]
        for personal in (record.serial, record.user_name, record.user_email):
            assert personal and personal not in sent, f"{personal!r} reached the LLM"
    audited = _audited("t-llm")
    by_llm = [a for a in audited.values() if a.decided_by == "llm"]
    by_rule = [a for a in audited.values() if a.decided_by == "rule"]
    assert len(by_llm) == 1 and len(by_rule) == 1, audited
    assert by_llm[0].rationale == "needs a technician's look" and by_llm[0].kind is ActionKind.ITSM_TICKET
    prompt = load_prompt("compliance_triage").ref
    assert (by_llm[0].model_version, by_llm[0].prompt_version) == ("fake-1", prompt)
    assert by_llm[0].fallback_reason is None
    assert by_rule[0].prompt_version is None and by_rule[0].model_version is None
    assert by_rule[0].fallback_reason is not None and "invalid" in by_rule[0].fallback_reason
