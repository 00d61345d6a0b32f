"""The worker's ceilings: run parameters may lower the rollout mode and approval wait, never raise them."""

from __future__ import annotations

import pytest

from ws1ai.governance.ceiling import cap_mode, cap_timeout, ceiling_for, within_ceiling
from ws1ai.governance.config import GovernanceSettings, RolloutMode, TimeoutOutcome

AUTO, APPROVE, RECOMMEND, OBSERVE = (
    RolloutMode.AUTO,
    RolloutMode.APPROVE,
    RolloutMode.RECOMMEND,
    RolloutMode.OBSERVE,
)


def test_a_request_above_the_ceiling_gets_the_ceiling_and_one_below_keeps_its_own() -> None:
    assert cap_mode("auto", APPROVE) is APPROVE
    assert cap_mode(APPROVE, RECOMMEND) is RECOMMEND
    assert cap_mode("observe", APPROVE) is OBSERVE
    assert cap_mode(RECOMMEND, AUTO) is RECOMMEND
    assert [cap_mode(m, OBSERVE) for m in RolloutMode] == [OBSERVE] * len(RolloutMode)
    with pytest.raises(ValueError, match="bogus"):
        cap_mode("bogus", APPROVE)


def test_the_default_ceiling_is_approve_and_per_flow_entries_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MAX_MODE", "MAX_MODES"):
        monkeypatch.delenv(f"WS1AI_GOVERNANCE_{name}", raising=False)
    assert ceiling_for(GovernanceSettings(), "compliance-triage") is APPROVE

    monkeypatch.setenv("WS1AI_GOVERNANCE_MAX_MODE", "recommend")
    monkeypatch.setenv(
        "WS1AI_GOVERNANCE_MAX_MODES",
        '{"compliance_triage": "auto", "compliance-triage/compliance-triage-on-event": "approve"}',
    )
    settings = GovernanceSettings()
    # Prefect's flow name (hyphens) and the function's name (underscores) are the same key.
    assert ceiling_for(settings, "compliance-triage") is AUTO
    assert ceiling_for(settings, "compliance_triage", "compliance-triage-nightly") is AUTO
    # The most specific entry wins: the event deployment stays in approve whatever its caller asks.
    assert ceiling_for(settings, "compliance-triage", "compliance-triage-on-event") is APPROVE
    assert ceiling_for(settings, "offboarding") is RECOMMEND
    assert ceiling_for(settings, None) is RECOMMEND

    monkeypatch.setenv("WS1AI_GOVERNANCE_MAX_MODES", '{"offboarding": "yolo"}')
    with pytest.raises(ValueError, match="max_modes"):
        GovernanceSettings()


def test_within_ceiling_says_what_it_lowered_in_the_log_and_the_title() -> None:
    settings = GovernanceSettings(max_mode=APPROVE, max_modes={"onboarding": AUTO})
    warned: list[str] = []
    bounded = within_ceiling(
        "auto", None, "Compliance triage", settings, "compliance-triage", warn=warned.append
    )
    note = "mode auto requested, approve is this worker's ceiling"
    assert bounded.mode is APPROVE and bounded.approval_timeout_seconds is None
    assert warned == [f"lowered by the worker's governance ceiling: {note}"]
    assert bounded.title == f"Compliance triage [{note}]"

    warned.clear()
    kept = within_ceiling(AUTO, 120, "Onboarding", settings, "onboarding", warn=warned.append)
    assert kept == (AUTO, 120, "Onboarding") and warned == []


def test_a_caller_may_shorten_the_approval_wait_but_not_lengthen_it_or_hasten_silent_consent() -> None:
    reject = GovernanceSettings(approval_timeout_seconds=3600, timeout_outcome=TimeoutOutcome.REJECT)
    assert cap_timeout(None, reject) is None
    assert cap_timeout(60, reject) == 60
    assert cap_timeout(10 * 86400, reject) == 3600
    with pytest.raises(ValueError, match="at least 1"):
        cap_timeout(0, reject)
    # "Silence is consent": a short wait would be an approval nobody gave, so the configured wait stands.
    consent = GovernanceSettings(approval_timeout_seconds=3600, timeout_outcome=TimeoutOutcome.APPROVE)
    assert cap_timeout(5, consent) is None
    bounded = within_ceiling(APPROVE, 5, "t", consent, "offboarding")
    assert bounded.approval_timeout_seconds is None
    assert bounded.title == "t [approval timeout 5s requested, 3600s used]"
