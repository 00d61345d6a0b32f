"""Offboarding end to end: real Prefect server, sandbox tenant on a socket, approvals via the resume API."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from prefect.logging import disable_run_logger

from flows.offboarding import offboarding
from tasks.hris import read_leavers
from tests.flows.conftest import tenant_writes, token_for
from ws1ai.connectors.hris import HRISClient
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.audit_export import export
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.resume import list_pending, submit_decision
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect

# In the flows fixture fleet (600 devices, seed 23): a leaver past the end date whom HR has not marked
# terminated yet (account still active, one corporate device with paid apps), and a terminated leaver with a
# personal (BYOD) and a corporate device. Preconditions are checked, so a fleet change fails loudly here.
ACTIVE_LEAVER = "E0101046"
BYOD_LEAVER = "E0101289"


# Offboarding asks twice in approve mode: the licences/wipes/account, then — once their outcome is known —
# the asset record that says what happened. Each step is answered by title.
WIPE_STEP, RECORD_STEP = "Offboarding: ", "Offboarding asset records"
Steps = list[tuple[str, Decision, tuple[str, ...]]]


@pytest.fixture
def answer() -> Iterator[list[Steps]]:
    """Append the steps to answer (title prefix, decision, approvers) — a thread answers them in order."""
    stop = threading.Event()
    plans: list[Steps] = []
    threads: list[threading.Thread] = []

    def run(steps: Steps) -> None:
        for prefix, decision, approvers in steps:
            last_round = 0
            for who in approvers:
                while not stop.is_set():
                    try:
                        pending = [p for p in list_pending() if p.request.title.startswith(prefix)]
                    except Exception:  # a busy test server: look again
                        pending = []
                    if pending and pending[0].request.round > last_round:
                        last_round = pending[0].request.round
                        submit_decision(
                            pending[0].flow_run_id,
                            approver=who,
                            credential=token_for(who),
                            decision=decision,
                        )
                        break
                    time.sleep(0.3)

    class Starter(list[Steps]):
        def append(self, steps: Steps) -> None:
            thread = threading.Thread(target=run, args=(steps,), daemon=True, name="test-approver")
            thread.start()
            threads.append(thread)

    plans = Starter()
    yield plans
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


def _ticket_text(writes: list[dict[str, object]]) -> str:
    (ticket,) = [e for e in writes if e["operation"] == "ServiceNow.CreateIncident"]
    return str(ticket["payload"])


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
    tenant: httpx.Client, answer: list[Steps]
) -> None:
    _, devices, apps = _leaver_facts(ACTIVE_LEAVER)
    assert len(devices) == 1 and apps, (devices, apps)
    [device_id] = devices
    # Wipes need two distinct verified approvers; the asset record that follows, one.
    answer.append(
        [(WIPE_STEP, Decision.APPROVE, ("alice", "bob")), (RECORD_STEP, Decision.APPROVE, ("alice",))]
    )
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
    assert "enterprise wipe sent" in _ticket_text(writes) and "NOT wiped" not in _ticket_text(writes)

    # Second run (a scheduled one, in auto mode): the user is inactive, the wipe is pending, the ticket
    # was executed under the same correlation id — the ledger gains no write.
    before = len(writes)
    again = offboarding(employee_id=ACTIVE_LEAVER, mode=RolloutMode.AUTO, return_state=True)
    assert again.is_completed(), again
    assert len(tenant_writes(tenant)) == before


def test_rejected_wipe_executes_nothing(tenant: httpx.Client, answer: list[Steps]) -> None:
    _, devices, _ = _leaver_facts(BYOD_LEAVER)
    assert "EmployeeOwned" in devices.values() and len(devices) >= 2, devices
    answer.append([(WIPE_STEP, Decision.REJECT, ("alice",)), (RECORD_STEP, Decision.REJECT, ("alice",))])
    state = offboarding(employee_id=BYOD_LEAVER, mode=RolloutMode.APPROVE, return_state=True)
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []
    # Something was planned and the audit trail shows it rejected (not merely "nothing happened").
    rows = [json.loads(line) for line in export(PrefectAuditStore(GovernanceSettings())).splitlines()]
    run_key = f"offboarding:{BYOD_LEAVER}"
    wipes = [r for r in rows if r["kind"] == "enterprise_wipe" and r["run_key"] == run_key]
    assert {str(d) for r in wipes for d in r["targets"]} == {str(d) for d in devices}
    assert {r["status"] for r in wipes} == {"rejected"}


def test_a_rejected_wipe_is_not_claimed_by_the_asset_record(
    tenant: httpx.Client, answer: list[Steps]
) -> None:
    _, devices, _ = _leaver_facts(BYOD_LEAVER)
    # The wipes are rejected, the asset record is approved: it must say the devices were NOT wiped.
    answer.append([(WIPE_STEP, Decision.REJECT, ("alice",)), (RECORD_STEP, Decision.APPROVE, ("alice",))])
    state = offboarding(employee_id=BYOD_LEAVER, mode=RolloutMode.APPROVE, return_state=True)
    assert state.is_completed(), state
    writes = tenant_writes(tenant)
    assert [e["operation"] for e in writes] == ["ServiceNow.CreateIncident"]  # no wipe, no uninstall
    text = _ticket_text(writes)
    assert "enterprise wipe sent" not in text and "enterprise-wiped" not in text
    assert text.count("NOT wiped: the wipe was not approved") == len(devices)
    assert "0 of" in text
