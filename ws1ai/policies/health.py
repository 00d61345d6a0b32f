"""Predictive health: which flagged devices get a replacement and which a scripted fix (pure, no engine).

The failure model says *how likely* a device fails within the horizon and *which component*; this policy
says what to do about it. A failing battery or logic board cannot be fixed remotely, and a critical user
cannot wait for a repair, so both get a replacement: a ServiceNow incident with the full context, the
`Status` custom attribute set to `Pending Replacement` (previous value recorded, so it is reversible) and an
email to the user. A storage problem is usually a full disk: a clean-up script where the platform has one,
otherwise a push message asking the user to free space.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

import polars as pl
from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind

__all__ = [
    "DEFAULT_CRITICAL_ROLES",
    "PENDING_REPLACEMENT",
    "REPLACE_COMPONENTS",
    "DeviceRisk",
    "HealthDecision",
    "HealthVerdict",
    "decide_health",
    "flag_devices",
    "health_actions",
    "is_critical",
]

REPLACE_COMPONENTS = frozenset({"battery", "logic_board"})
# Roles whose downtime costs the most; matched as case-insensitive substrings of the HR role title.
DEFAULT_CRITICAL_ROLES: tuple[str, ...] = ("Director", "Chief", "VP", "Vice President", "Head of")
PENDING_REPLACEMENT = "Pending Replacement"
STATUS_ATTRIBUTE = "Status"


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


def flag_devices(
    scored: pl.DataFrame, *, threshold: float | None = None, review_budget: int | None = None
) -> pl.DataFrame:
    """Devices worth acting on: above `threshold`, or the `review_budget` riskiest (both: the stricter).

    Sorted by probability (riskiest first) so a budget cut and the report read the same way.
    """
    if threshold is None and review_budget is None:
        raise ValueError("give a threshold or a review budget")
    out = scored.sort(["failure_probability", "device_id"], descending=[True, False])
    if threshold is not None:
        out = out.filter(pl.col("failure_probability") >= threshold)
    if review_budget is not None:
        out = out.head(review_budget)
    return out


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
            reason=f"{pct} risk of a storage failure; a clean-up script frees space first",
        )
    return HealthVerdict(
        decision=HealthDecision.NOTIFY_USER,
        reason=f"{pct} risk of a storage failure; no clean-up script for {risk.platform}: ask the user",
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
        common = {
            "run_key": run_key,
            "targets": (str(risk.device_id),),
            "rationale": verdict.reason,
            "confidence": risk.failure_probability,
            "decided_by": "model",
            "model_version": risk.model_version or None,
        }
        if verdict.decision is HealthDecision.REPLACE:
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
