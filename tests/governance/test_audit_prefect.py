"""The audit trail on a real Prefect server: artifacts + events read back, export, idempotent re-runs."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from prefect import flow, get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from tests._wait import wait_for
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import PrefectAuditStore, devices_touched_since, flush_events
from ws1ai.governance.audit_export import export
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, govern

pytestmark = pytest.mark.prefect


def test_governed_run_is_audited_readable_and_never_repeated(
    prefect_server: str, gov_settings: GovernanceSettings
) -> None:
    settings = gov_settings.model_copy(update={"audit_artifact_prefix": "ws1ai-audit-t1"})
    store = PrefectAuditStore(settings)
    calls: list[str] = []
    since = datetime.now(UTC) - timedelta(seconds=5)
    actions = [
        Action(
            run_key="audit-1",
            kind=ActionKind.TAG_ADD,
            targets=[501, 502],
            payload={"tag": "at-risk"},
            rationale="battery health below 70%",
            model_version="health-1.0",
        ),
        Action(run_key="audit-1", kind=ActionKind.DEVICE_SYNC, targets=[503]),
    ]

    def executor(action: Action) -> None:
        calls.append(action.correlation_id)

    @flow(name="ws1ai-test-audit")
    def run() -> GovernanceReport:
        return govern(actions, executor, store=store, settings=settings, mode=RolloutMode.AUTO)

    first = run()
    # A second run of the same plan (e.g. after a crash) reads the executed records back from Prefect.
    second = run()
    assert len(first.execution.executed) == 2
    assert sorted(second.already_executed) == sorted(a.correlation_id for a in actions)
    assert sorted(calls) == sorted(a.correlation_id for a in actions)
    # The per-hour blast-radius input comes from the same trail.
    assert devices_touched_since(store, since) == {ActionKind.TAG_ADD: 2, ActionKind.DEVICE_SYNC: 1}

    flush_events()
    tag_cid = actions[0].correlation_id
    # Events: one per device, resource ws1.device.<id>, related to the flow run; they arrive asynchronously.
    with get_client(sync_client=True) as client:
        flt = EventFilter(
            event=EventNameFilter(name=["ws1ai.action.executed"]),
            resource=EventResourceFilter(id=["ws1.device.501", "ws1.device.502"]),
        )
        page = wait_for(lambda: client.read_events(filter=flt, limit=50), lambda p: len(p.events) >= 2)
    assert sorted(e.resource.id for e in page.events) == ["ws1.device.501", "ws1.device.502"]
    ev = page.events[0]
    assert ev.payload["correlation_id"] == tag_cid and ev.payload["model_version"] == "health-1.0"
    roles = {r.role: r.id for r in ev.related}
    assert roles["action"] == f"ws1ai.action.{tag_cid}"
    assert roles["flow-run"].startswith("prefect.flow-run.")

    # Read back from the API: the same records from the artifacts alone and from the events alone.
    # Events are persisted asynchronously by the server, so poll until they have all landed.
    key = lambda r: (r.record_id, r.status, r.action.targets)  # noqa: E731
    from_artifacts = sorted(map(key, store._read_artifacts(since, None)))
    from_events = wait_for(
        lambda: sorted(map(key, store._read_events(since, None))), lambda got: got == from_artifacts
    )
    assert from_events == from_artifacts
    # planned/started/executed per action, and the re-run's "skipped" (already executed) for each
    assert len(from_artifacts) == 2 * 4

    rows = [json.loads(line) for line in export(store, since=since).splitlines()]
    by_cid = {r["correlation_id"]: r for r in rows}
    tag_row = by_cid[tag_cid]
    assert tag_row["status"] == "executed" and tag_row["targets"] == ["501", "502"]
    assert tag_row["why"] == "battery health below 70%" and "health-1.0" in tag_row["who"]
    assert tag_row["planned_at"] <= tag_row["executed_at"]
    assert tag_row["flow_run_id"]
    table = list(csv.DictReader(io.StringIO(export(store, since=since, fmt="csv", view="records"))))
    assert {r["status"] for r in table} == {"planned", "started", "executed", "skipped"}
    assert {r["targets"] for r in table} == {"501;502", "503"}
