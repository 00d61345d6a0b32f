"""The deterministic compliance-triage policy and the actions it turns into (pure, no engine)."""

from __future__ import annotations

import pytest

from ws1ai.governance.actions import TWO_PERSON_KINDS, ActionKind, RiskTier
from ws1ai.policies.compliance import (
    DeviceFacts,
    Remediation,
    Triage,
    bounded_by_policy,
    remediation_actions,
    triage_by_policy,
)


def _facts(**overrides: object) -> DeviceFacts:
    base: dict[str, object] = {
        "device_id": 42,
        "platform": "AppleOsX",
        "model": "MacBook Air (M1, 2020)",
        "os_version": "14.6",
        "compliance_status": "NonCompliant",
        "compromised": False,
        "encrypted": True,
        "days_non_compliant": 1,
    }
    base.update(overrides)
    return DeviceFacts.model_validate(base)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"compromised": True}, Remediation.QUARANTINE),
        ({"compromised": True, "data_sensitivity": "high", "days_non_compliant": 3}, Remediation.QUARANTINE),
        (
            {"compromised": True, "data_sensitivity": "high", "days_non_compliant": None},
            Remediation.QUARANTINE,
        ),
        (
            {"compromised": True, "data_sensitivity": "high", "days_non_compliant": 8},
            Remediation.ENTERPRISE_WIPE,
        ),
        ({"data_sensitivity": "high", "days_non_compliant": 10}, Remediation.QUARANTINE),
        ({"encrypted": False}, Remediation.INSTALL_PROFILE),
        ({"days_non_compliant": 30, "reminders_sent": 2}, Remediation.ESCALATE),
        # A long violation nobody reminded the user of: the reminder comes first (the ladder's first rung).
        ({"days_non_compliant": 30}, Remediation.NOTIFY_USER),
        ({}, Remediation.NOTIFY_USER),
    ],
)
def test_policy_picks_the_least_disruptive_fitting_remediation(
    overrides: dict[str, object], expected: Remediation
) -> None:
    assert triage_by_policy(_facts(**overrides)).remediation is expected


def test_quarantine_is_high_tier_and_a_missing_profile_escalates_instead() -> None:
    facts = _facts(compromised=True)
    triage = triage_by_policy(facts)
    [quarantine] = remediation_actions(
        facts, triage, run_key="r", encryption_profile_id=1, quarantine_tag_id=9
    )
    assert quarantine.kind is ActionKind.TAG_ADD
    assert quarantine.payload == {"tag_id": 9, "tag": "Quarantine"}
    assert quarantine.inverse() is not None  # reversible: the tag comes off again
    assert quarantine.tier().rank >= RiskTier.HIGH.rank
    [ticket] = remediation_actions(
        facts, triage, run_key="r", encryption_profile_id=1, quarantine_tag_id=None
    )
    assert ticket.kind is ActionKind.ITSM_TICKET
    assert "42" in ticket.payload["short_description"]
    assert ticket.payload["category"] == "security"  # a compliance matter, not a hardware fault
    assert "no tag named 'Quarantine'" in ticket.rationale  # why a human gets it instead


def test_the_configured_quarantine_tag_is_named_and_hashed_not_a_hard_coded_one() -> None:
    facts = _facts(compromised=True)
    triage = triage_by_policy(facts)
    [default] = remediation_actions(facts, triage, run_key="r", encryption_profile_id=1, quarantine_tag_id=9)
    [custom] = remediation_actions(
        facts, triage, run_key="r", encryption_profile_id=1, quarantine_tag_id=9, quarantine_tag="Restricted"
    )
    assert custom.payload == {"tag_id": 9, "tag": "Restricted"}
    assert custom.correlation_id != default.correlation_id


def test_provenance_says_who_decided_and_why_the_llm_did_not() -> None:
    facts = _facts()
    triage = triage_by_policy(facts)
    [rule] = remediation_actions(
        facts,
        triage,
        run_key="r",
        encryption_profile_id=1,
        quarantine_tag_id=9,
        decided_by="rule",
        model_version="gpt-x",
        prompt_version="compliance_triage@v1",
        fallback_reason="LLM not configured (OPENAI_API_KEY unset)",
    )
    # The rule was not prompted: no prompt or model version, and the reason the LLM did not decide.
    assert (rule.decided_by, rule.prompt_version, rule.model_version) == ("rule", None, None)
    assert rule.fallback_reason == "LLM not configured (OPENAI_API_KEY unset)"
    [llm] = remediation_actions(
        facts,
        triage,
        run_key="r",
        encryption_profile_id=1,
        quarantine_tag_id=9,
        decided_by="llm",
        model_version="gpt-x",
        prompt_version="compliance_triage@v1",
        fallback_reason="ignored",
    )
    assert (llm.decided_by, llm.prompt_version, llm.model_version) == ("llm", "compliance_triage@v1", "gpt-x")
    assert llm.fallback_reason is None
    assert llm.correlation_id == rule.correlation_id  # provenance is not what the action does


def test_the_same_decision_in_the_same_run_has_the_same_correlation_id() -> None:
    facts = _facts(encrypted=False)
    triage = triage_by_policy(facts)
    first = remediation_actions(
        facts, triage, run_key="run-1", encryption_profile_id=3, quarantine_tag_id=None
    )
    again = remediation_actions(
        facts, triage, run_key="run-1", encryption_profile_id=3, quarantine_tag_id=None
    )
    other = remediation_actions(
        facts, triage, run_key="run-2", encryption_profile_id=3, quarantine_tag_id=None
    )
    assert first[0].correlation_id == again[0].correlation_id != other[0].correlation_id


def test_a_wipe_is_destructive_and_needs_two_approvers() -> None:
    facts = _facts(compromised=True, data_sensitivity="high", days_non_compliant=9)
    [wipe] = remediation_actions(
        facts, triage_by_policy(facts), run_key="r", encryption_profile_id=1, quarantine_tag_id=9
    )
    assert wipe.kind is ActionKind.ENTERPRISE_WIPE
    assert wipe.kind in TWO_PERSON_KINDS
    assert wipe.tier() is RiskTier.DESTRUCTIVE
    assert "9 days" in wipe.rationale


@pytest.mark.parametrize(
    "overrides",
    [
        {"compromised": False, "data_sensitivity": "high", "days_non_compliant": 30},
        {"compromised": True, "data_sensitivity": "medium", "days_non_compliant": 30},
        {"compromised": True, "data_sensitivity": "high", "days_non_compliant": None},
    ],
)
def test_an_llm_cannot_wipe_what_the_policy_would_not(overrides: dict[str, object]) -> None:
    facts = _facts(**overrides)
    proposed = Triage(remediation=Remediation.ENTERPRISE_WIPE, rationale="wipe it", confidence=0.99)
    bounded = bounded_by_policy(facts, proposed)
    assert bounded.remediation is triage_by_policy(facts).remediation is not Remediation.ENTERPRISE_WIPE
    assert "LLM proposed a wipe" in bounded.rationale


def test_an_llm_proposal_within_the_ladder_stands() -> None:
    facts = _facts(compromised=True, data_sensitivity="high", days_non_compliant=8)
    proposed = Triage(
        remediation=Remediation.ENTERPRISE_WIPE, rationale="compromised, sensitive", confidence=0.7
    )
    assert bounded_by_policy(facts, proposed) is proposed
    softer = Triage(remediation=Remediation.ESCALATE, rationale="ask a human", confidence=0.5)
    assert bounded_by_policy(facts, softer) is softer
