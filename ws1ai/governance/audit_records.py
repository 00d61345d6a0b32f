"""What the audit trail stores: `AuditRecord` (one status change of one action) and the `AuditStore` protocol.

This module knows nothing about where records go. `audit.PrefectAuditStore` writes them to Prefect (table
artifacts + events); `MemoryAuditStore` keeps them in a list, for pure-logic tests and for callers that
need no server. Both filter reads the same way (`matches`), so a test against one says something true of
the other.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, computed_field, model_validator

from ws1ai.governance.actions import Action, RiskTier
from ws1ai.governance.redaction import Redactor

__all__ = [
    "AuditRecord",
    "AuditStatus",
    "AuditStore",
    "MemoryAuditStore",
    "RedactedAction",
    "TargetOutcome",
    "audit_action",
    "audit_copy",
    "content_key",
    "matches",
    "record_for",
    "same_tenant",
]


class AuditStatus(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    REJECTED = "rejected"
    STARTED = "started"  # written right before the executor runs: a crash after it leaves the action in doubt
    EXECUTED = "executed"  # every target's write is done (follow-up note failures are listed in `outcome`)
    PARTIAL = "partially_executed"  # some targets done, the others certainly not (rollback: the done ones)
    FAILED = "failed"  # no target's write was applied: safe to try again
    IN_DOUBT = "in_doubt"  # some target's write may or may not have been applied: verify before any retry
    SKIPPED = "skipped"  # already executed earlier (idempotency), in doubt, or repeated content in the window
    ROLLED_BACK = "rolled_back"


class TargetOutcome(BaseModel):
    """What one attempt (or one read-back of the tenant) established per target.

    `done`: the write is applied. `failed`: certainly not applied (refused before sending, rejected by the
    API, or read back as not applied). `unknown`: may or may not be applied (timeout, lost response, 5xx
    after sending, a crash). `note_failures`: the write is done but its follow-up device note failed — never a
    reason to call the write undone. `skipped`: left alone on purpose (e.g. the same content already done
    by another action within the repeat window).
    """

    model_config = ConfigDict(frozen=True)

    done: tuple[str, ...] = ()
    failed: dict[str, str] = Field(default_factory=dict)
    unknown: dict[str, str] = Field(default_factory=dict)
    note_failures: dict[str, str] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)  # what the API returned (ticket number, group uuid…)

    def brief(self) -> str:
        """`3 done, 1 failed (…), 2 unknown (…)` for a record's detail and the run summary."""
        parts = [f"{len(self.done)} done"] if self.done else []
        for name, items in (
            ("failed", self.failed),
            ("unknown", self.unknown),
            ("note failures", self.note_failures),
            ("skipped", self.skipped),
        ):
            if items:
                first = next(iter(items.items()))
                parts.append(f"{len(items)} {name} (e.g. {first[0]}: {first[1]})")
        return ", ".join(parts) or "nothing attempted"


class RedactedAction(Action):
    """An action as the audit trail keeps it (`audit_copy`): personal data replaced by placeholders.

    Its correlation id is the original action's — the idempotency key, rollback's handle and what the ITSM
    ticket carries — not a hash of the placeholders.
    """

    original_correlation_id: str
    # Payload keys whose values were replaced: this copy cannot redo (or read back) that write; only the
    # planner, which has the full action, can.
    redacted_fields: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def correlation_id(self) -> str:
        return self.original_correlation_id


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred: datetime = Field(default_factory=lambda: datetime.now(UTC))
    status: AuditStatus
    # SerializeAsAny: a RedactedAction read back keeps its original correlation id when dumped again.
    action: SerializeAsAny[Action]
    tier: RiskTier
    approvers: tuple[str, ...] = ()  # verified identities only
    comment: str | None = None
    detail: str | None = None  # error, rejection reason, "timeout", rollback link …
    mode: str | None = None
    flow_run_id: str | None = None
    # Per-target result of an attempt, a read-back or an operator's mark (None on plan/approval records).
    outcome: TargetOutcome | None = None
    # What the action writes without its run key (kind + payload; `content_key`), taken from the live action
    # before any redaction: the repeat window recognises the same write under another run key by it.
    content_key: str | None = None

    # The tenant instance the action was recorded against (ws1ai.uem.instance.tenant_scope; set by the
    # Prefect store): "already executed" only counts on the same tenant. None: recorded before tenants were.
    tenant: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _redacted_action(cls, data: Any) -> Any:
        # A stored copy's action no longer hashes to its correlation id: read it back as what it is.
        action = data.get("action") if isinstance(data, dict) else None
        if isinstance(action, dict) and "original_correlation_id" in action:
            data = {**data, "action": RedactedAction.model_validate(action)}
        return data

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
    outcome: TargetOutcome | None = None,
) -> AuditRecord:
    """A record of `action` reaching `status`, stamped with the current flow run (if any)."""
    return AuditRecord(
        status=status,
        action=action,
        tier=tier or action.tier(),
        approvers=tuple(approvers),
        comment=comment,
        detail=detail,
        mode=mode,
        flow_run_id=_current_flow_run_id(),
        outcome=outcome,
        content_key=content_key(action.kind, action.payload),
    )


def content_key(kind: str, payload: Mapping[str, Any]) -> str:
    """Hash of what a write does (kind and payload), never the run key: the same write planned under any
    run key has the same content key."""
    blob = json.dumps(
        {"kind": str(kind), "payload": payload}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _current_flow_run_id() -> str | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx is not None and ctx.flow_run is not None else None


class AuditStore(Protocol):
    def write(self, records: Sequence[AuditRecord]) -> None: ...

    def read(
        self,
        *,
        since: datetime | None = None,
        run_keys: Collection[str] | None = None,
        correlation_ids: Collection[str] | None = None,
    ) -> list[AuditRecord]: ...


def matches(
    r: AuditRecord,
    since: datetime | None,
    run_keys: Collection[str] | None,
    correlation_ids: Collection[str] | None,
) -> bool:
    """The read filter every store applies (None = no condition)."""
    return (
        (since is None or r.occurred >= since)
        and (run_keys is None or r.action.run_key in run_keys)
        and (correlation_ids is None or r.correlation_id in correlation_ids)
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
        return [r for r in self.records if matches(r, since, run_keys, correlation_ids)]


def audit_copy(r: AuditRecord, *, tenant: str | None = None) -> AuditRecord:
    """`r` as the audit trail keeps it in Prefect, whose events and artifacts anyone with API access reads.

    Ids, kinds, statuses, tiers, times, approvers and targets stay as they are; names, e-mail addresses,
    serials, IMEIs and phone numbers in the action's payload (its keys stay), prior state and rationale, and
    in the record's comment, detail and per-target messages become placeholders (`redaction.Redactor`;
    the action's targets and run key are ids and are never touched). The executor had the full action;
    only this copy is redacted. `tenant` stamps the record's tenant scope unless it has one.
    """
    redactor = _redactor(r.action)
    action = _audit_action(r.action, redactor)
    data = r.model_dump(mode="json", exclude={"action"})
    for key in ("comment", "detail"):
        if isinstance(data.get(key), str):
            data[key] = redactor.redact_text(data[key])
    if isinstance(data.get("outcome"), dict):  # per-target messages (errors may quote what was sent)
        data["outcome"] = {
            k: {t: redactor.redact(m) for t, m in v.items()} if isinstance(v, dict) else v
            for k, v in data["outcome"].items()
        }
    data["tenant"] = data.get("tenant") or tenant
    return AuditRecord.model_validate({**data, "action": action})


def audit_action(a: Action) -> RedactedAction:
    """The action as its audit copy shows it (same correlation id): for anything else written to Prefect
    about it, e.g. a run summary's or a plan table's `audit_action(a).summary()`."""
    return _audit_action(a, _redactor(a))


def _redactor(a: Action) -> Redactor:
    return Redactor(keep=[*a.targets, a.run_key, *a.run_key.split(":")])


def _audit_action(a: Action, redactor: Redactor) -> RedactedAction:
    if isinstance(a, RedactedAction):  # read back from the trail: a copy already
        return a
    action = a.model_dump(mode="json", exclude={"correlation_id"})
    payload = redactor.redact(action["payload"])
    prior = redactor.redact(action["prior"])
    # Names met in the structured fields are looked for in the free text too (a rationale or an error
    # message naming the person the payload describes).
    met: dict[str, list[str]] = {}
    for ph, value in redactor.mapping.items():  # "<EMAIL_2>" → EMAIL
        met.setdefault(ph[1:-1].rsplit("_", 1)[0], []).append(value)
    redactor.learn(met.pop("NAME", []), met)
    action |= {
        "payload": payload,
        "prior": prior,
        "rationale": redactor.redact_text(action["rationale"]),
        "original_correlation_id": a.correlation_id,
        "redacted_fields": sorted(k for k in payload if payload[k] != action["payload"].get(k)),
    }
    return RedactedAction.model_validate(action)


def same_tenant(recorded: str | None, current: str | None) -> bool:
    """Whether a record made against tenant `recorded` speaks for tenant `current` (scopes as made by
    ws1ai.uem.instance.tenant_scope: `host|code hash[|instance]`).

    Host and code hash must agree; the instance too when both sides know it. A side that knows less (a record
    from before tenants were recorded, a sandbox that did not answer) counts as the same tenant: a write
    seen twice is skipped once too often, never repeated.
    """
    if recorded is None or current is None or recorded == current:
        return True
    r_host, r_code, *r_instance = recorded.split("|")
    c_host, c_code, *c_instance = current.split("|")
    return (r_host, r_code) == (c_host, c_code) and (not r_instance or not c_instance)
