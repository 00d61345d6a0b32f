"""The feed half of the audit trail: one Prefect event per record and target device.

Event `ws1ai.action.<status>`, resource `ws1.device.<id>`, related to the flow run and to
`ws1ai.action.<correlation id>` (role `action`); the payload carries the correlation id, approvers,
rationale, model and prompt versions and the record itself (minus the target list: one event per target).
Events drive automations and the UI's event feed, but they are sent asynchronously and **expire**: the
server keeps them `PREFECT_SERVER_EVENTS_RETENTION_PERIOD` (default 7 days). Raise it on the server
(e.g. `PREFECT_SERVER_EVENTS_RETENTION_PERIOD=400d`) and export regularly (`ws1ai audit export`); the
artifacts (`audit_artifacts.py`) remain the authoritative copy.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from ws1ai.governance.audit_records import AuditRecord
from ws1ai.prefect_events import iter_events

__all__ = ["EVENT_PREFIX", "emit_events", "flush_events", "read_events"]

EVENT_PREFIX = "ws1ai.action."
DEFAULT_TRAIL = "ws1ai-audit"  # GovernanceSettings.audit_artifact_prefix's default


def emit_events(r: AuditRecord, trail: str | None = None) -> None:
    """Queue one event per target of `r` (sent by Prefect's events worker in the background).

    `trail` names the audit trail (the artifact prefix) the record belongs to, so one server can hold
    several trails (tenants, test sessions) and a read of one never sees another's records."""
    from prefect.events import emit_event

    record = json.loads(r.model_dump_json())
    record["action"].pop("targets")  # one event per target; the full list lives in the artifact
    related = [{"prefect.resource.id": f"ws1ai.action.{r.correlation_id}", "prefect.resource.role": "action"}]
    if r.flow_run_id:
        related.append(
            {"prefect.resource.id": f"prefect.flow-run.{r.flow_run_id}", "prefect.resource.role": "flow-run"}
        )
    for target in r.action.targets:
        emit_event(
            event=f"{EVENT_PREFIX}{r.status.value}",
            resource={
                "prefect.resource.id": f"ws1.{r.action.target_type}.{target}",
                "prefect.resource.name": f"{r.action.target_type} {target}",
            },
            related=related,
            occurred=r.occurred,
            # Deterministic: the server keeps one event per id, so a record sent twice is not counted twice.
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"{r.record_id}/{target}"),
            payload={
                "record_id": r.record_id,
                "trail": trail,
                "target": target,
                "correlation_id": r.correlation_id,
                "kind": r.action.kind.value,
                "approvers": list(r.approvers),
                "rationale": r.action.rationale,
                "model_version": r.action.model_version,
                "prompt_version": r.action.prompt_version,
                "record": record,
            },
        )


def read_events(
    since: datetime | None,
    correlation_ids: Collection[str] | None,
    *,
    lookback_days: int,
    trail: str | None = None,
) -> list[AuditRecord]:
    """Records rebuilt from their per-device events (those whose events are all still there) of `trail`
    (events written before trails were named count as the default trail's)."""
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventOccurredFilter,
        EventRelatedFilter,
    )

    lookback = since or datetime.now(UTC) - timedelta(days=lookback_days)
    flt = EventFilter(
        event=EventNameFilter(prefix=[EVENT_PREFIX]),
        occurred=EventOccurredFilter(since=lookback, until=datetime.now(UTC) + timedelta(minutes=1)),
        related=(
            EventRelatedFilter(id=[f"ws1ai.action.{c}" for c in correlation_ids]) if correlation_ids else None
        ),
    )
    by_record: dict[str, dict[str, Any]] = {}
    targets: dict[str, set[str]] = defaultdict(set)
    for ev in iter_events(flt):
        p = ev.payload
        rid = p.get("record_id")
        if not isinstance(rid, str) or "record" not in p:
            continue
        if trail is not None and p.get("trail", DEFAULT_TRAIL) != trail:
            continue
        by_record[rid] = p["record"]
        targets[rid].add(str(p.get("target")))
    out: list[AuditRecord] = []
    for rid, rec in by_record.items():
        rec = dict(rec)
        action = dict(rec["action"])
        action["targets"] = sorted(targets[rid])
        rec["action"] = action
        try:
            out.append(AuditRecord.model_validate(rec))
        except ValueError:
            # Some of this record's per-device events expired or are still in flight: the artifact
            # copy (merged over this one) is authoritative.
            continue
    return out


def flush_events(timeout: float = 30.0) -> None:
    """Wait until emitted events have left this process (before reading them back, or exiting a CLI)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=timeout)
