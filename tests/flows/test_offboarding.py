"""Offboarding end to end: real Prefect server, sandbox tenant on a socket, approvals via the resume API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from threading import Thread

import httpx
import pytest
from prefect.logging import disable_run_logger

from flows.offboarding import offboarding
from tasks.hris import read_leavers
from tests.flows.conftest import tenant_writes
from ws1ai.connectors.hris import HRISClient
from ws1ai.governance.approval import Decision
from ws1ai.governance.config import RolloutMode
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect

# In the flows fixture fleet (600 devices, seed 23): a leaver past the end date whom HR has not marked
# terminated yet (account still active, one corporate device with paid apps), and a terminated leaver with a
# personal (BYOD) and a corporate device. Preconditions are checked, so a fleet change fails loudly here.
ACTIVE_LEAVER = "E0101046"
BYOD_LEAVER = "E0101289"


def _leaver_facts(employee_id: str) -> tuple[str, dict[int, str], list[int]]:
    """(email, {device id: ownership}, paid app ids on them) read through the APIs, not from the policy."""
    with HRISClient() as hris:
        emp = hris.employee(employee_id)
    assert emp.status == "terminated" or (emp.end_date is not None and emp.end_date <= date.today())
    with UEMClient(read_only=True) as uem:
        paid = {a.id.value for a in uem.apps.iter_search() if (a.price or 0) > 0 and a.id is not None}
        user = next(u for u in uem.users.search(email=emp.email).items)
        devices = {
            d.device_id: str(d.ownership)
            for d in uem.devices.iter_search(user=user.user_name)
            if d.device_id is not None and (d.user_email_address or "").lower() == emp.email.lower()
        }
        apps = [
            a.id.value
            for device_id in devices
            for a in uem.devices.iter_apps(device_id)
            if a.id is not None and a.id.value is not None and a.id.value in paid
        ]
    return emp.email, devices, apps


def test_leavers_since_a_date_come_from_the_hris_changes(tenant: httpx.Client) -> None:
    today = date.today()
    with disable_run_logger():
        leavers = read_leavers.fn(None, date(2026, 11, 1), today, 50)
    ids = {leaver.employee_id for leaver in leavers}
    assert ACTIVE_LEAVER in ids and BYOD_LEAVER not in ids  # the latter left in August
    active = next(leaver for leaver in leavers if leaver.employee_id == ACTIVE_LEAVER)
    assert active.uem_user_active and active.uem_user_id is not None and active.devices
    assert all(leaver.end_date is not None and leaver.end_date >= date(2026, 11, 1) for leaver in leavers)
    assert tenant_writes(tenant) == []  # reading is reading


def test_observe_mode_sends_no_write(tenant: httpx.Client) -> None:
    state = offboarding(employee_id=ACTIVE_LEAVER, mode=RolloutMode.OBSERVE, return_state=True)
    assert state.is_completed(), state
    assert state.name != "SKIPPED"  # there was something to do; observe only reported it
    assert tenant_writes(tenant) == []


def test_approved_offboarding_acts_once_and_a_second_run_changes_nothing(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    _, devices, apps = _leaver_facts(ACTIVE_LEAVER)
    assert len(devices) == 1 and apps, (devices, apps)
    [device_id] = devices
    # Wipes need two distinct verified approvers.
    approve_in_background(Decision.APPROVE, approvers=("alice", "bob"))
    state = offboarding(employee_id=ACTIVE_LEAVER, mode=RolloutMode.APPROVE, return_state=True)
    assert state.is_completed(), state
    writes = tenant_writes(tenant)
    # Exactly: each paid app uninstalled, one enterprise wipe, the account deactivated, one asset record,
    # and a provenance note on the device per device action — nothing else, on no other device.
    assert Counter(str(e["operation"]) for e in writes) == {
        "App.Uninstall": len(apps),
        "Command.EnterpriseWipe": 1,
        "User.Deactivate": 1,
        "ServiceNow.CreateIncident": 1,
        "AddNote": len(apps) + 1,
    }
    uninstalled = sorted(e["app_id"] for e in writes if e["operation"] == "App.Uninstall")
    assert uninstalled == sorted(apps)
    assert {d for e in writes for d in e["device_ids"]} == {device_id}
    wipe_cid = next(e["correlation_id"] for e in writes if e["operation"] == "Command.EnterpriseWipe")
    notes = [e for e in writes if e["operation"] == "AddNote" and wipe_cid in str(e["payload"])]
    assert notes, "the wipe's device note names its correlation id"

    # Second run (a scheduled one, in auto mode): the user is inactive, the wipe is pending, the ticket
    # was executed under the same correlation id — the ledger gains no write.
    before = len(writes)
    again = offboarding(employee_id=ACTIVE_LEAVER, mode=RolloutMode.AUTO, return_state=True)
    assert again.is_completed(), again
    assert len(tenant_writes(tenant)) == before


def test_rejected_wipe_executes_nothing(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    _, devices, _ = _leaver_facts(BYOD_LEAVER)
    assert "EmployeeOwned" in devices.values() and len(devices) >= 2, devices
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = offboarding(employee_id=BYOD_LEAVER, mode=RolloutMode.APPROVE, return_state=True)
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []
