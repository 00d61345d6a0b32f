"""Action model: tiers, inverses, correlation-id stability (pure, no engine)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from ws1ai.governance.actions import Action, ActionKind, RiskTier, tier_for


def _tag(targets: list[int] | list[str], run_key: str = "run-1", tag: str = "stale") -> Action:
    return Action(run_key=run_key, kind=ActionKind.TAG_ADD, targets=targets, payload={"tag": tag})


def test_correlation_id_ignores_target_order_duplicates_and_rationale() -> None:
    a = _tag([3, 1, 2])
    b = Action(
        run_key="run-1",
        kind=ActionKind.TAG_ADD,
        targets=["2", "1", "3", "1"],
        payload={"tag": "stale"},
        rationale="different words",
        model_version="m2",
        prior={"seen": True},
    )
    assert a.targets == ("1", "2", "3")
    assert a.correlation_id == b.correlation_id


@pytest.mark.parametrize(
    "other",
    [_tag([1, 2, 3], run_key="run-2"), _tag([1, 2]), _tag([1, 2, 3], tag="other")],
)
def test_correlation_id_changes_with_what_the_action_does(other: Action) -> None:
    assert _tag([1, 2, 3]).correlation_id != other.correlation_id


def test_correlation_id_is_stable_across_processes() -> None:
    code = (
        "from ws1ai.governance.actions import Action, ActionKind;"
        "print(Action(run_key='run-1', kind=ActionKind.TAG_ADD, targets=[3,1,2],"
        " payload={'tag': 'stale'}).correlation_id)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _tag([1, 2, 3]).correlation_id


def test_dump_and_reload_keeps_the_id_and_detects_tampering() -> None:
    a = _tag([1, 2])
    dumped = a.model_dump(mode="json")
    assert Action.model_validate(dumped) == a
    dumped["targets"] = ["1", "2", "99"]
    with pytest.raises(ValidationError, match="does not match"):
        Action.model_validate(dumped)


def test_tiers_and_overrides() -> None:
    assert tier_for(ActionKind.TAG_ADD) is RiskTier.LOW
    assert tier_for(ActionKind.DEVICE_WIPE) is RiskTier.DESTRUCTIVE
    assert tier_for(ActionKind.SCRIPT_RUN, {ActionKind.SCRIPT_RUN: RiskTier.MEDIUM}) is RiskTier.MEDIUM
    # Destructive kinds cannot be configured down; an action may raise but never lower its own tier.
    assert tier_for(ActionKind.DEVICE_WIPE, {ActionKind.DEVICE_WIPE: RiskTier.LOW}) is RiskTier.DESTRUCTIVE
    raised = Action(run_key="r", kind=ActionKind.TAG_ADD, targets=[1], risk_override=RiskTier.HIGH)
    assert raised.tier() is RiskTier.HIGH
    lowered = Action(run_key="r", kind=ActionKind.DEVICE_LOCK, targets=[1], risk_override=RiskTier.LOW)
    assert lowered.tier() is RiskTier.HIGH


@pytest.mark.parametrize(
    ("kind", "inverse_kind"),
    [
        (ActionKind.TAG_ADD, ActionKind.TAG_REMOVE),
        (ActionKind.TAG_REMOVE, ActionKind.TAG_ADD),
        (ActionKind.PROFILE_INSTALL, ActionKind.PROFILE_REMOVE),
        (ActionKind.APP_UNINSTALL, ActionKind.APP_INSTALL),
        (ActionKind.QUARANTINE_PROFILE, ActionKind.PROFILE_REMOVE),
    ],
)
def test_inverse_kinds_keep_targets_and_payload(kind: ActionKind, inverse_kind: ActionKind) -> None:
    a = Action(run_key="r", kind=kind, targets=[5, 6], payload={"id": 42})
    inv = a.inverse()
    assert inv is not None
    assert (inv.kind, inv.targets, inv.payload, inv.inverse_of) == (
        inverse_kind,
        a.targets,
        a.payload,
        a.correlation_id,
    )
    assert inv.inverse() is not None and inv.correlation_id != a.correlation_id


def test_custom_attribute_inverse_restores_previous_value() -> None:
    a = Action(
        run_key="r",
        kind=ActionKind.CUSTOM_ATTRIBUTE_SET,
        targets=[7],
        payload={"name": "Status", "value": "Pending Replacement"},
        prior={"previous_value": "In Service"},
    )
    inv = a.inverse()
    assert inv is not None
    assert inv.payload == {"name": "Status", "value": "In Service"}
    unknown = Action(run_key="r", kind=ActionKind.CUSTOM_ATTRIBUTE_SET, targets=[7], payload={"value": "x"})
    assert unknown.inverse() is None
    assert "previous value" in (unknown.irreversible_reason() or "")


@pytest.mark.parametrize("kind", [ActionKind.DEVICE_WIPE, ActionKind.ENTERPRISE_WIPE, ActionKind.DEVICE_LOCK])
def test_irreversible_kinds_say_why(kind: ActionKind) -> None:
    a = Action(run_key="r", kind=kind, targets=[1])
    assert a.inverse() is None
    assert a.irreversible_reason()


def test_two_person_kinds_are_the_wipes() -> None:
    assert Action(run_key="r", kind=ActionKind.DEVICE_WIPE, targets=[1]).needs_two_approvers
    assert Action(run_key="r", kind=ActionKind.ENTERPRISE_WIPE, targets=[1]).needs_two_approvers
    assert not Action(run_key="r", kind=ActionKind.DEVICE_LOCK, targets=[1]).needs_two_approvers
