"""The `Action`: one governed write (kind, targets, payload), its risk tier, inverse and correlation id.

Every UEM write in ws1ai is an `Action` first (docs/design.md rule 5). Policy decides whether
it may run, the approval gate asks a human when it must, the audit trail records it, and `execute` runs it
at most once: the correlation id is the idempotency key, so it hashes only what the action *does*
(run key, kind, targets, payload) — never the rationale, model version or the observed prior state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

__all__ = [
    "DEFAULT_TIERS",
    "IRREVERSIBLE_REASONS",
    "TWO_PERSON_KINDS",
    "Action",
    "ActionKind",
    "RiskTier",
    "correlation_id_for",
    "tier_for",
]


class ActionKind(StrEnum):
    PROFILE_INSTALL = "profile_install"
    PROFILE_REMOVE = "profile_remove"
    APP_INSTALL = "app_install"
    APP_UNINSTALL = "app_uninstall"
    SCRIPT_RUN = "script_run"
    TAG_ADD = "tag_add"
    TAG_REMOVE = "tag_remove"
    SMART_GROUP_ADD = "smart_group_add"
    SMART_GROUP_REMOVE = "smart_group_remove"
    CUSTOM_ATTRIBUTE_SET = "custom_attribute_set"
    MESSAGE_SEND = "message_send"
    DEVICE_NOTE = "device_note"
    DEVICE_SYNC = "device_sync"
    DEVICE_LOCK = "device_lock"
    QUARANTINE_PROFILE = "quarantine_profile"
    ENTERPRISE_WIPE = "enterprise_wipe"
    DEVICE_WIPE = "device_wipe"
    DEVICE_DELETE = "device_delete"
    USER_CREATE = "user_create"
    USER_ACTIVATE = "user_activate"
    USER_DEACTIVATE = "user_deactivate"
    ITSM_TICKET = "itsm_ticket"
    ITSM_UPDATE = "itsm_update"


class RiskTier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)


_TIER_ORDER = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.DESTRUCTIVE]

K = ActionKind
DEFAULT_TIERS: Mapping[ActionKind, RiskTier] = {
    K.TAG_ADD: RiskTier.LOW,
    K.TAG_REMOVE: RiskTier.LOW,
    K.MESSAGE_SEND: RiskTier.LOW,
    K.DEVICE_NOTE: RiskTier.LOW,
    K.DEVICE_SYNC: RiskTier.LOW,
    K.ITSM_TICKET: RiskTier.LOW,
    K.ITSM_UPDATE: RiskTier.LOW,
    K.CUSTOM_ATTRIBUTE_SET: RiskTier.LOW,
    K.PROFILE_INSTALL: RiskTier.MEDIUM,
    K.PROFILE_REMOVE: RiskTier.MEDIUM,
    K.APP_INSTALL: RiskTier.MEDIUM,
    K.APP_UNINSTALL: RiskTier.MEDIUM,
    K.SMART_GROUP_ADD: RiskTier.MEDIUM,
    K.SMART_GROUP_REMOVE: RiskTier.MEDIUM,
    K.USER_CREATE: RiskTier.MEDIUM,
    K.USER_ACTIVATE: RiskTier.MEDIUM,
    # Scripts run arbitrary code as root/SYSTEM; a lock takes the device from its user.
    K.SCRIPT_RUN: RiskTier.HIGH,
    K.DEVICE_LOCK: RiskTier.HIGH,
    K.USER_DEACTIVATE: RiskTier.HIGH,
    K.QUARANTINE_PROFILE: RiskTier.DESTRUCTIVE,
    K.ENTERPRISE_WIPE: RiskTier.DESTRUCTIVE,
    K.DEVICE_WIPE: RiskTier.DESTRUCTIVE,
    K.DEVICE_DELETE: RiskTier.DESTRUCTIVE,
}
# A wipe needs two distinct verified approvers (Intune's multi-admin approval is the bar).
TWO_PERSON_KINDS: frozenset[ActionKind] = frozenset({K.ENTERPRISE_WIPE, K.DEVICE_WIPE})

_INVERSE_KIND: Mapping[ActionKind, ActionKind] = {
    K.TAG_ADD: K.TAG_REMOVE,
    K.TAG_REMOVE: K.TAG_ADD,
    K.PROFILE_INSTALL: K.PROFILE_REMOVE,
    K.PROFILE_REMOVE: K.PROFILE_INSTALL,
    K.APP_INSTALL: K.APP_UNINSTALL,
    K.APP_UNINSTALL: K.APP_INSTALL,
    K.SMART_GROUP_ADD: K.SMART_GROUP_REMOVE,
    K.SMART_GROUP_REMOVE: K.SMART_GROUP_ADD,
    K.USER_ACTIVATE: K.USER_DEACTIVATE,
    K.USER_DEACTIVATE: K.USER_ACTIVATE,
    K.USER_CREATE: K.USER_DEACTIVATE,
    # Quarantine installs a restrictive profile; lifting it removes that profile.
    K.QUARANTINE_PROFILE: K.PROFILE_REMOVE,
}
IRREVERSIBLE_REASONS: Mapping[ActionKind, str] = {
    K.DEVICE_WIPE: "a device wipe erases the device; it cannot be undone",
    K.ENTERPRISE_WIPE: "an enterprise wipe removes managed data and unenrolls; re-enrolment is manual",
    K.DEVICE_DELETE: "a deleted device record cannot be restored; the device must re-enrol",
    K.DEVICE_LOCK: "a lock cannot be lifted remotely; the user unlocks with the passcode",
    K.SCRIPT_RUN: "a script's effects are not tracked; write a compensating script",
    K.MESSAGE_SEND: "a sent message cannot be recalled",
    K.DEVICE_NOTE: "device notes are append-only audit records",
    K.DEVICE_SYNC: "a sync has no effect to undo",
    K.ITSM_TICKET: "a ticket is closed in the ITSM tool, not deleted",
    K.ITSM_UPDATE: "ITSM record history is kept by the ITSM tool",
}


def tier_for(kind: ActionKind, overrides: Mapping[ActionKind, RiskTier] | None = None) -> RiskTier:
    """The kind's tier after configured overrides; destructive kinds can never be lowered."""
    base = DEFAULT_TIERS[kind]
    override = (overrides or {}).get(kind)
    if override is None:
        return base
    if base is RiskTier.DESTRUCTIVE:
        return base
    return override


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def correlation_id_for(
    run_key: str, kind: ActionKind, targets: tuple[str, ...], payload: Mapping[str, Any]
) -> str:
    """Stable across processes and re-runs: same plan under the same run key → same id."""
    blob = _canonical({"run_key": run_key, "kind": str(kind), "targets": sorted(targets), "payload": payload})
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class Action(BaseModel):
    """One governed write. Immutable: a changed action is a different action with a different id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_key: str = Field(
        description="what makes a re-run 'the same plan', e.g. 'offboarding:E123' or a run id"
    )
    kind: ActionKind
    targets: tuple[str, ...] = Field(min_length=1, description="device ids (or user ids for user_* kinds)")
    target_type: Literal["device", "user", "ticket"] = "device"
    payload: dict[str, Any] = Field(default_factory=dict, description="what to do (profile id, tag, value…)")
    prior: dict[str, Any] = Field(
        default_factory=dict, description="observed state before acting (e.g. previous_value); not hashed"
    )
    risk_override: RiskTier | None = Field(None, description="raise (never lower) this action's tier")
    rationale: str = ""
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    model_version: str | None = None
    prompt_version: str | None = None
    decided_by: Literal["model", "llm", "rule", "human", "rollback"] = "rule"
    fallback_reason: str | None = Field(
        None, description="why a rule decided where an LLM or model was asked first (not hashed)"
    )
    inverse_of: str | None = Field(None, description="correlation id of the action this one undoes")

    @model_validator(mode="before")
    @classmethod
    def _check_stored_id(cls, data: Any) -> Any:
        # A dumped action carries its computed id; reloading it checks that nothing that is hashed changed.
        if isinstance(data, dict) and "correlation_id" in data:
            data = dict(data)
            stored = data.pop("correlation_id")
            probe = cls.model_validate(data)
            if stored != probe.correlation_id:
                raise ValueError(f"correlation id {stored} does not match the action's content")
        return data

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_as_strings(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str | int):
            value = [value]
        # Deduplicated and sorted so that target order never changes the id or the device count.
        return tuple(sorted({str(v) for v in value}))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def correlation_id(self) -> str:
        return correlation_id_for(self.run_key, self.kind, self.targets, self.payload)

    def tier(self, overrides: Mapping[ActionKind, RiskTier] | None = None) -> RiskTier:
        base = tier_for(self.kind, overrides)
        if self.risk_override is not None and self.risk_override.rank > base.rank:
            return self.risk_override
        return base

    @property
    def needs_two_approvers(self) -> bool:
        return self.kind in TWO_PERSON_KINDS

    def resource_ids(self) -> list[str]:
        return [f"ws1.{self.target_type}.{t}" for t in self.targets]

    def irreversible_reason(self) -> str | None:
        """Why this action has no inverse, or None when `inverse()` returns one."""
        if self.kind is ActionKind.CUSTOM_ATTRIBUTE_SET:
            if "previous_value" in self.prior:
                return None
            return "the attribute's previous value was not recorded before setting it"
        if self.kind in _INVERSE_KIND:
            return None
        return IRREVERSIBLE_REASONS.get(self.kind, f"{self.kind} has no inverse")

    def inverse(self) -> Action | None:
        """The action that undoes this one (through governance again), or None if irreversible."""
        if self.irreversible_reason() is not None:
            return None
        payload = dict(self.payload)
        prior: dict[str, Any] = {}
        if self.kind is ActionKind.CUSTOM_ATTRIBUTE_SET:
            kind = ActionKind.CUSTOM_ATTRIBUTE_SET
            payload["value"] = self.prior["previous_value"]
            prior = {"previous_value": self.payload.get("value")}
        elif self.kind is ActionKind.USER_CREATE:
            # The executor finds the user again by what is no personal data and survives the audit trail's
            # redaction: the UEM user id the creation recorded, or the HRIS external id that is the target.
            # The username, names and e-mail (redacted in a copy read back from the trail) stay out of it.
            kind = ActionKind.USER_DEACTIVATE
            payload = {}
        else:
            kind = _INVERSE_KIND[self.kind]
        return Action(
            run_key=f"rollback:{self.correlation_id}",
            kind=kind,
            targets=self.targets,
            target_type=self.target_type,
            payload=payload,
            prior=prior,
            rationale=f"rollback of {self.kind} {self.correlation_id}",
            decided_by="rollback",
            inverse_of=self.correlation_id,
        )

    def summary(self) -> str:
        what = ", ".join(f"{k}={v}" for k, v in sorted(self.payload.items())) or "no payload"
        return f"{self.kind} on {len(self.targets)} {self.target_type}(s) ({what})"
