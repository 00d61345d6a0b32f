"""A governed batch re-run on a sandbox tenant: nothing is written twice and the trail says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prefect import flow, get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from tasks.actions import ActionExecutor
from tests._wait import wait_for
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore, flush_events
from ws1ai.governance.audit_export import export
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, RollbackReport, govern, rollback
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import AuthMode, SandboxSettings, UEMSettings
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect

BATTERY_WATCH_TAG = 11  # one of the sandbox's seeded tags


@pytest.fixture
def sandbox_state() -> SandboxState:
    return SandboxState.seeded(devices=12, seed=5, days=3)


@pytest.fixture
def sandbox(sandbox_state: SandboxState) -> Iterator[httpx.Client]:
    """A small tenant on a loopback socket; the client's `/_sandbox/ledger` lists every write it received."""
    app = create_app(sandbox_state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as control:
        yield control


def _ledger(sandbox: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = sandbox.get("/_sandbox/ledger").json()["entries"]
    return entries


def test_rerun_writes_nothing_twice_and_records_why(
    prefect_server: str, gov_settings: GovernanceSettings, sandbox_state: SandboxState, sandbox: httpx.Client
) -> None:
    settings = gov_settings.model_copy(update={"audit_artifact_prefix": "ws1ai-audit-rerun"})
    store = PrefectAuditStore(settings)
    url = str(sandbox.base_url).rstrip("/")
    uem_settings = UEMSettings(  # type: ignore[call-arg]
        _env_file=None,  # the tenant is this sandbox, whatever a local .env says
        base_url=url,
        token_url=f"{url}/connect/token",
        auth_mode=AuthMode.BASIC,
        rate_limit_per_minute=60_000,
        daily_quota_reserve=0,
    )
    devices = sorted(sandbox_state.devices)[:3]
    since = datetime.now(UTC) - timedelta(seconds=5)
    tag = Action(
        run_key="rerun-1",
        kind=ActionKind.TAG_ADD,
        targets=devices[:2],
        payload={"tag_id": BATTERY_WATCH_TAG},
        rationale="battery health below 70%",
    )
    sync = Action(run_key="rerun-1", kind=ActionKind.DEVICE_SYNC, targets=devices[2:], rationale="stale")

    @flow(name="ws1ai-test-rerun")
    def run() -> GovernanceReport:
        with UEMClient(uem_settings) as uem:
            return govern(
                [tag, sync], ActionExecutor(uem), store=store, settings=settings, mode=RolloutMode.AUTO
            )

    first = run()
    after_first = _ledger(sandbox)
    second = run()
    # The tenant saw the batch exactly once: the re-run sent no write at all.
    assert sorted(first.execution.executed) == sorted([tag.correlation_id, sync.correlation_id])
    assert _ledger(sandbox) == after_first
    assert {e["correlation_id"] for e in after_first} == {tag.correlation_id, sync.correlation_id}
    assert second.plan.empty and sorted(second.already_executed) == sorted(first.execution.executed)

    # ... and the audit trail says why: one `skipped` record per action, naming the run that executed it.
    records = store.read(run_keys={"rerun-1"})
    executed = {r.correlation_id: r for r in records if r.status is AuditStatus.EXECUTED}
    skipped = {r.correlation_id: r for r in records if r.status is AuditStatus.SKIPPED}
    assert skipped.keys() == executed.keys() == {tag.correlation_id, sync.correlation_id}
    for cid, skip in skipped.items():
        assert f"already executed in flow run {executed[cid].flow_run_id}" in (skip.detail or "")
        assert skip.flow_run_id and skip.flow_run_id != executed[cid].flow_run_id

    # One `ws1ai.action.skipped` event per device (events arrive asynchronously).
    flush_events()
    wanted = {f"ws1.device.{d}" for d in devices}
    with get_client(sync_client=True) as client:
        flt = EventFilter(
            event=EventNameFilter(name=["ws1ai.action.skipped"]),
            resource=EventResourceFilter(id=sorted(wanted)),
        )
        page = wait_for(
            lambda: client.read_events(filter=flt, limit=50), lambda p: len(p.events) >= len(wanted)
        )
    assert {e.resource.id for e in page.events} == wanted

    # The export answers "why did the re-run do nothing?" without hiding that the actions did run.
    rows = {r["correlation_id"]: r for r in map(json.loads, export(store, since=since).splitlines())}
    for cid in (tag.correlation_id, sync.correlation_id):
        assert rows[cid]["status"] == "executed"
        assert rows[cid]["skipped_in_runs"] == [skipped[cid].flow_run_id]
        assert rows[cid]["skip_reason"] == skipped[cid].detail and rows[cid]["skipped_at"]
    # (Only this test's actions: the server is shared with the rest of the session, whose re-runs also
    # leave skipped records inside the `since` window.)
    ours = {tag.correlation_id, sync.correlation_id}
    statuses = [
        r["status"]
        for r in map(json.loads, export(store, since=since, view="records").splitlines())
        if r["correlation_id"] in ours
    ]
    assert statuses.count("skipped") == 2

    # Rollback inverts the execution, not the skip notes, and only once.
    @flow(name="ws1ai-test-rerun-rollback")
    def undo() -> RollbackReport:
        with UEMClient(uem_settings) as uem:
            return rollback([tag.correlation_id], ActionExecutor(uem), store=store, mode=RolloutMode.AUTO)

    assert undo().rolled_back == [tag.correlation_id]
    assert undo().already_rolled_back == [tag.correlation_id]
    removals = [e for e in _ledger(sandbox) if e["operation"] == "Tag.RemoveDevices"]
    assert len(removals) == 1 and sorted(removals[0]["device_ids"]) == devices[:2]
