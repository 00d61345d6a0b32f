"""Audit export: who/what/when/why/approved-by for every action, as JSON lines or CSV.

Reads the trail through an `AuditStore` (in production `PrefectAuditStore`: artifacts + events from the
Prefect API), so the export works from any machine that can reach the Prefect server.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from ws1ai.governance.audit import AuditRecord, AuditStatus, AuditStore, table_row
from ws1ai.governance.execute_state import action_state

# Records of an attempt or a read-back: after one of these, the action's status is what its targets say.
_RESULT_STATUSES = frozenset(
    {
        AuditStatus.STARTED,
        AuditStatus.EXECUTED,
        AuditStatus.PARTIAL,
        AuditStatus.FAILED,
        AuditStatus.IN_DOUBT,
    }
)

__all__ = ["action_history", "export"]


def action_history(records: Iterable[AuditRecord]) -> list[dict[str, Any]]:
    """One row per action: who/what/when/why/approved-by, from its records in time order.

    `<status>_at` is the latest record of each status (`skipped_at`: the latest re-run that skipped it).
    """
    by_cid: dict[str, list[AuditRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.occurred):
        by_cid[r.correlation_id].append(r)
    rows: list[dict[str, Any]] = []
    for cid, recs in by_cid.items():
        # A `skipped` record after an execution is a later run noting the action was already done: it
        # explains that run and does not change the action's status. Only an action that never executed
        # (left alone in doubt) ends `skipped`.
        a = recs[0].action
        state = action_state(a, recs)
        executed = bool(state.done)
        skips = [r for r in recs if r.status is AuditStatus.SKIPPED]
        last = [r for r in recs if not (executed and r.status is AuditStatus.SKIPPED)][-1]
        # Per target: an attempt's `started` with no result, a failed note, a later read-back all fold into
        # the action's status (a done write never looks undone because something after it failed).
        status = state.status if last.status in _RESULT_STATUSES and state.status else last.status
        if state.unknown and status is not AuditStatus.ROLLED_BACK:
            status = AuditStatus.IN_DOUBT  # later runs left it alone; it is still unknown: a person must look
        when: dict[str, str | None] = {s.value: None for s in AuditStatus}
        for r in recs:
            when[r.status.value] = r.occurred.isoformat()
        approvers = sorted({p for r in recs if r.status is AuditStatus.APPROVED for p in r.approvers})
        rows.append(
            {
                "correlation_id": cid,
                "status": status.value,
                "done_targets": state.done,
                "in_doubt_targets": state.unknown,
                "what": a.summary(),
                "kind": a.kind.value,
                "tier": last.tier.value,
                "targets": list(a.targets),
                "why": a.rationale,
                "who": f"{a.decided_by} (model {a.model_version or '-'}, prompt {a.prompt_version or '-'})",
                "confidence": a.confidence,
                "approved_by": approvers,
                "rejected_by": sorted(
                    {p for r in recs if r.status is AuditStatus.REJECTED for p in r.approvers}
                ),
                "comment": next((r.comment for r in reversed(recs) if r.comment), None),
                "detail": last.detail,
                "mode": last.mode,
                "run_key": a.run_key,
                "flow_run_id": next((r.flow_run_id for r in recs if r.flow_run_id), None),
                # Which runs found it already done (or in doubt) and did nothing, and the latest reason.
                "skipped_in_runs": list(dict.fromkeys(r.flow_run_id for r in skips if r.flow_run_id)),
                "skip_reason": skips[-1].detail if skips else None,
                "inverse_of": a.inverse_of,
                **{f"{k}_at": v for k, v in when.items() if v is not None},
            }
        )
    return rows


def export(
    store: AuditStore,
    *,
    since: datetime | None = None,
    fmt: Literal["jsonl", "csv"] = "jsonl",
    view: Literal["actions", "records"] = "actions",
) -> str:
    records = store.read(since=since)
    if view == "records":
        rows = [table_row(r) | {"targets": list(r.action.targets)} for r in records]
        for row in rows:
            row.pop("record")
    else:
        rows = action_history(records)
    if fmt == "jsonl":
        return "".join(json.dumps(row, default=str) + "\n" for row in rows)
    buf = io.StringIO()
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()})
    return buf.getvalue()
