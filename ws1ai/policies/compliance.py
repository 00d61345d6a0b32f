"""Compliance triage: choose the least disruptive remediation for a non-compliant device.

The ladder, least disruptive first: tell the user how to fix it → push the remediation profile → open a ticket
for a human → quarantine (restrict access until compliant; high tier, so it always waits for approval) →
enterprise wipe (removes corporate data; destructive, so two distinct approvers). Quarantine is reserved for
compromised devices and for sensitive roles whose violation has lasted; the wipe for a compromised device
holding high-sensitivity data whose violation has lasted, as Workspace ONE's own compliance escalations do.
An LLM may propose, but never more than this ladder allows for the facts (`bounded_by_policy`).

Every sentence of a rationale states a fact of the `DeviceFacts` it was built from, and nothing else: the
violation's age is computed by the caller from the tenant's own clock (never the local calendar), and
"despite reminders" is said only when the audit trail shows reminders executed during this violation
(`reminders_sent`). A long violation nobody has been reminded of gets a reminder first, saying so.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind, RiskTier

__all__ = [
    "REMINDER_PURPOSE",
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
# Marks the reminder push in its payload, so the audit trail can count reminders a device was sent.
REMINDER_PURPOSE = "compliance_reminder"


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
    days_non_compliant: int | None = None  # on the tenant's clock; None = when it started is unknown
    reminders_sent: int = 0  # compliance reminders executed for this device during this violation (audit)
    data_sensitivity: str = "medium"  # low / medium / high, from the user's role
    risk_score: float | None = None  # 0-1 from models.risk: the order in which devices are triaged
    risk_reasons: list[str] = Field(default_factory=list)


def wipe_eligible(facts: DeviceFacts) -> bool:
    """Compromised, high-sensitivity data, and a violation known to have lasted (unknown never qualifies)."""
    long_violation = (facts.days_non_compliant or 0) >= LONG_VIOLATION_DAYS
    return facts.compromised and facts.data_sensitivity == "high" and long_violation


def _days(n: int | None) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def triage_by_policy(facts: DeviceFacts) -> Triage:
    """The deterministic policy (and the LLM's fallback)."""
    days = facts.days_non_compliant
    long_violation = (days or 0) >= LONG_VIOLATION_DAYS
    if wipe_eligible(facts):
        return Triage(
            remediation=Remediation.ENTERPRISE_WIPE,
            rationale=(
                f"compromised device with high-sensitivity data, non-compliant for {_days(days)}: "
                "remove corporate data"
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
            rationale=f"high-sensitivity data, non-compliant for {_days(days)}",
            confidence=0.7,
        )
    if not facts.encrypted:
        return Triage(
            remediation=Remediation.INSTALL_PROFILE,
            rationale="disk encryption is off; the encryption profile enforces it",
            confidence=0.8,
        )
    if long_violation and facts.reminders_sent > 0:
        sent = facts.reminders_sent
        return Triage(
            remediation=Remediation.ESCALATE,
            rationale=(
                f"non-compliant for {_days(days)} despite {sent} reminder{'s' if sent != 1 else ''} "
                "sent during this violation"
            ),
            confidence=0.6,
        )
    if long_violation:
        # The least disruptive step has not been tried yet: remind first, escalate if that does not help.
        return Triage(
            remediation=Remediation.NOTIFY_USER,
            rationale=f"non-compliant for {_days(days)} and no reminder sent yet: remind the user first",
            confidence=0.6,
        )
    since = "how long it has lasted is unknown" if days is None else f"non-compliant for {_days(days)}"
    return Triage(
        remediation=Remediation.NOTIFY_USER,
        rationale=f"{since}; not compromised, encrypted: the user can fix it (usually an OS update)",
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
    quarantine_tag: str = "Quarantine",
    decided_by: Literal["llm", "rule"] = "rule",
    model_version: str | None = None,
    prompt_version: str | None = None,
    fallback_reason: str | None = None,
) -> list[Action]:
    """The governed actions that carry out one triage decision (a missing profile or tag escalates).

    Provenance as it happened: an LLM decision carries its model and prompt version; a rule decision carries
    neither, and `fallback_reason` says why the LLM did not decide (not configured, error, refused, invalid).
    """
    llm = decided_by == "llm"
    common: dict[str, Any] = {
        "run_key": run_key,
        "targets": (str(facts.device_id),),
        "rationale": triage.rationale,
        "confidence": triage.confidence,
        "decided_by": decided_by,
        "model_version": model_version if llm else None,
        "prompt_version": prompt_version if llm else None,
        "fallback_reason": None if llm else fallback_reason,
    }
    remediation = triage.remediation
    # A rung the tenant cannot carry out goes to a human, and the rationale says why (it stays true).
    if remediation is Remediation.INSTALL_PROFILE and encryption_profile_id is None:
        remediation = Remediation.ESCALATE
        common["rationale"] = f"{triage.rationale}; no encryption profile for {facts.platform}"[:400]
    if remediation is Remediation.QUARANTINE and quarantine_tag_id is None:
        remediation = Remediation.ESCALATE
        common["rationale"] = f"{triage.rationale}; no tag named {quarantine_tag!r} in the tenant"[:400]
    if remediation is Remediation.NOTIFY_USER:
        body = (
            "Your device is out of compliance with company policy. Please install pending OS updates "
            "and open Intelligent Hub to see what else is needed."
        )
        payload: dict[str, object] = {"channel": "push", "body": body, "purpose": REMINDER_PURPOSE}
        return [Action(kind=ActionKind.MESSAGE_SEND, payload=payload, **common)]
    if remediation is Remediation.INSTALL_PROFILE:
        payload = {"profile_id": encryption_profile_id}
        return [Action(kind=ActionKind.PROFILE_INSTALL, payload=payload, **common)]
    if remediation is Remediation.QUARANTINE:
        # Quarantine = the device joins the quarantine tag, which the tenant's restriction smart group keys
        # on. Reversible (remove the tag), but high tier: it cuts the user off, so a human approves it.
        tag = {"tag_id": quarantine_tag_id, "tag": quarantine_tag}  # the configured tag, named as it is
        return [Action(kind=ActionKind.TAG_ADD, payload=tag, risk_override=RiskTier.HIGH, **common)]
    if remediation is Remediation.ENTERPRISE_WIPE:
        # Destructive: governance requires two distinct verified approvers whatever the rollout mode.
        return [Action(kind=ActionKind.ENTERPRISE_WIPE, payload={}, **common)]
    ticket = {
        "short_description": f"Non-compliant device {facts.device_id} needs attention",
        "description": (
            f"Device {facts.device_id} ({facts.platform} {facts.model}, OS {facts.os_version}) is "
            f"{facts.compliance_status}. Triage: {common['rationale']}"
        ),
        # A compliance violation is a security matter for the service desk, not a hardware fault.
        "category": "security",
        "subcategory": "compliance",
        "impact": "2",
        "urgency": "2",
    }
    return [Action(kind=ActionKind.ITSM_TICKET, payload=ticket, **common)]
