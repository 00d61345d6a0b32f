"""The durable half of the audit trail: one Prefect table artifact per run key, one row per record.

Key `<prefix>-<hash of run key>`; every write adds a version, and versions stay unless the server's
`flow_runs`/`orphans` vacuum is switched on (by default `PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED` vacuums
events only). The artifact is created by a synchronous REST call, so a record is on the server when `write`
returns and a crash right after cannot lose it: this is the copy idempotency and rollback trust.

Each row carries readable columns for the Prefect UI and the whole record as JSON (`record`), so the trail
reads back losslessly from the artifacts alone.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from ws1ai.governance.audit_records import AuditRecord

__all__ = ["artifact_key", "read_artifacts", "table_row", "write_artifacts"]

# The artifacts API pages by offset; 200 is the server's default (and usual) cap on one page.
_PAGE = 200


def artifact_key(prefix: str, run_key: str) -> str:
    # Hashed: Prefect allows only lowercase letters, digits and dashes in a key, and run keys are free text.
    return f"{prefix}-{hashlib.sha256(run_key.encode()).hexdigest()[:16]}"


def write_artifacts(prefix: str, records: Sequence[AuditRecord]) -> None:
    """One artifact version per run key among `records`, its rows in the order given."""
    from prefect.artifacts import create_table_artifact

    by_key: dict[str, list[AuditRecord]] = defaultdict(list)
    for r in records:
        by_key[r.action.run_key].append(r)
    for run_key, group in by_key.items():
        statuses = ", ".join(sorted({r.status.value for r in group}))
        create_table_artifact(
            table=[table_row(r) for r in group],
            key=artifact_key(prefix, run_key),
            description=f"ws1ai audit ({statuses}) for run key `{run_key}`",
        )


def read_artifacts(
    prefix: str, since: datetime | None, run_keys: Collection[str] | None
) -> list[AuditRecord]:
    """Every record in the audit artifacts (of `run_keys`, or all of them), newest artifact versions first."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    if run_keys is not None:
        key_filter = ArtifactFilterKey(any_=[artifact_key(prefix, k) for k in run_keys])
    else:
        key_filter = ArtifactFilterKey(like_=f"{prefix}-%")
    out: list[AuditRecord] = []
    offset = 0
    with get_client(sync_client=True) as client:
        while True:
            batch = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=key_filter),
                sort=ArtifactSort.CREATED_DESC,
                limit=_PAGE,
                offset=offset,
            )
            for art in batch:
                out.extend(_records_from_table(art.data))
            # Newest first: once a whole page is older than `since`, nothing later can match.
            if len(batch) < _PAGE or (
                since is not None and all(a.created is not None and a.created < since for a in batch)
            ):
                break
            offset += _PAGE
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
