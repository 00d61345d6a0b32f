"""The predictive-health policy and the actions it turns into (pure: no engine, no HTTP)."""

from __future__ import annotations

import polars as pl
import pytest

from ws1ai.governance.actions import ActionKind, RiskTier
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.planning import Disposition, plan_actions
from ws1ai.policies.health import (
    PENDING_REPLACEMENT,
    REPLACEMENT_TIER,
    DeviceRisk,
    HealthDecision,
    ModelEvidence,
    decide_health,
    flag_devices,
    health_actions,
    trust_problems,
)


def _risk(**overrides: object) -> DeviceRisk:
    base: dict[str, object] = {
        "device_id": 7,
        "failure_probability": 0.42,
        "likely_component": "battery",
        "model_version": "health-test",
        "platform": "WinRT",
        "model": "Latitude 7440",
        "serial_number": "SN7",
        "ownership": "C",
        "user_name": "ada.lovelace",
        "user_email": "ada@corp.example.com",
        "role": "Software Engineer",
        "department": "Engineering",
        "battery_health_pct": 71.0,
        "storage_used_pct": 40.0,
    }
    base.update(overrides)
    return DeviceRisk.model_validate(base)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"likely_component": "battery"}, HealthDecision.REPLACE),
        ({"likely_component": "logic_board"}, HealthDecision.REPLACE),
        ({"likely_component": "storage", "role": "HR Director"}, HealthDecision.REPLACE),
        ({"likely_component": "storage"}, HealthDecision.SCRIPTED_FIX),
        ({"likely_component": "storage", "platform": "Android"}, HealthDecision.NOTIFY_USER),
        ({"current_status": PENDING_REPLACEMENT}, HealthDecision.ALREADY_PENDING),
    ],
)
def test_hardware_and_critical_users_are_replaced_storage_is_fixed(
    overrides: dict[str, object], expected: HealthDecision
) -> None:
    verdict = decide_health(_risk(**overrides), cleanup_platforms=["WinRT"])
    assert verdict.decision is expected
    assert verdict.reason


def test_replacement_is_ticket_reversible_attribute_and_email() -> None:
    risk = _risk(current_status="In Service")
    verdict = decide_health(risk)
    ticket, attribute, email = health_actions([(risk, verdict)], run_key="ph:2026-11-01")
    assert ticket.kind is ActionKind.ITSM_TICKET
    # ServiceNow gets the full context, unredacted: the technician needs the person and the serial.
    for fact in ("ada@corp.example.com", "SN7", "battery", "42.0%", "Latitude 7440"):
        assert fact in ticket.payload["description"]
    assert attribute.kind is ActionKind.CUSTOM_ATTRIBUTE_SET
    assert attribute.payload == {"name": "Status", "value": PENDING_REPLACEMENT}
    undo = attribute.inverse()
    assert undo is not None and undo.payload["value"] == "In Service"
    assert email.payload["channel"] == "email" and email.payload["to_address"] == "ada@corp.example.com"
    assert {a.targets for a in (ticket, attribute, email)} == {("7",)}


def test_scripted_fixes_are_one_batch_per_platform_and_high_tier() -> None:
    risks = [_risk(device_id=i, likely_component="storage") for i in (3, 1, 2)]
    risks.append(_risk(device_id=9, likely_component="storage", platform="Android"))
    decided = [(r, decide_health(r, cleanup_platforms=["WinRT"])) for r in risks]
    actions = health_actions(decided, run_key="ph", cleanup_scripts={"WinRT": "script-uuid"})
    script, reminder = actions
    assert script.kind is ActionKind.SCRIPT_RUN and script.targets == ("1", "2", "3")
    assert script.payload["script_uuid"] == "script-uuid"
    assert script.tier() is RiskTier.HIGH  # arbitrary code as SYSTEM: a human looks first
    assert reminder.kind is ActionKind.MESSAGE_SEND and reminder.targets == ("9",)


def test_already_pending_devices_get_no_action_and_reruns_keep_their_ids() -> None:
    pending = _risk(current_status=PENDING_REPLACEMENT)
    assert health_actions([(pending, decide_health(pending))], run_key="ph") == []
    risk = _risk()
    first = health_actions([(risk, decide_health(risk))], run_key="ph:2026-11-01")
    again = health_actions([(risk, decide_health(risk))], run_key="ph:2026-11-01")
    assert [a.correlation_id for a in first] == [a.correlation_id for a in again]


def test_the_budget_caps_above_the_threshold_and_never_fills_below_it() -> None:
    scored = pl.DataFrame({"device_id": [1, 2, 3, 4], "failure_probability": [0.9, 0.2, 0.6, 0.6]})
    assert flag_devices(scored, threshold=0.5)["device_id"].to_list() == [1, 3, 4]
    assert flag_devices(scored, threshold=0.5, review_budget=2)["device_id"].to_list() == [1, 3]
    # Room for three, one above the threshold: one is proposed, device 3 (0.6) is not pulled in.
    assert flag_devices(scored, threshold=0.7, review_budget=3)["device_id"].to_list() == [1]
    # A healthy fleet with a budget proposes nobody (the issue: a top-50 budget filled with 2 % risks).
    healthy = pl.DataFrame(
        {"device_id": list(range(60)), "failure_probability": [0.015 + i / 4000 for i in range(60)]}
    )
    assert flag_devices(healthy, threshold=0.05, review_budget=50).is_empty()
    with pytest.raises(ValueError, match="review_budget must be >= 0"):
        flag_devices(scored, threshold=0.5, review_budget=-1)


@pytest.mark.parametrize("mode", [RolloutMode.AUTO, RolloutMode.APPROVE])
def test_a_replacement_is_never_low_tier(mode: RolloutMode) -> None:
    risk = _risk(failure_probability=0.6)
    actions = health_actions([(risk, decide_health(risk))], run_key="ph")
    assert len(actions) == 3
    # Ticket, attribute and "your device will be replaced" email all wait for a person, even in auto mode.
    plan = plan_actions(actions, mode=mode, settings=GovernanceSettings())
    assert all(a.tier() is REPLACEMENT_TIER is RiskTier.MEDIUM for a in actions)
    assert all(p.disposition is Disposition.APPROVAL for p in plan.items)


def _evidence(**overrides: object) -> ModelEvidence:
    base: dict[str, object] = {
        "failures": 40,
        "validation_failures": 12,
        "pr_auc": 0.3,
        "precision_at_threshold": 0.08,
        "break_even_precision": 1 / 21,
    }
    base.update(overrides)
    return ModelEvidence(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"failures": 5}, "trained on 5 failures; at least 30"),
        ({"validation_failures": 2}, "2 failures in the validation period; at least 10"),
        ({"pr_auc": 0.015}, "validated average precision 0.015; at least 0.20"),
        ({"pr_auc": None}, "validated average precision not computable"),
        ({"precision_at_threshold": 0.0}, "validated precision at the threshold 0.0%, below the 4.8%"),
    ],
)
def test_a_model_too_thin_to_trust_says_why(overrides: dict[str, object], says: str) -> None:
    assert trust_problems(_evidence()) == []
    [problem] = trust_problems(_evidence(**overrides))
    assert says in problem
