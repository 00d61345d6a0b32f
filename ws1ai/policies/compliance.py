"""Compliance triage: choose the least disruptive remediation for a non-compliant device.

The ladder, least disruptive first: tell the user how to fix it → push the remediation profile → open a ticket
for a human → quarantine (restrict access until compliant; high tier, so it always waits for approval) →
enterprise wipe (removes corporate data; destructive, so two distinct approvers). Quarantine is reserved for
compromised devices and for sensitive roles whose violation has lasted; the wipe for a compromised device
holding high-sensitivity data whose violation has lasted, as Workspace ONE's own compliance escalations do.
An LLM may propose, but never more than this ladder allows for the facts (`bounded_by_policy`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind, RiskTier

__all__ = [
    "DeviceFacts",
    "Remediation",
    "Triage",
    "bounded_by_policy",
    "remediation_actions",
    "triage_by_policy",
    "wipe_eligible",
]

# Violations older than this on a sensitive device are no longer a "remind the user" matter.
LONG_VIOLATION_DAYS = 7


class Remediation(StrEnum):
    NOTIFY_USER = "notify_user"
    INSTALL_PROFILE = "install_profile"
    QUARANTINE = "quarantine"
    ESCALATE = "escalate"
    ENTERPRISE_WIPE = "enterprise_wipe"


class Triage(BaseModel):
    """The decision, from the policy or the LLM (the same model validates both)."""

    remediation: Remediation
    rationale: str = Field(max_length=400)
    confidence: float = Field(ge=0.0, le=1.0)


class DeviceFacts(BaseModel):
    """What triage may look at: no names, emails, serials or phone numbers (this is what an LLM sees)."""

    device_id: int
    platform: str
    model: str
    os_version: str
    compliance_status: str
    compromised: bool
    encrypted: bool
    days_non_compliant: int | None = None
    data_sensitivity: str = "medium"  # low / medium / high, from the user's role
    risk_score: float | None = None  # 0-1 from models.risk: the order in which devices are triaged
    risk_reasons: list[str] = Field(default_factory=list)


def wipe_eligible(facts: DeviceFacts) -> bool:
    """Compromised, high-sensitivity data, and a violation known to have lasted (unknown never qualifies)."""
    long_violation = (facts.days_non_compliant or 0) >= LONG_VIOLATION_DAYS
    return facts.compromised and facts.data_sensitivity == "high" and long_violation


def triage_by_policy(facts: DeviceFacts) -> Triage:
    """The deterministic policy (and the LLM's fallback)."""
    long_violation = (facts.days_non_compliant or 0) >= LONG_VIOLATION_DAYS
    if wipe_eligible(facts):
        return Triage(
            remediation=Remediation.ENTERPRISE_WIPE,
            rationale=(
                "compromised device with high-sensitivity data, non-compliant for "
                f"{facts.days_non_compliant} days: remove corporate data"
            ),
            confidence=0.8,
        )
    if facts.compromised:
        return Triage(
            remediation=Remediation.QUARANTINE,
            rationale="device reports compromised (jailbreak/root or integrity failure)",
            confidence=0.9,
        )
    if facts.data_sensitivity == "high" and long_violation:
        return Triage(
            remediation=Remediation.QUARANTINE,
            rationale=f"high-sensitivity role, non-compliant for {facts.days_non_compliant} days",
            confidence=0.7,
        )
    if not facts.encrypted:
        return Triage(
            remediation=Remediation.INSTALL_PROFILE,
            rationale="disk encryption is off; the encryption profile enforces it",
            confidence=0.8,
        )
    if long_violation:
        return Triage(
            remediation=Remediation.ESCALATE,
            rationale=f"non-compliant for {facts.days_non_compliant} days despite reminders",
            confidence=0.6,
        )
    return Triage(
        remediation=Remediation.NOTIFY_USER,
        rationale="recent, low-risk violation: the user can fix it (usually an OS update)",
        confidence=0.6,
    )


def bounded_by_policy(facts: DeviceFacts, proposed: Triage) -> Triage:
    """An LLM's proposal, capped: it may not wipe a device the policy would not wipe (the policy's decision
    replaces it, saying so). Everything else stands: the other rungs are reversible and governed anyway."""
    if proposed.remediation is Remediation.ENTERPRISE_WIPE and not wipe_eligible(facts):
        fallback = triage_by_policy(facts)
        return fallback.model_copy(
            update={"rationale": f"LLM proposed a wipe the policy does not allow; {fallback.rationale}"[:400]}
        )
    return proposed


def remediation_actions(
    facts: DeviceFacts,
    triage: Triage,
    *,
    run_key: str,
    encryption_profile_id: int | None,
    quarantine_tag_id: int | None,
    decided_by: str = "rule",
    model_version: str | None = None,
    prompt_version: str | None = None,
) -> list[Action]:
    """The governed actions that carry out one triage decision (a missing profile or tag escalates)."""
    common = {
        "run_key": run_key,
        "targets": (str(facts.device_id),),
        "rationale": triage.rationale,
        "confidence": triage.confidence,
        "decided_by": decided_by,
        "model_version": model_version,
        "prompt_version": prompt_version,
    }
    remediation = triage.remediation
    if remediation is Remediation.INSTALL_PROFILE and encryption_profile_id is None:
        remediation = Remediation.ESCALATE
    if remediation is Remediation.QUARANTINE and quarantine_tag_id is None:
        remediation = Remediation.ESCALATE
    if remediation is Remediation.NOTIFY_USER:
        body = (
            "Your device is out of compliance with company policy. Please install pending OS updates "
            "and open Intelligent Hub to see what else is needed."
        )
        return [Action(kind=ActionKind.MESSAGE_SEND, payload={"channel": "push", "body": body}, **common)]
    if remediation is Remediation.INSTALL_PROFILE:
        payload: dict[str, object] = {"profile_id": encryption_profile_id}
        return [Action(kind=ActionKind.PROFILE_INSTALL, payload=payload, **common)]
    if remediation is Remediation.QUARANTINE:
        # Quarantine = the device joins the quarantine tag, which the tenant's restriction smart group keys
        # on. Reversible (remove the tag), but high tier: it cuts the user off, so a human approves it.
        payload = {"tag_id": quarantine_tag_id, "tag": "Quarantine"}
        return [Action(kind=ActionKind.TAG_ADD, payload=payload, risk_override=RiskTier.HIGH, **common)]
    if remediation is Remediation.ENTERPRISE_WIPE:
        # Destructive: governance requires two distinct verified approvers whatever the rollout mode.
        return [Action(kind=ActionKind.ENTERPRISE_WIPE, payload={}, **common)]
    ticket = {
        "short_description": f"Non-compliant device {facts.device_id} needs attention",
        "description": (
            f"Device {facts.device_id} ({facts.platform} {facts.model}, OS {facts.os_version}) is "
            f"{facts.compliance_status}. Triage: {triage.rationale}"
        ),
        "category": "hardware",
        "impact": "2",
        "urgency": "2",
    }
    return [Action(kind=ActionKind.ITSM_TICKET, payload=ticket, **common)]
