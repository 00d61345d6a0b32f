"""Compliance triage: non-compliant devices → risk → decide (LLM or policy) → govern → act → record.

Runs nightly over the fleet, or for one device when Workspace ONE reports a compliance change. Each device
gets a 0-1 risk score with reasons (`models.risk`: compromise, encryption, EDR, OS patch lag, the role's data
sensitivity, how long the violation has lasted) and is triaged riskiest first; `max_devices` keeps the top
of that list. The LLM, when configured, only proposes (it sees no personal data) and never more than the
policy's ladder allows; the deterministic policy decides whenever it cannot. Low-tier actions (a push
message) run on their own in `auto` mode; profile pushes need approval in `approve` mode; quarantine always
waits for a human, and an enterprise wipe for two.

    python -m flows.compliance_triage --help
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.states import Completed

from flows._govern import govern_and_act
from tasks.compliance import prioritise_by_risk, read_compliance_history, read_risk_inputs
from tasks.uem import read_non_compliant_devices, resolve_remediation_targets
from ws1ai.connectors.llm import LLMDecider
from ws1ai.connectors.prompts import load_prompt
from ws1ai.governance.actions import Action
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.compliance import (
    DeviceFacts,
    Triage,
    bounded_by_policy,
    remediation_actions,
    triage_by_policy,
)

__all__ = ["compliance_triage"]

PROMPT = "compliance_triage"
DEFAULT_ENCRYPTION_PROFILES = {"AppleOsX": "FileVault Encryption", "WinRT": "BitLocker Encryption"}


@task(name="decide-remediations")
def decide_remediations(devices: list[DeviceFacts]) -> list[tuple[DeviceFacts, Triage, str, str]]:
    """One decision per device: (facts, triage, decided_by, prompt ref). The LLM sees only `DeviceFacts`."""
    decider = LLMDecider()
    prompt = load_prompt(PROMPT)
    decided = []
    for facts in devices:
        result = decider.decide(
            prompt,
            facts.model_dump(),
            Triage,
            lambda f=facts: triage_by_policy(f),  # type: ignore[misc]
        )
        triage = bounded_by_policy(facts, result.answer)
        decided.append((facts, triage, "llm" if result.decided_by == "llm" else "rule", result.prompt))
    return decided


def publish_priorities(ranked: list[DeviceFacts], max_devices: int) -> None:
    """The prioritised list: every non-compliant device, riskiest first, with the reasons in words."""
    create_table_artifact(
        key="compliance-triage-priorities",
        table=[
            {
                "rank": rank,
                "device": facts.device_id,
                "risk": facts.risk_score,
                "reasons": "; ".join(facts.risk_reasons) or "no risk factor scored",
                "sensitivity": facts.data_sensitivity,
                "days_non_compliant": facts.days_non_compliant,
                "triaged": rank <= max_devices,
            }
            for rank, facts in enumerate(ranked, start=1)
        ],
        description=f"Non-compliant devices by risk ({len(ranked)}; the top {max_devices} are triaged)",
    )


@flow(name="compliance-triage", log_prints=True)
def compliance_triage(
    mode: RolloutMode = RolloutMode.APPROVE,
    device_ids: list[int] | None = None,
    device_id: int | None = None,
    max_devices: int = 200,
    dry_run: bool = False,
    risk_model_path: str | None = None,
    encryption_profiles: dict[str, str] | None = None,
    quarantine_tag: str = "Quarantine",
    run_key: str | None = None,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Triage non-compliant devices (all, or `device_ids`), riskiest first, and act through governance.

    `risk_model_path`: a model from `ws1ai models train risk` (fleet references learned offline); without it
    the references come from this tenant's inventory as of today.
    """
    log = get_run_logger()
    # Idempotency scope: the same decision for the same device on the same day is one action, however many
    # runs (nightly sweep, event triggers, retries) reach it.
    run_key = run_key or f"compliance-triage:{date.today().isoformat()}"
    if device_id is not None:  # one device, as an event trigger passes it
        device_ids = [*(device_ids or []), device_id]
    found = read_non_compliant_devices(device_ids, None)
    if not found:
        return Completed(name="SKIPPED", message="no non-compliant devices")
    assets, threats = read_risk_inputs()
    history = read_compliance_history([d.device_id for d in found])
    ranked, risk_version = prioritise_by_risk(found, assets, threats, history, risk_model_path)
    devices = ranked[:max_devices]
    log.info(
        "triaging %d of %d non-compliant devices, riskiest first (risk %s; %d with a known violation start)",
        len(devices),
        len(ranked),
        risk_version,
        history["device_id"].n_unique(),
    )
    publish_priorities(ranked, max_devices)
    decisions = decide_remediations(devices)
    profile_ids, quarantine_tag_id = resolve_remediation_targets(
        encryption_profiles or DEFAULT_ENCRYPTION_PROFILES, quarantine_tag
    )
    actions: list[Action] = []
    for facts, triage, decided_by, prompt_ref in decisions:
        actions += remediation_actions(
            facts,
            triage,
            run_key=run_key,
            encryption_profile_id=profile_ids.get(facts.platform),
            quarantine_tag_id=quarantine_tag_id,
            decided_by=decided_by,
            model_version=risk_version,
            prompt_version=prompt_ref,
        )
    create_table_artifact(
        key="compliance-triage-decisions",
        table=[
            {
                "device": facts.device_id,
                "risk": facts.risk_score,
                "remediation": triage.remediation.value,
                "decided_by": decided_by,
                "confidence": triage.confidence,
                "why": triage.rationale,
            }
            for facts, triage, decided_by, _ in decisions
        ],
        description=f"Compliance triage decisions ({mode}, {'dry run' if dry_run else 'live'})",
    )
    return govern_and_act(
        actions,
        title=f"Compliance triage: remediate {len(devices)} non-compliant devices",
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


if __name__ == "__main__":
    compliance_triage()
