"""Predictive health: which flagged devices get a replacement and which a scripted fix (pure, no engine).

The failure model says *how likely* a device fails within the horizon and *which component*; this policy
says what to do about it. A failing battery or logic board cannot be fixed remotely, and a critical user
cannot wait for a repair, so both get a replacement: a ServiceNow incident with the full context, the
`Status` custom attribute set to `Pending Replacement` (previous value recorded, so it is reversible) and an
email to the user. A storage problem is usually a full disk: a clean-up script where the platform has one,
otherwise a push message asking the user to free space.

Two guards keep a healthy device from being replaced:

- **The validated threshold is a floor.** Only devices at or above the model's own threshold (picked on its
  validation period) are flagged; a review budget caps that list, it never fills it with the riskiest of
  the healthy (`flag_devices`).
- **A model too thin to trust proposes nothing** (`trust_problems`): a model trained in the run on the
  tenant's inferred failures must have seen enough failures, and validated well enough, before it may
  propose anything; otherwise the flow runs observe-only and says why. The floor is argued in
  models/README.md ("Trust floor for in-run models").

A replacement (incident, `Pending Replacement`, "your device will be replaced" email) is medium tier, never
low: it waits for a person in every rollout mode that asks one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import polars as pl
from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind, RiskTier

__all__ = [
    "DEFAULT_CRITICAL_ROLES",
    "PENDING_REPLACEMENT",
    "REPLACEMENT_TIER",
    "REPLACE_COMPONENTS",
    "DeviceRisk",
    "HealthDecision",
    "HealthVerdict",
    "ModelEvidence",
    "TrustFloor",
    "decide_health",
    "flag_devices",
    "health_actions",
    "is_critical",
    "trust_problems",
]

REPLACE_COMPONENTS = frozenset({"battery", "logic_board"})
# Roles whose downtime costs the most; matched as case-insensitive substrings of the HR role title.
DEFAULT_CRITICAL_ROLES: tuple[str, ...] = ("Director", "Chief", "VP", "Vice President", "Head of")
PENDING_REPLACEMENT = "Pending Replacement"
STATUS_ATTRIBUTE = "Status"
# A replacement tells a person their device will be taken away and opens work for IT: never unattended.
REPLACEMENT_TIER = RiskTier.MEDIUM


class HealthDecision(StrEnum):
    REPLACE = "replace"
    SCRIPTED_FIX = "scripted_fix"
    NOTIFY_USER = "notify_user"  # storage on a platform without a clean-up script
    ALREADY_PENDING = "already_pending"  # a replacement is already under way: nothing new to do


class DeviceRisk(BaseModel):
    """One scored device with the facts a decision (and the incident) needs."""

    device_id: int
    failure_probability: float = Field(ge=0.0, le=1.0)
    likely_component: str
    horizon_days: int = 14
    model_version: str = ""
    platform: str = ""
    model: str = ""
    os_version: str = ""
    serial_number: str = ""
    ownership: str = ""
    user_name: str = ""
    user_email: str = ""
    department: str = ""
    role: str = ""
    battery_health_pct: float | None = None
    storage_used_pct: float | None = None
    crashes_last_7d: int | None = None
    current_status: str | None = None  # the `Status` custom attribute before this run


class HealthVerdict(BaseModel):
    decision: HealthDecision
    reason: str


def is_critical(role: str, critical_roles: Sequence[str] = DEFAULT_CRITICAL_ROLES) -> bool:
    lowered = role.lower()
    return any(word.lower() in lowered for word in critical_roles)


@dataclass(frozen=True)
class ModelEvidence:
    """What a model's own validation says about it (from training, never from the devices it will score)."""

    failures: int  # failures (inferred or true) the model was trained and validated on
    validation_failures: int  # of those, devices failing inside the validation period
    pr_auc: float | None  # average precision on the validation snapshots (None: not computable)
    precision_at_threshold: float  # share of validation alerts at the chosen threshold that were failures
    break_even_precision: float  # cost_false_alarm / (cost_false_alarm + cost_miss): below it, alerts lose


@dataclass(frozen=True)
class TrustFloor:
    """The least evidence an in-run model needs before it may propose anything (see models/README.md)."""

    min_failures: int = 30
    min_validation_failures: int = 10
    min_pr_auc: float = 0.2


def trust_problems(evidence: ModelEvidence, floor: TrustFloor = TrustFloor()) -> list[str]:
    """Why the model may not act (empty: it may), one plain sentence per unmet condition."""
    out = []
    if evidence.failures < floor.min_failures:
        out.append(f"trained on {evidence.failures} failures; at least {floor.min_failures} are needed")
    if evidence.validation_failures < floor.min_validation_failures:
        out.append(
            f"{evidence.validation_failures} failures in the validation period; at least "
            f"{floor.min_validation_failures} are needed to judge the model"
        )
    if evidence.pr_auc is None or evidence.pr_auc < floor.min_pr_auc:
        shown = "not computable" if evidence.pr_auc is None else f"{evidence.pr_auc:.3f}"
        out.append(f"validated average precision {shown}; at least {floor.min_pr_auc:.2f} is needed")
    if evidence.precision_at_threshold < evidence.break_even_precision:
        out.append(
            f"validated precision at the threshold {evidence.precision_at_threshold:.1%}, below the "
            f"{evidence.break_even_precision:.1%} at which an alert is worth its cost"
        )
    return out


def flag_devices(scored: pl.DataFrame, *, threshold: float, review_budget: int | None = None) -> pl.DataFrame:
    """Devices at or above the validated `threshold`, at most the `review_budget` riskiest of them.

    The budget caps the list and never fills it: a device below the threshold is never flagged, however
    much room the budget has. Sorted by probability (riskiest first) so a budget cut and the report read
    the same way.
    """
    if review_budget is not None and review_budget < 0:
        raise ValueError(f"review_budget must be >= 0, got {review_budget}")
    out = scored.filter(pl.col("failure_probability") >= threshold).sort(
        ["failure_probability", "device_id"], descending=[True, False]
    )
    return out if review_budget is None else out.head(review_budget)


def decide_health(
    risk: DeviceRisk,
    *,
    critical_roles: Sequence[str] = DEFAULT_CRITICAL_ROLES,
    cleanup_platforms: Iterable[str] = (),
) -> HealthVerdict:
    """The deterministic decision for one flagged device."""
    pct = f"{risk.failure_probability:.0%}"
    if (risk.current_status or "").strip().lower() == PENDING_REPLACEMENT.lower():
        return HealthVerdict(
            decision=HealthDecision.ALREADY_PENDING, reason="a replacement is already pending for this device"
        )
    if risk.likely_component in REPLACE_COMPONENTS:
        return HealthVerdict(
            decision=HealthDecision.REPLACE,
            reason=f"{pct} risk of {risk.likely_component} failure within {risk.horizon_days} days; "
            "not fixable remotely",
        )
    if is_critical(risk.role, critical_roles):
        return HealthVerdict(
            decision=HealthDecision.REPLACE,
            reason=f"{pct} risk of {risk.likely_component} failure for a critical user ({risk.role}): "
            "replace before it fails",
        )
    if risk.platform in set(cleanup_platforms):
        return HealthVerdict(
            decision=HealthDecision.SCRIPTED_FIX,
            reason=f"{pct} risk of {risk.likely_component} failure; a clean-up script frees space first",
        )
    return HealthVerdict(
        decision=HealthDecision.NOTIFY_USER,
        reason=f"{pct} risk of {risk.likely_component} failure; no clean-up script for "
        f"{risk.platform or 'this platform'}: ask the user",
    )


def _incident(risk: DeviceRisk, verdict: HealthVerdict) -> dict[str, object]:
    # ServiceNow is inside the trust boundary: the technician needs the person and the serial, unredacted.
    lines = [
        f"Predicted failure: {risk.likely_component} ({risk.failure_probability:.1%} within "
        f"{risk.horizon_days} days, model {risk.model_version or 'unknown'})",
        f"Decision: {verdict.reason}",
        f"Device: {risk.device_id} {risk.platform} {risk.model} OS {risk.os_version} "
        f"serial {risk.serial_number} ownership {risk.ownership}",
        f"User: {risk.user_name} <{risk.user_email}> {risk.role}, {risk.department}",
        f"Battery health: {_fmt(risk.battery_health_pct)} %, storage used: {_fmt(risk.storage_used_pct)} %, "
        f"crashes last 7 days: {_fmt(risk.crashes_last_7d)}",
    ]
    return {
        "short_description": f"Replace device {risk.serial_number or risk.device_id}: predicted "
        f"{risk.likely_component} failure",
        "description": "\n".join(lines),
        "category": "hardware",
        "subcategory": risk.likely_component,
        "impact": "2",
        "urgency": "1" if risk.failure_probability >= 0.5 else "2",
    }


def _fmt(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def health_actions(
    decided: Sequence[tuple[DeviceRisk, HealthVerdict]],
    *,
    run_key: str,
    cleanup_scripts: Mapping[str, str] | None = None,
) -> list[Action]:
    """The governed actions for a batch of decisions.

    Replacements are per device (one incident, one attribute, one email each: each has its own prior value
    and recipient). Scripted fixes and storage reminders are one action per platform and kind, so a
    thousand full disks are one script assignment, not a thousand.
    """
    scripts = cleanup_scripts or {}
    actions: list[Action] = []
    fixes: dict[str, list[DeviceRisk]] = defaultdict(list)
    reminders: list[DeviceRisk] = []
    for risk, verdict in decided:
        common: dict[str, Any] = {
            "run_key": run_key,
            "targets": (str(risk.device_id),),
            "rationale": verdict.reason,
            "confidence": risk.failure_probability,
            "decided_by": "model",
            "model_version": risk.model_version or None,
        }
        if verdict.decision is HealthDecision.REPLACE:
            common["risk_override"] = REPLACEMENT_TIER
            actions.append(Action(kind=ActionKind.ITSM_TICKET, payload=_incident(risk, verdict), **common))
            actions.append(
                Action(
                    kind=ActionKind.CUSTOM_ATTRIBUTE_SET,
                    payload={"name": STATUS_ATTRIBUTE, "value": PENDING_REPLACEMENT},
                    prior={"previous_value": risk.current_status or ""},
                    **common,
                )
            )
            if risk.user_email:
                body = (
                    f"Our monitoring predicts a {risk.likely_component.replace('_', ' ')} failure on your "
                    f"{risk.model or 'device'} (serial {risk.serial_number}). IT will contact you to replace "
                    "it; please back up your work."
                )
                payload = {
                    "channel": "email",
                    "to_address": risk.user_email,
                    "subject": "Your device will be replaced",
                    "body": body,
                }
                actions.append(Action(kind=ActionKind.MESSAGE_SEND, payload=payload, **common))
        elif verdict.decision is HealthDecision.SCRIPTED_FIX and risk.platform in scripts:
            fixes[risk.platform].append(risk)
        elif verdict.decision in (HealthDecision.SCRIPTED_FIX, HealthDecision.NOTIFY_USER):
            reminders.append(risk)
    for platform, risks in sorted(fixes.items()):
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.SCRIPT_RUN,
                targets=tuple(str(r.device_id) for r in risks),
                payload={
                    "script_uuid": scripts[platform],
                    "purpose": "storage clean-up",
                    "platform": platform,
                },
                rationale=f"predicted storage failure on {len(risks)} {platform} device(s): "
                "run the clean-up script",
                confidence=max(r.failure_probability for r in risks),
                decided_by="model",
                model_version=risks[0].model_version or None,
            )
        )
    if reminders:
        body = (
            "Your device's storage is nearly full, which can make it fail. Please delete files you no longer "
            "need and empty the trash."
        )
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.MESSAGE_SEND,
                targets=tuple(str(r.device_id) for r in reminders),
                payload={"channel": "push", "body": body},
                rationale=f"predicted storage failure on {len(reminders)} device(s) "
                "without a clean-up script",
                confidence=max(r.failure_probability for r in reminders),
                decided_by="model",
                model_version=reminders[0].model_version or None,
            )
        )
    return actions
