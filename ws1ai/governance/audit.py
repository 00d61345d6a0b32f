"""The audit trail in Prefect: every planned, approved, rejected, started, executed, failed, skipped and
rolled-back action.

Prefect is the audit trail (docs/design.md rule 6); there is no side database. `PrefectAuditStore` writes each
`AuditRecord` (`audit_records.py`) twice:

* **a table artifact row** (`audit_artifacts.py`): synchronous and durable, the copy that idempotency and
  rollback trust;
* **one Prefect event per target** (`audit_events.py`): `ws1ai.action.<status>` on `ws1.device.<id>`, for
  automations and the event feed; sent asynchronously, and expiring with the server's event retention.

`PrefectAuditStore.read` reads both back from the Prefect API and merges them by record id (the artifact
copy wins); `audit_export` turns that into who/what/when/why/approved-by per action.

This module is also the import point for the audit trail's public names, wherever they are defined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from ws1ai.governance.actions import ActionKind
from ws1ai.governance.audit_artifacts import artifact_key, read_artifacts, table_row, write_artifacts
from ws1ai.governance.audit_events import EVENT_PREFIX, emit_events, flush_events, read_events
from ws1ai.governance.audit_records import (
    AuditRecord,
    AuditStatus,
    AuditStore,
    MemoryAuditStore,
    TargetOutcome,
    audit_copy,
    matches,
    record_for,
    same_tenant,
)
from ws1ai.governance.config import GovernanceSettings

__all__ = [
    "EVENT_PREFIX",
    "RUN_TAG",
    "AuditRecord",
    "AuditStatus",
    "AuditStore",
    "MemoryAuditStore",
    "PrefectAuditStore",
    "TargetOutcome",
    "devices_touched_since",
    "done_targets_by_kind",
    "flush_events",
    "record_for",
    "table_row",
]

RUN_TAG = "source:ai-orchestrator"


class PrefectAuditStore:
    """Table-artifact rows (durable, synchronous) + per-device events (feed, automations; they expire)."""

    def __init__(
        self,
        settings: GovernanceSettings | None = None,
        *,
        emit_events: bool = True,
        tenant: str | None = None,
    ) -> None:
        self.settings = settings or GovernanceSettings()
        self.emit_events = emit_events
        self._tenant = tenant  # None: asked of the configured UEM tenant on first use

    @property
    def tenant(self) -> str:
        """The tenant instance this store records for and reads back (ws1ai.uem.instance.tenant_scope)."""
        if self._tenant is None:
            from ws1ai.uem.instance import tenant_scope

            self._tenant = tenant_scope()
        return self._tenant

    def artifact_key(self, run_key: str) -> str:
        return artifact_key(self.settings.audit_artifact_prefix, run_key)

    def write(self, records: Sequence[AuditRecord]) -> None:
        # What reaches Prefect is the audit copy: ids kept, personal data redacted, tenant stamped.
        records = [audit_copy(r, tenant=self.tenant) for r in records]
        # Artifacts first: when `write` returns, the durable copy is on the server whatever the events do.
        write_artifacts(self.settings.audit_artifact_prefix, records)
        if self.emit_events:
            for r in records:
                emit_events(r, self.settings.audit_artifact_prefix)

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
        found = [
            r
            for r in merged.values()
            if matches(r, since, run_keys, correlation_ids) and same_tenant(r.tenant, self.tenant)
        ]
        return sorted(found, key=lambda r: r.occurred)

    def _read_artifacts(self, since: datetime | None, run_keys: Collection[str] | None) -> list[AuditRecord]:
        return read_artifacts(self.settings.audit_artifact_prefix, since, run_keys)

    def _read_events(self, since: datetime | None, cids: Collection[str] | None) -> list[AuditRecord]:
        return read_events(
            since,
            cids,
            lookback_days=self.settings.audit_lookback_days,
            trail=self.settings.audit_artifact_prefix,
        )


def devices_touched_since(store: AuditStore, since: datetime) -> dict[ActionKind, int]:
    """Devices per kind that writes touched since `since` (the per-hour blast-radius input)."""
    return done_targets_by_kind(store.read(since=since))


def done_targets_by_kind(records: Iterable[AuditRecord]) -> dict[ActionKind, int]:
    """Targets per kind written (done) or possibly written (in doubt) by `records`, each target once per
    action: a partial action counts what it did, a retry of its remaining targets adds only those."""
    counts: dict[ActionKind, int] = defaultdict(int)
    seen: set[tuple[str, str]] = set()
    for r in records:
        if r.outcome is not None and r.status is not AuditStatus.SKIPPED:
            touched: Iterable[str] = [*r.outcome.done, *r.outcome.unknown]
        elif r.status is AuditStatus.EXECUTED:
            touched = r.action.targets
        else:
            continue
        for t in touched:
            if (r.correlation_id, t) not in seen:
                seen.add((r.correlation_id, t))
                counts[r.action.kind] += 1
    return dict(counts)
