"""The audit trail keeps ids, not personal data.

Prefect's events and artifacts are readable by anyone with API access and kept for the audit retention, so
the copy of each record written there has names, e-mail addresses and serials replaced by placeholders —
while the executor still gets the full action, and the copy reads back as the same action (correlation id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from threading import Thread
from typing import Any

import httpx
import pytest

import tests.flows.conftest as flow_fixtures
from flows.offboarding import offboarding
from flows.onboarding import onboarding
from tests._wait import wait_for
from tests.flows.test_offboarding import ACTIVE_LEAVER
from tests.flows.test_onboarding import _delete_uem_user, _pending_hire
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit_records import (
    AuditRecord,
    AuditStatus,
    RedactedAction,
    audit_copy,
    record_for,
    same_tenant,
)
from ws1ai.governance.config import RolloutMode
from ws1ai.prefect_events import iter_events
from ws1ai.sandbox import SandboxState

# The flows' fixtures: a sandbox tenant on a socket, the environment pointing at it, an approver.
sandbox_state = flow_fixtures.sandbox_state
sandbox_url = flow_fixtures.sandbox_url
tenant = flow_fixtures.tenant
approve_in_background = flow_fixtures.approve_in_background

TICKET = Action(
    run_key="offboarding:E0101046",
    kind=ActionKind.ITSM_TICKET,
    targets=("20001", "20002"),
    payload={
        "short_description": "Offboarding E0101046: recover 1 corporate device(s)",
        "description": "Barbara Mensah <barbara.mensah@corp.example.com> (E0101046 left on 2026-11-30).\n"
        "- device 20001: WinRT Latitude 5440 serial Z13KYBF (corporate)\n"
        "- device 20002: Apple iPhone 15 serial HQ3KPMCJ6GC1 (personal)",
        "category": "hardware",
    },
    rationale="E0101046 left on 2026-11-30: asset record for Barbara Mensah's returned devices",
)
USER = Action(
    run_key="onboarding:E0100003",
    kind=ActionKind.USER_CREATE,
    targets=("E0100003",),
    target_type="user",
    payload={
        "user_name": "hiroshi.tran",
        "email": "hiroshi.tran@corp.example.com",
        "first_name": "Hiroshi",
        "last_name": "Tran",
        "location_group_id": 570,
        "external_id": "E0100003",
        "department": "Finance",
    },
    rationale="new hire (pending_start, starts 2026-12-14) in Finance/Analyst",
)
PII = ("Barbara", "Mensah", "barbara.mensah", "Z13KYBF", "HQ3KPMCJ6GC1", "hiroshi", "Hiroshi", "Tran")


@pytest.mark.parametrize("action", [TICKET, USER], ids=["ticket", "user"])
def test_the_audit_copy_keeps_ids_and_keys_and_drops_personal_data(action: Action) -> None:
    record = record_for(action, AuditStatus.EXECUTED, detail="{'user_id': 10999, 'number': 'INC0010042'}")
    stored = audit_copy(record, tenant="https://as1.example.com|abc")
    text = stored.model_dump_json()
    assert not [p for p in PII if p in text], text
    copy = stored.action
    assert isinstance(copy, RedactedAction)
    assert copy.correlation_id == action.correlation_id  # the idempotency key and rollback handle
    assert set(copy.payload) == set(action.payload)  # keys kept
    assert copy.targets == action.targets and copy.run_key == action.run_key
    assert "INC0010042" in (stored.detail or "") and "10999" in (stored.detail or "")  # ids are not PII
    assert "E0101046" in text or "E0100003" in text  # employee ids stay, though they look like serials
    assert stored.tenant == "https://as1.example.com|abc"
    # The full action was not touched (the executor gets it), and the copy reads back as the same action.
    assert action.payload["description" if action is TICKET else "email"] not in text
    back = AuditRecord.model_validate_json(text)
    assert back.correlation_id == action.correlation_id and back == stored
    assert audit_copy(back) == back  # copying a copy changes nothing


def test_a_stored_copy_still_rolls_back_under_the_original_id() -> None:
    tag = Action(run_key="r", kind=ActionKind.TAG_ADD, targets=("7",), payload={"tag_id": 3})
    stored = audit_copy(record_for(tag, AuditStatus.EXECUTED))
    back = AuditRecord.model_validate_json(stored.model_dump_json())
    inverse = back.action.inverse()
    assert inverse is not None and inverse == tag.inverse()  # nothing personal to redact: the same inverse


def test_a_copy_whose_compared_field_was_redacted_is_never_read_back_as_not_applied() -> None:
    from tasks.verify import read_back

    copy = audit_copy(record_for(USER, AuditStatus.STARTED)).action
    assert "user_name" in getattr(copy, "redacted_fields", ())
    # "Cannot tell" without asking the tenant (no client is even given): the copy does not know the username.
    assert read_back(None, None, copy, ["E0100003"]) == {"E0100003": None}  # type: ignore[arg-type]


def test_tenant_scopes_match_on_host_code_and_instance() -> None:
    assert same_tenant("h|c|i1", "h|c|i1")
    assert not same_tenant("h|c|i1", "h|c|i2")  # a re-seeded sandbox: earlier writes are not true here
    assert not same_tenant("h|c", "h2|c") and not same_tenant("h|c", "h|c2")
    assert same_tenant(None, "h|c|i1") and same_tenant("h|c", "h|c|i1")  # knowing less: never repeat


def _personal_data(state: SandboxState) -> set[str]:
    names = set(state.employees.get_column("name").to_list())
    emails = {e.lower() for e in state.employees.get_column("email").to_list()}
    serials = {r.serial for r in state.devices.values() if r.serial}
    return names | emails | serials


def _events_since(since: datetime) -> list[dict[str, Any]]:
    from prefect.events.filters import EventFilter, EventOccurredFilter

    until = datetime.now(UTC) + timedelta(minutes=1)
    flt = EventFilter(occurred=EventOccurredFilter(since=since, until=until))
    return [json.loads(e.model_dump_json()) for e in iter_events(flt)]


def _artifacts_of(api: str, run_ids: set[str]) -> list[dict[str, Any]]:
    body = {"artifacts": {"flow_run_id": {"any_": sorted(run_ids)}}, "limit": 200}
    artifacts: list[dict[str, Any]] = httpx.post(f"{api}/artifacts/filter", json=body, timeout=30).json()
    return artifacts


@pytest.mark.prefect
def test_no_employee_name_email_or_serial_reaches_prefect_events_or_artifacts(
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    approve_in_background: Callable[..., Thread],
    prefect_server: str,
) -> None:
    from ws1ai.governance.audit import flush_events

    since = datetime.now(UTC) - timedelta(seconds=1)
    hire = _pending_hire(sandbox_state)
    _delete_uem_user(tenant, sandbox_state, hire["email"])
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    created = onboarding(
        employee_id=hire["employee_id"], mode=RolloutMode.APPROVE, run_key_prefix="t-pii", return_state=True
    )
    assert created.is_completed(), created
    assert [e["operation"] for e in flow_fixtures.tenant_writes(tenant)][-1] == "User.Create"  # it acted
    # Offboarding plans wipes, the account and the ticket naming the leaver and serials (observe: no write).
    planned = offboarding(employee_id=ACTIVE_LEAVER, mode=RolloutMode.OBSERVE, return_state=True)
    assert planned.is_completed(), planned
    flush_events()

    def audit_kinds(events: list[dict[str, Any]]) -> set[str]:
        return {e["payload"]["kind"] for e in events if e["event"].startswith("ws1ai.action.")}

    # The server persists events in the background: wait until the records of both runs are all there.
    wanted = {"user_create", "itsm_ticket", "user_deactivate"}
    events = wait_for(lambda: _events_since(since), lambda evs: wanted <= audit_kinds(evs))
    audit = [e for e in events if e["event"].startswith("ws1ai.action.")]
    kinds = audit_kinds(events)
    assert {"user_create", "itsm_ticket", "user_deactivate"} <= kinds, kinds  # the records are there
    run_ids = {
        r["prefect.resource.id"].removeprefix("prefect.flow-run.")
        for e in audit
        for r in e["related"]
        if r["prefect.resource.id"].startswith("prefect.flow-run.")
    }
    artifacts = _artifacts_of(prefect_server, run_ids)
    assert any(str(a.get("key") or "").startswith("ws1ai-audit") for a in artifacts), artifacts

    personal = _personal_data(sandbox_state)
    leaks = {
        f"{where}: {value}"
        for where, item in [
            *((f"event {e['event']}", e) for e in events),
            *((f"artifact {a.get('key')}", a) for a in artifacts),
        ]
        for text in [json.dumps(item).lower()]
        for value in personal
        if value.lower() in text
    }
    assert not leaks, f"{len(leaks)} personal values in Prefect: {sorted(leaks)[:10]}"
