"""Governance settings (`WS1AI_GOVERNANCE_*`): rollout mode and ceilings, approvers, caps, approval timing.

Kept inside the governance package (not ws1ai/settings.py) so the rules every action obeys live in one place.
Dict/list fields are read from the environment as JSON, e.g.
`WS1AI_GOVERNANCE_PER_RUN_CAPS='{"device_wipe": 3}'`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ws1ai.governance.actions import ActionKind, RiskTier

__all__ = ["GovernanceSettings", "RolloutMode", "TimeoutOutcome"]


class RolloutMode(StrEnum):
    OBSERVE = "observe"  # plan and report only
    RECOMMEND = "recommend"  # plan, ticket or notify admins, act on nothing
    APPROVE = "approve"  # every action waits for approval
    AUTO = "auto"  # low tier acts without approval; higher tiers still wait


class TimeoutOutcome(StrEnum):
    REJECT = "reject"  # the default: nobody answered, nothing happens
    APPROVE = "approve"  # "silence is consent" — never applies to destructive or two-person actions
    FAIL = "fail"  # let the pause time out and the run end FAILED (audited first)


class GovernanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WS1AI_GOVERNANCE_", env_file=".env", extra="ignore")

    mode: RolloutMode = Field(RolloutMode.APPROVE, description="default rollout mode for flows")
    # Worker-side ceilings (see ceiling.py): a flow run's `mode` parameter may lower them, never raise them,
    # because anyone who can create a run chooses its parameters.
    max_mode: RolloutMode = Field(
        RolloutMode.APPROVE, description="highest rollout mode a flow run may use unless `max_modes` says"
    )
    max_modes: dict[str, RolloutMode] = Field(
        default_factory=dict,
        description='per-flow ceilings by flow (or "flow/deployment") name: {"compliance_triage": "auto"}',
    )
    approver_key: SecretStr | None = Field(
        None, description="server-side HMAC key: approver token = HMAC(key, approver id); see identity.py"
    )
    approver_public_keys: dict[str, str] = Field(
        default_factory=dict,
        description="approver id → base64 raw Ed25519 public key (`ws1ai approvals keygen`); see identity.py",
    )
    # Removed (bare SHA-256 of a secret, and unable to check a signed approval code): still read, so that a
    # deployment that sets it fails loudly instead of silently losing its approvers.
    approver_secret_hashes: dict[str, str] | None = Field(None, exclude=True)
    allowed_approvers: list[str] = Field(
        default_factory=list, description="if set, only these approver ids may approve"
    )
    approval_timeout_seconds: int = Field(4 * 3600, ge=1, description="how long an approval may wait")
    approval_poll_seconds: int = Field(2, ge=1, description="resume latency (Prefect pause poll interval)")
    # `pause` keeps the run's process waiting; `suspend` ends it and the run resumes from its recorded plan
    # on infrastructure (needs a deployment and a worker; see governance/approval_suspend.py).
    approval_wait: Literal["pause", "suspend"] = Field(
        "pause", description="how a run waits for approval: pause (process kept) or suspend (released)"
    )
    timeout_outcome: TimeoutOutcome = TimeoutOutcome.REJECT
    reminder_before_seconds: list[int] = Field(
        default_factory=lambda: [1800, 300], description="send reminders this long before the deadline"
    )
    default_per_run_cap: int = Field(500, ge=0, description="devices per action kind per run")
    default_per_hour_cap: int = Field(2000, ge=0, description="devices per action kind per rolling hour")
    per_run_caps: dict[ActionKind, int] = Field(
        default_factory=lambda: {
            ActionKind.DEVICE_WIPE: 5,
            ActionKind.ENTERPRISE_WIPE: 25,
            ActionKind.DEVICE_DELETE: 5,
            ActionKind.DEVICE_LOCK: 25,
            ActionKind.QUARANTINE_PROFILE: 50,
        }
    )
    per_hour_caps: dict[ActionKind, int] = Field(
        default_factory=lambda: {
            ActionKind.DEVICE_WIPE: 10,
            ActionKind.ENTERPRISE_WIPE: 50,
            ActionKind.DEVICE_DELETE: 10,
            ActionKind.DEVICE_LOCK: 50,
            ActionKind.QUARANTINE_PROFILE: 100,
        }
    )
    tier_overrides: dict[ActionKind, RiskTier] = Field(
        default_factory=dict, description="re-tier kinds (destructive kinds cannot be lowered)"
    )
    # One note per device per write doubles the calls of a bulk write; low-tier reminders and tags go without
    # (the correlation id still travels as `x-correlation-id` on every request and is in the audit trail).
    device_notes: dict[RiskTier, bool] = Field(
        default_factory=lambda: {
            RiskTier.LOW: False,
            RiskTier.MEDIUM: True,
            RiskTier.HIGH: True,
            RiskTier.DESTRUCTIVE: True,
        },
        description="per tier: leave a provenance note on each device after a write (unlisted tiers: yes)",
    )
    audit_artifact_prefix: str = Field("ws1ai-audit", pattern=r"^[a-z0-9-]+$")
    audit_lookback_days: int = Field(365, ge=1, description="how far back idempotency/rollback look")
    # Exactly once across run keys (a caller may choose any): the same write (kind, payload, target) done or
    # in doubt within this window is not sent again, whatever run key plans it. 0 switches the check off.
    repeat_window_hours: float = Field(24.0, ge=0, description="no repeat of the same write within this")
    repeat_window_hours_by_kind: dict[ActionKind, float] = Field(
        default_factory=dict, description="per-kind override of repeat_window_hours"
    )

    @model_validator(mode="after")
    def _no_secret_hashes(self) -> GovernanceSettings:
        if self.approver_secret_hashes is not None:
            raise ValueError(
                "WS1AI_GOVERNANCE_APPROVER_SECRET_HASHES is no longer supported: register Ed25519 public "
                "keys in WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS (`ws1ai approvals keygen <id> --out <file>`)"
            )
        return self

    def per_run_cap(self, kind: ActionKind) -> int:
        return self.per_run_caps.get(kind, self.default_per_run_cap)

    def per_hour_cap(self, kind: ActionKind) -> int:
        return self.per_hour_caps.get(kind, self.default_per_hour_cap)

    def device_note(self, tier: RiskTier) -> bool:
        return self.device_notes.get(tier, True)

    def repeat_window(self, kind: ActionKind) -> float:
        return self.repeat_window_hours_by_kind.get(kind, self.repeat_window_hours)
