"""The audit trail: every planned/approved/rejected/started/executed/failed/rolled-back action, in Prefect.

Prefect is the audit trail (DESIGN rule 6); there is no side database. Each `AuditRecord` is written twice:

* **a table artifact row** (synchronous REST call). Key `<prefix>-<hash of run key>`: every write adds a
  version; versions stay unless the server's `flow_runs`/`orphans` vacuum is switched on (by default
  `PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED` vacuums events only). This is the durable copy that
  idempotency and rollback trust, because it is on the server when `write` returns (a crash right after
  cannot lose it).
* **one Prefect event per target**: `ws1ai.action.<status>`, resource `ws1.device.<id>`, related to the flow
  run (added by Prefect from the run context) and to `ws1ai.action.<correlation id>` (role `action`); the
  payload carries the correlation id, approvers, rationale, model and prompt versions. Events drive
  automations and the UI's event feed, but they are sent asynchronously and **expire**: the server keeps
  them `PREFECT_SERVER_EVENTS_RETENTION_PERIOD` (default 7 days). Raise it on the server
  (e.g. `PREFECT_SERVER_EVENTS_RETENTION_PERIOD=400d`), and export regularly (`ws1ai audit export`).

`PrefectAuditStore.read` reads both back from the Prefect API and merges them by record id; `audit_export`
turns that into who/what/when/why/approved-by per action.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ws1ai.governance.actions import Action, ActionKind, RiskTier
from ws1ai.governance.config import GovernanceSettings

__all__ = [
    "RUN_TAG",
    "AuditRecord",
    "AuditStatus",
    "AuditStore",
    "MemoryAuditStore",
    "PrefectAuditStore",
    "devices_touched_since",
    "flush_events",
    "record_for",
    "table_row",
]

RUN_TAG = "source:ai-orchestrator"
EVENT_PREFIX = "ws1ai.action."


class AuditStatus(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    REJECTED = "rejected"
    STARTED = "started"  # written right before the executor runs: a crash after it leaves the action in doubt
    EXECUTED = "executed"
    FAILED = "failed"
    SKIPPED = "skipped"  # already executed earlier (idempotency), or in doubt and not safe to repeat
    ROLLED_BACK = "rolled_back"


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred: datetime = Field(default_factory=lambda: datetime.now(UTC))
    status: AuditStatus
    action: Action
    tier: RiskTier
    approvers: tuple[str, ...] = ()  # verified identities only
    comment: str | None = None
    detail: str | None = None  # error, rejection reason, "timeout", rollback link …
    mode: str | None = None
    flow_run_id: str | None = None

    @property
    def correlation_id(self) -> str:
        return self.action.correlation_id


def record_for(
    action: Action,
    status: AuditStatus,
    *,
    tier: RiskTier | None = None,
    approvers: Iterable[str] = (),
    comment: str | None = None,
    detail: str | None = None,
    mode: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        status=status,
        action=action,
        tier=tier or action.tier(),
        approvers=tuple(approvers),
        comment=comment,
        detail=detail,
        mode=mode,
        flow_run_id=_current_flow_run_id(),
    )


class AuditStore(Protocol):
    def write(self, records: Sequence[AuditRecord]) -> None: ...

    def read(
        self,
        *,
        since: datetime | None = None,
        run_keys: Collection[str] | None = None,
        correlation_ids: Collection[str] | None = None,
    ) -> list[AuditRecord]: ...


def _matches(r: AuditRecord, since: datetime | None, run_keys: Any, cids: Any) -> bool:
    return (
        (since is None or r.occurred >= since)
        and (run_keys is None or r.action.run_key in run_keys)
        and (cids is None or r.correlation_id in cids)
    )


class MemoryAuditStore:
    """In-process store: for pure-logic tests and as the per-run cache in front of Prefect."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def write(self, records: Sequence[AuditRecord]) -> None:
        self.records.extend(records)

    def read(
        self,
        *,
        since: datetime | None = None,
        run_keys: Collection[str] | None = None,
        correlation_ids: Collection[str] | None = None,
    ) -> list[AuditRecord]:
        return [r for r in self.records if _matches(r, since, run_keys, correlation_ids)]


class PrefectAuditStore:
    """Table-artifact rows (durable, synchronous) + per-device events (feed, automations; they expire)."""

    def __init__(self, settings: GovernanceSettings | None = None, *, emit_events: bool = True) -> None:
        self.settings = settings or GovernanceSettings()
        self.emit_events = emit_events

    def artifact_key(self, run_key: str) -> str:
        return f"{self.settings.audit_artifact_prefix}-{hashlib.sha256(run_key.encode()).hexdigest()[:16]}"

    def write(self, records: Sequence[AuditRecord]) -> None:
        from prefect.artifacts import create_table_artifact

        by_key: dict[str, list[AuditRecord]] = defaultdict(list)
        for r in records:
            by_key[r.action.run_key].append(r)
        for run_key, group in by_key.items():
            statuses = ", ".join(sorted({r.status.value for r in group}))
            create_table_artifact(
                table=[table_row(r) for r in group],
                key=self.artifact_key(run_key),
                description=f"ws1ai audit ({statuses}) for run key `{run_key}`",
            )
        if self.emit_events:
            for r in records:
                _emit(r)

    def read(
        self,
        *,
        since: datetime | None = None,
        run_keys: Collection[str] | None = None,
        correlation_ids: Collection[str] | None = None,
    ) -> list[AuditRecord]:
        # Artifacts are the durable copy; events add whatever has no artifact row (and cost a query), so the
        # per-run-key lookups that idempotency makes before every execution read artifacts only.
        merged = (
            {}
            if run_keys is not None
            else {r.record_id: r for r in self._read_events(since, correlation_ids)}
        )
        merged.update({r.record_id: r for r in self._read_artifacts(since, run_keys)})
        found = [r for r in merged.values() if _matches(r, since, run_keys, correlation_ids)]
        return sorted(found, key=lambda r: r.occurred)

    def _read_artifacts(self, since: datetime | None, run_keys: Collection[str] | None) -> list[AuditRecord]:
        from prefect import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
        from prefect.client.schemas.sorting import ArtifactSort

        if run_keys is not None:
            key_filter = ArtifactFilterKey(any_=[self.artifact_key(k) for k in run_keys])
        else:
            key_filter = ArtifactFilterKey(like_=f"{self.settings.audit_artifact_prefix}-%")
        out: list[AuditRecord] = []
        offset, page = 0, 200
        with get_client(sync_client=True) as client:
            while True:
                batch = client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=key_filter),
                    sort=ArtifactSort.CREATED_DESC,
                    limit=page,
                    offset=offset,
                )
                for art in batch:
                    out.extend(_records_from_table(art.data))
                # Newest first: once a whole page is older than `since`, nothing later can match.
                if len(batch) < page or (
                    since is not None and all(a.created is not None and a.created < since for a in batch)
                ):
                    break
                offset += page
        return out

    def _read_events(self, since: datetime | None, cids: Collection[str] | None) -> list[AuditRecord]:
        from prefect import get_client
        from prefect.events.filters import (
            EventFilter,
            EventNameFilter,
            EventOccurredFilter,
            EventRelatedFilter,
        )

        lookback = since or datetime.now(UTC) - timedelta(days=self.settings.audit_lookback_days)
        flt = EventFilter(
            event=EventNameFilter(prefix=[EVENT_PREFIX]),
            occurred=EventOccurredFilter(since=lookback, until=datetime.now(UTC) + timedelta(minutes=1)),
            related=EventRelatedFilter(id=[f"ws1ai.action.{c}" for c in cids]) if cids else None,
        )
        by_record: dict[str, dict[str, Any]] = {}
        targets: dict[str, set[str]] = defaultdict(set)
        with get_client(sync_client=True) as client:
            page = client.read_events(filter=flt, limit=50)  # the API caps a page at 50
            while True:
                for ev in page.events:
                    p = ev.payload
                    rid = p.get("record_id")
                    if not isinstance(rid, str) or "record" not in p:
                        continue
                    by_record[rid] = p["record"]
                    targets[rid].add(str(p.get("target")))
                if page.next_page is None:
                    break
                page = client.read_events_page(str(page.next_page))
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


def table_row(r: AuditRecord) -> dict[str, Any]:
    a = r.action
    shown = ", ".join(a.targets[:20]) + (f" … (+{len(a.targets) - 20})" if len(a.targets) > 20 else "")
    return {
        "occurred": r.occurred.isoformat(),
        "status": r.status.value,
        "correlation_id": a.correlation_id,
        "kind": a.kind.value,
        "tier": r.tier.value,
        "devices": len(a.targets),
        "targets": shown,
        "approved_by": ", ".join(r.approvers),
        "rationale": a.rationale,
        "detail": r.detail or "",
        "model_version": a.model_version or "",
        "prompt_version": a.prompt_version or "",
        "run_key": a.run_key,
        "flow_run_id": r.flow_run_id or "",
        # The whole record, so the audit trail reads back losslessly from the artifact alone.
        "record": r.model_dump_json(),
    }


def _records_from_table(data: Any) -> list[AuditRecord]:
    rows = json.loads(data) if isinstance(data, str) else data
    out: list[AuditRecord] = []
    for row in rows or []:
        if isinstance(row, dict) and isinstance(row.get("record"), str):
            out.append(AuditRecord.model_validate_json(row["record"]))
    return out


def _emit(r: AuditRecord) -> None:
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
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"{r.record_id}/{target}"),
            payload={
                "record_id": r.record_id,
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


def flush_events(timeout: float = 30.0) -> None:
    """Wait until emitted events have left this process (before reading them back, or exiting a CLI)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=timeout)


def _current_flow_run_id() -> str | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx is not None and ctx.flow_run is not None else None


def devices_touched_since(store: AuditStore, since: datetime) -> dict[ActionKind, int]:
    """Devices per kind that executed actions touched since `since` (the per-hour blast-radius input)."""
    counts: dict[ActionKind, int] = defaultdict(int)
    seen: set[str] = set()
    for r in store.read(since=since):
        if r.status is AuditStatus.EXECUTED and r.correlation_id not in seen:
            seen.add(r.correlation_id)
            counts[r.action.kind] += len(r.action.targets)
    return dict(counts)
