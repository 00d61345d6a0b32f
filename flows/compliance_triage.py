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

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.states import Completed

from flows._govern import govern_and_act
from flows._params import confined, refuse
from tasks.compliance import (
    count_reminders,
    prioritise_by_risk,
    read_compliance_history,
    read_risk_inputs,
    tenant_today,
)
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
from ws1ai.settings import WorkerSettings

__all__ = ["compliance_triage"]

PROMPT = "compliance_triage"
LOOKUPS_MAX = 50  # named devices read one GET each up to this many; more: the bulk search, filtered


@dataclass(frozen=True)
class Decision:
    """One device's triage and how it was reached: by the LLM (its model and prompt version) or by the rule
    (and why the LLM did not decide: not configured, error, refused, invalid answer, or bounded)."""

    facts: DeviceFacts
    triage: Triage
    decided_by: Literal["llm", "rule"]
    model: str | None = None
    prompt: str | None = None
    fallback_reason: str | None = None


@task(name="decide-remediations")
def decide_remediations(devices: list[DeviceFacts]) -> list[Decision]:
    """One decision per device. The LLM sees only `DeviceFacts` (no names, emails or serials)."""
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
        if result.decided_by != "llm":
            decided.append(Decision(facts, triage, "rule", fallback_reason=result.fallback_reason))
        elif triage is not result.answer:  # the LLM proposed a wipe the ladder forbids: the rule decided
            why = "LLM proposed a wipe the policy does not allow"
            decided.append(Decision(facts, triage, "rule", fallback_reason=why))
        else:
            decided.append(Decision(facts, triage, "llm", result.model, result.prompt))
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
    quarantine_tag: str | None = None,
    run_key: str | None = None,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Triage non-compliant devices (all, or `device_ids`), riskiest first, and act through governance.

    `risk_model_path`: a model from `ws1ai models train risk` (fleet references learned offline); without it
    the references come from this tenant's inventory as of today. `encryption_profiles` and
    `quarantine_tag` choose among what this worker allows (`WS1AI_ENCRYPTION_PROFILES`,
    `WS1AI_QUARANTINE_TAGS`; default: all of them, the first tag).
    """
    log = get_run_logger()
    try:  # parameters narrow a run, never widen it: checked before anything is read
        worker = WorkerSettings()
        risk_model_path = confined(risk_model_path, "risk_model_path", model=True)
        encryption_profiles = worker.choose("encryption_profiles", encryption_profiles)
        quarantine_tag = worker.choose_quarantine_tag(quarantine_tag)
    except ValueError as exc:
        return refuse(exc)
    # Idempotency scope: the same decision for the same device on the same day is one action, however many
    # runs (nightly sweep, event triggers, retries) reach it.
    run_key = run_key or f"compliance-triage:{date.today().isoformat()}"
    if device_id is not None:  # one device, as an event trigger passes it
        device_ids = [*(device_ids or []), device_id]
    if device_ids and len(device_ids) > LOOKUPS_MAX:
        # A coalesced batch (deployments/webhook.py): one paged search of the non-compliant devices (500 a
        # page) costs fewer API calls than a GET per device; keep only the named ones.
        wanted = set(device_ids)
        found = [f for f in read_non_compliant_devices(None, None) if f.device_id in wanted]
    else:
        found = read_non_compliant_devices(device_ids, None)
    if not found:
        return Completed(name="SKIPPED", message="no non-compliant devices")
    assets, threats, reported_at = read_risk_inputs()
    history = read_compliance_history([d.device_id for d in found])
    # Violation starts are on the tenant's clock, so their ages are measured to the tenant's today.
    as_of = tenant_today(assets, history, reported_at)
    ranked, risk_version = prioritise_by_risk(found, assets, threats, history, risk_model_path, as_of)
    devices = ranked[:max_devices]
    reminders = count_reminders(devices)
    devices = [d.model_copy(update={"reminders_sent": reminders.get(d.device_id, 0)}) for d in devices]
    log.info(
        "triaging %d of %d non-compliant devices, riskiest first (risk %s; tenant date %s; %d with a known "
        "violation start, %d reminded during it)",
        len(devices),
        len(ranked),
        risk_version,
        as_of,
        history["device_id"].n_unique(),
        len(reminders),
    )
    publish_priorities(ranked, max_devices)
    decisions = decide_remediations(devices)
    profile_ids, quarantine_tag_id = resolve_remediation_targets(
        encryption_profiles, quarantine_tag
    )
    actions: list[Action] = []
    for d in decisions:
        actions += remediation_actions(
            d.facts,
            d.triage,
            run_key=run_key,
            encryption_profile_id=profile_ids.get(d.facts.platform),
            quarantine_tag_id=quarantine_tag_id,
            quarantine_tag=quarantine_tag,
            decided_by=d.decided_by,
            model_version=d.model,
            prompt_version=d.prompt,
            fallback_reason=d.fallback_reason,
        )
    create_table_artifact(
        key="compliance-triage-decisions",
        table=[
            {
                "device": d.facts.device_id,
                "risk": d.facts.risk_score,
                "remediation": d.triage.remediation.value,
                "decided_by": d.decided_by,
                "model": d.model or "",
                "prompt": d.prompt or "",
                "fallback_reason": d.fallback_reason or "",
                "confidence": d.triage.confidence,
                "why": d.triage.rationale,
            }
            for d in decisions
        ],
        description=f"Compliance triage decisions ({mode}, {'dry run' if dry_run else 'live'}; "
        f"risk {risk_version}; tenant date {as_of})",
    )
    targets = len({t for a in actions for t in a.targets})
    return govern_and_act(
        actions,
        title=f"Compliance triage: {len(actions)} action(s) on {targets} non-compliant device(s)",
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


if __name__ == "__main__":
    compliance_triage()
