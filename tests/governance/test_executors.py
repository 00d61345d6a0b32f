"""Device deletion and ITSM updates execute through the real APIs (sandbox over HTTP), and an ITSM ticket
carries the action's own correlation id in the tenant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tasks.actions import ActionExecutor
from tests.sandbox.conftest import basic_headers
from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.settings import AuthMode, ServiceNowSettings, UEMSettings
from ws1ai.uem import UEMClient
from ws1ai.uem.errors import UEMNotFound


@pytest.fixture(scope="module")
def seeded() -> SandboxState:
    return SandboxState.seeded(devices=30, seed=3, days=3, rate_limit_per_minute=100_000)


@pytest.fixture
def http(seeded: SandboxState) -> Iterator[httpx.Client]:
    seeded.reset()
    with TestClient(create_app(seeded), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def executor(http: httpx.Client) -> Iterator[ActionExecutor]:
    uem_settings = UEMSettings(  # type: ignore[call-arg]
        _env_file=None,
        base_url="http://testserver",
        token_url="http://testserver/connect/token",
        auth_mode=AuthMode.BASIC,
        daily_quota_reserve=0,
    )
    sn_settings = ServiceNowSettings(_env_file=None, base_url="http://testserver")  # type: ignore[call-arg]
    with UEMClient(uem_settings, http=http) as uem, ServiceNowClient(sn_settings, http=http) as sn:
        yield ActionExecutor(uem, sn)


def _ledger(http: httpx.Client) -> list[dict[str, Any]]:
    return list(http.get("/_sandbox/ledger").json()["entries"])


def test_device_delete_removes_the_record_once_and_leaves_no_note(
    executor: ActionExecutor, http: httpx.Client, seeded: SandboxState
) -> None:
    device = sorted(seeded.devices)[0]
    action = Action(run_key="t-del", kind=ActionKind.DEVICE_DELETE, targets=[device], rationale="retired")
    assert action.inverse() is None and action.irreversible_reason()  # declared irreversible

    outcome = executor(action)

    assert outcome.done == (str(device),) and not outcome.failed and not outcome.unknown
    with pytest.raises(UEMNotFound):
        executor.uem.devices.get(device)
    [entry] = _ledger(http)  # the delete only: a deleted device has no record to carry a note
    assert (entry["operation"], entry["method"], entry["device_ids"]) == ("DeleteDevice", "DELETE", [device])
    assert entry["correlation_id"] == action.correlation_id

    # A retry (say, after a lost answer) finds the record gone: the end state holds, nothing is sent twice.
    again = executor(action)
    assert again.done == (str(device),) and again.info == {"already_absent": [str(device)]}
    assert len(_ledger(http)) == 1


def test_the_sandbox_delete_answers_like_the_api(http: httpx.Client, seeded: SandboxState) -> None:
    headers = basic_headers()
    device = sorted(seeded.devices)[1]
    uuid = seeded.devices[device].uuid
    by_uuid = http.delete(f"/api/mdm/devices/{uuid}", headers=headers)  # v1 addresses devices by number
    assert by_uuid.status_code == 404 and by_uuid.json()["errorCode"] == 5061
    assert http.delete(f"/api/mdm/devices/{device}", headers=headers).status_code == 204
    gone = http.delete(f"/api/mdm/devices/{device}", headers=headers)
    assert gone.status_code == 404
    assert gone.json()["message"] == "Device not found for this request." and gone.json()["activityId"]


def test_an_itsm_ticket_carries_the_actions_correlation_id_in_the_tenant(
    executor: ActionExecutor, http: httpx.Client
) -> None:
    ticket = Action(
        run_key="t-ticket",
        kind=ActionKind.ITSM_TICKET,
        targets=["10001"],
        payload={"short_description": "Replace laptop", "correlation_id": "caller-chosen"},
    )
    outcome = executor(ticket)
    assert executor.servicenow is not None
    [found] = executor.servicenow.find_incidents(f"correlation_id={ticket.correlation_id}")
    assert found.number == outcome.info["number"] and found.correlation_id == ticket.correlation_id
    [entry] = _ledger(http)
    assert entry["operation"] == "ServiceNow.CreateIncident"
    assert entry["correlation_id"] == ticket.correlation_id


def test_itsm_update_patches_the_incident_and_writes_its_work_note_once(
    executor: ActionExecutor, http: httpx.Client
) -> None:
    sn = executor.servicenow
    assert sn is not None
    opened = executor(Action(run_key="t-upd", kind=ActionKind.ITSM_TICKET, targets=["7"], payload={}))
    sys_id, number = opened.info["sys_id"], opened.info["number"]
    update = Action(
        run_key="t-upd",
        kind=ActionKind.ITSM_UPDATE,
        targets=[number],  # by number; a sys_id works too
        target_type="ticket",
        payload={"work_notes": "Device wiped after approval", "state": "2"},
    )

    assert executor.verify(update, [number]) == {number: False}  # governance's read-back for in-doubt
    outcome = executor(update)

    assert outcome.done == (number,) and not outcome.failed
    assert executor.verify(update, [number]) == {number: True}
    incident = sn.get_incident(sys_id)
    assert incident.state == "2"
    assert incident.model_extra and incident.model_extra["work_notes"] == ""  # journal fields read back empty
    [note] = sn.journal(sys_id)
    assert note.value == f"Device wiped after approval\n[ws1ai correlation-id={update.correlation_id}]"
    updates = [e for e in _ledger(http) if e["operation"] == "ServiceNow.UpdateIncident"]
    assert [e["correlation_id"] for e in updates] == [update.correlation_id]

    # Repeated (a retry after a lost answer): the note is found in the journal and not appended again.
    assert executor(update).done == (number,)
    assert len(sn.journal(sys_id)) == 1
    assert len([e for e in _ledger(http) if e["operation"] == "ServiceNow.UpdateIncident"]) == 1

    unknown = Action(**update.model_dump(exclude={"correlation_id", "targets"}), targets=["INC9999999"])
    missing = executor(unknown)
    assert not missing.done and "INC9999999" in missing.failed
