"""Bulk execution through governance on a sandbox tenant over HTTP: each target's true outcome is recorded
from the bulk response (per-item faults, a lost response), a re-run sends only what is not done, and a
rollback of a bulk tag add removes exactly the devices it added."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tasks.actions import ActionExecutor
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit_records import AuditStatus, MemoryAuditStore, audit_copy
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import execute_actions, rollback
from ws1ai.governance.execute_state import action_state
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import AuthMode, SandboxSettings, UEMSettings
from ws1ai.uem import UEMClient
from ws1ai.uem.ratelimit import clear_registry

REMINDER = "Your device is out of compliance: please update it today."


@pytest.fixture(scope="module")
def sandbox_state() -> SandboxState:
    return SandboxState.seeded(devices=60, seed=9, days=3)


@pytest.fixture
def tenant(sandbox_state: SandboxState) -> Iterator[httpx.Client]:
    """The tenant on a loopback socket (a dropped response needs one); `/_sandbox` is its control plane."""
    sandbox_state.reset()
    clear_registry()
    app = create_app(sandbox_state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as control:
        yield control
    clear_registry()


@pytest.fixture
def uem(tenant: httpx.Client) -> Iterator[UEMClient]:
    url = str(tenant.base_url).rstrip("/")
    settings = UEMSettings(  # type: ignore[call-arg]
        _env_file=None,  # the tenant is this sandbox, whatever a local .env says
        base_url=url,
        token_url=f"{url}/connect/token",
        auth_mode=AuthMode.BASIC,
        rate_limit_per_minute=60_000,
        daily_quota_reserve=0,
        timeout_seconds=2.0,
    )
    with UEMClient(settings) as client:
        yield client


@pytest.fixture
def settings() -> GovernanceSettings:
    return GovernanceSettings(_env_file=None)  # type: ignore[call-arg]  # defaults: no notes for low tier


def _writes(tenant: httpx.Client, since: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = tenant.get("/_sandbox/ledger").json()["entries"]
    return entries[since:]


def _enrolled(state: SandboxState, n: int) -> list[int]:
    ids = sorted(r.id for r in state.devices.values() if r.enrollment_status == "Enrolled" and r.serial)
    assert len(ids) >= n
    return ids[:n]


def _push(targets: list[int], run_key: str) -> Action:
    return Action(
        run_key=run_key,
        kind=ActionKind.MESSAGE_SEND,
        targets=targets,
        payload={"channel": "push", "body": REMINDER},
        rationale="out of compliance for 7 days",
    )


def test_per_item_faults_are_recorded_exactly_and_a_rerun_sends_only_to_them(
    tenant: httpx.Client, uem: UEMClient, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    devices = _enrolled(sandbox_state, 10)
    refused = devices[3], devices[7]
    for d in refused:
        fault = {"value": sandbox_state.devices[d].serial, "error_code": 4001, "message": "APNs refused"}
        assert tenant.post("/_sandbox/bulk-faults", json=fault).status_code == 201
    action, store = _push(devices, "bulk-faults"), MemoryAuditStore()
    executor = ActionExecutor(uem, settings=settings)

    first = execute_actions([action], executor, store=store)

    cid = action.correlation_id
    assert cid in first.partial
    assert first.targets[cid] == {str(d): "failed" if d in refused else "done" for d in devices}
    result = store.records[-1]
    assert result.status is AuditStatus.PARTIAL and result.outcome is not None
    assert result.outcome.failed == dict.fromkeys(map(str, refused), "ErrorCode 4001: APNs refused")
    # One bulk call for the ten devices, carrying the action's correlation id; no per-device note (low tier).
    [push] = _writes(tenant)
    assert (push["operation"], push["correlation_id"]) == ("Message.push", cid)
    assert sorted(push["device_ids"]) == sorted(d for d in devices if d not in refused)
    # Serial numbers addressed the devices but are not in what governance recorded (ids only).
    serials = [sandbox_state.devices[d].serial for d in devices]
    for record in store.records:
        assert not any(s in record.model_dump_json() for s in serials)

    second = execute_actions([action], executor, store=store)

    assert second.executed == [cid]
    [again] = _writes(tenant, 1)
    assert again["operation"] == "Message.push" and sorted(again["device_ids"]) == sorted(refused)
    assert action_state(action, store.records).done == sorted(map(str, devices))


def test_a_lost_bulk_response_leaves_every_target_in_doubt_and_nothing_is_resent(
    tenant: httpx.Client, uem: UEMClient, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    devices = _enrolled(sandbox_state, 10)
    lost = {"kind": "drop_after", "route": "bulkpush", "count": 1}
    assert tenant.post("/_sandbox/faults", json=lost).status_code in (200, 201)
    action, store = _push(devices, "bulk-lost"), MemoryAuditStore()
    executor = ActionExecutor(uem, settings=settings)

    first = execute_actions([action], executor, store=store)

    cid = action.correlation_id
    assert cid in first.in_doubt
    assert set(first.targets[cid].values()) == {"unknown"}
    assert all("not re-sent" in why for why in (store.records[-1].outcome or _never()).unknown.values())
    # The tenant acted on the lost call exactly once: the client did not send it again.
    [push] = _writes(tenant)
    assert push["operation"] == "Message.push" and sorted(push["device_ids"]) == devices

    # A re-run reads the devices back (a push is not safe to repeat blindly): found sent, recorded done.
    second = execute_actions([action], executor, store=store)
    assert second.executed == [cid] and _writes(tenant, 1) == []


def _never() -> Any:
    raise AssertionError("the result record has no outcome")


def test_rollback_of_a_bulk_tag_add_removes_exactly_what_it_added(
    tenant: httpx.Client, uem: UEMClient, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    tag = uem.tags.create("ws1ai test watch", 570).value
    assert tag is not None
    devices = sorted(sandbox_state.devices)[:8]
    had_it, refused = devices[0], devices[5]
    uem.tags.add_devices(tag, [had_it])  # tagged before the action: a rollback must leave it tagged
    assert tenant.post("/_sandbox/bulk-faults", json={"value": str(refused)}).status_code == 201
    since = len(_writes(tenant))
    add = Action(run_key="bulk-tag", kind=ActionKind.TAG_ADD, targets=devices, payload={"tag_id": tag})
    store = MemoryAuditStore()
    executor = ActionExecutor(uem, settings=settings, audit=store)

    report = execute_actions([add], executor, store=store)

    cid = add.correlation_id
    assert report.targets[cid] == {str(d): "failed" if d == refused else "done" for d in devices}
    outcome = store.records[-1].outcome
    assert outcome is not None and outcome.info == {"unchanged": [str(had_it)]}
    assert audit_copy(store.records[-1]).outcome == outcome  # the audit copy keeps the ids
    [added] = _writes(tenant, since)
    assert added["operation"] == "Tag.AddDevices"
    assert sorted(added["device_ids"]) == [d for d in devices if d not in (had_it, refused)]

    undo = rollback([cid], executor, store=store, settings=settings, mode=RolloutMode.AUTO)

    assert undo.rolled_back == [cid]
    [removed] = _writes(tenant, since + 1)
    assert removed["operation"] == "Tag.RemoveDevices"
    assert sorted(removed["device_ids"]) == [d for d in devices if d not in (had_it, refused)]
    assert {d.device_id for d in uem.tags.devices(tag)} == {had_it}


def test_a_bulk_lock_is_one_call_read_back_and_noted_for_its_tier(
    tenant: httpx.Client, uem: UEMClient, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    devices = _enrolled(sandbox_state, 4)
    lock = Action(run_key="bulk-lock", kind=ActionKind.DEVICE_LOCK, targets=devices, rationale="lost")
    executor = ActionExecutor(uem, settings=settings)

    outcome = executor(lock)

    assert outcome.done == tuple(str(d) for d in devices) and not outcome.failed
    writes = _writes(tenant)
    [command] = [e for e in writes if e["operation"] != "AddNote"]
    assert command["operation"] == "Command.LockDevice" and sorted(command["device_ids"]) == devices
    # High tier keeps its provenance note per device (after the write).
    assert sorted(e["device_ids"][0] for e in writes if e["operation"] == "AddNote") == devices
    # The read-back governance uses for an in-doubt lock recognises the bulk command in the event log.
    assert executor.verify(lock, [str(d) for d in devices]) == {str(d): True for d in devices}
