"""Rollout modes, approval requirements and blast-radius caps (pure, no engine)."""

from __future__ import annotations

import pytest

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.planning import Disposition, chunk_targets, plan_actions


def _a(kind: ActionKind, targets: list[int], **payload: object) -> Action:
    return Action(run_key="r", kind=kind, targets=targets, payload=dict(payload))


@pytest.fixture
def settings() -> GovernanceSettings:
    return GovernanceSettings(
        default_per_run_cap=10,
        default_per_hour_cap=15,
        per_run_caps={ActionKind.DEVICE_WIPE: 2},
        per_hour_caps={},
    )


def test_auto_mode_lets_low_tier_through_and_holds_the_rest(settings: GovernanceSettings) -> None:
    plan = plan_actions(
        [_a(ActionKind.TAG_ADD, [1]), _a(ActionKind.PROFILE_INSTALL, [1]), _a(ActionKind.DEVICE_WIPE, [2])],
        mode=RolloutMode.AUTO,
        settings=settings,
    )
    assert [p.disposition for p in plan.items] == [
        Disposition.AUTO,
        Disposition.APPROVAL,
        Disposition.APPROVAL,
    ]
    assert [p.approvers_required for p in plan.items] == [0, 1, 2]


def test_approve_mode_holds_everything(settings: GovernanceSettings) -> None:
    plan = plan_actions([_a(ActionKind.TAG_ADD, [1])], mode=RolloutMode.APPROVE, settings=settings)
    assert plan.items[0].disposition is Disposition.APPROVAL


@pytest.mark.parametrize("mode", [RolloutMode.OBSERVE, RolloutMode.RECOMMEND])
def test_observe_and_recommend_execute_nothing(settings: GovernanceSettings, mode: RolloutMode) -> None:
    plan = plan_actions(
        [_a(ActionKind.TAG_ADD, [1]), _a(ActionKind.DEVICE_WIPE, [2])], mode=mode, settings=settings
    )
    assert plan.auto == [] and plan.needs_approval == []
    # The report still says what approval would have been needed.
    assert [p.approvers_required for p in plan.report_only] == [1, 2]


def test_dry_run_executes_nothing_even_in_auto(settings: GovernanceSettings) -> None:
    plan = plan_actions([_a(ActionKind.TAG_ADD, [1])], mode=RolloutMode.AUTO, settings=settings, dry_run=True)
    assert plan.report_only and not plan.auto


def test_per_run_cap_sends_the_excess_to_approval(settings: GovernanceSettings) -> None:
    actions = [_a(ActionKind.TAG_ADD, list(range(i * 4, i * 4 + 4)), tag="t") for i in range(4)]
    plan = plan_actions(actions, mode=RolloutMode.AUTO, settings=settings)
    # 4 + 4 fit under 10; the third batch would make 12, so it and everything after it wait.
    assert [p.disposition for p in plan.items] == [Disposition.AUTO] * 2 + [Disposition.APPROVAL] * 2
    assert all(p.over_cap for p in plan.items[2:])
    assert "per-run cap" in " ".join(plan.items[2].reasons)


def test_per_hour_cap_counts_recent_devices(settings: GovernanceSettings) -> None:
    plan = plan_actions(
        [_a(ActionKind.TAG_ADD, [1, 2, 3]), _a(ActionKind.TAG_REMOVE, [1, 2, 3])],
        mode=RolloutMode.AUTO,
        settings=settings,
        recent_devices={ActionKind.TAG_ADD: 13},
    )
    assert plan.items[0].disposition is Disposition.APPROVAL and plan.items[0].over_cap
    assert "per-hour cap" in " ".join(plan.items[0].reasons)
    assert plan.items[1].disposition is Disposition.AUTO  # caps are per kind


def test_duplicate_actions_are_planned_once(settings: GovernanceSettings) -> None:
    plan = plan_actions(
        [_a(ActionKind.TAG_ADD, [1]), _a(ActionKind.TAG_ADD, [1])], mode=RolloutMode.AUTO, settings=settings
    )
    assert len(plan.items) == 1


def test_chunking_is_deterministic_and_lets_part_through(settings: GovernanceSettings) -> None:
    big = _a(ActionKind.TAG_ADD, list(range(25)), tag="t")
    chunks = chunk_targets(big, 5)
    assert [len(c.targets) for c in chunks] == [5] * 5
    assert [c.correlation_id for c in chunks] == [c.correlation_id for c in chunk_targets(big, 5)]
    plan = plan_actions(chunks, mode=RolloutMode.AUTO, settings=settings)
    assert [p.disposition for p in plan.items].count(Disposition.AUTO) == 2
