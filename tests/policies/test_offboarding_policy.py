"""The offboarding policy: who is a leaver, what their devices and account get, and idempotency (pure)."""

from __future__ import annotations

from datetime import date

from ws1ai.governance.actions import ActionKind, RiskTier
from ws1ai.policies.offboarding import (
    Leaver,
    LeaverDevice,
    PaidApp,
    asset_record_action,
    is_leaver,
    offboarding_actions,
)

SLACK = PaidApp(app_id=11, app_kind="Purchased", name="Slack", license_cost_usd=8.75)
FIGMA = PaidApp(app_id=12, app_kind="public", name="Figma", license_cost_usd=15.0)


def _leaver(**overrides: object) -> Leaver:
    base: dict[str, object] = {
        "employee_id": "E1",
        "name": "Grace Hopper",
        "email": "grace@corp.example.com",
        "end_date": date(2026, 11, 1),
        "status": "terminated",
        "uem_user_id": 501,
        "uem_user_active": True,
        "devices": [
            LeaverDevice(
                device_id=1, serial_number="S1", ownership="CorporateDedicated", paid_apps=[SLACK, FIGMA]
            ),
            LeaverDevice(device_id=2, serial_number="S2", ownership="EmployeeOwned", paid_apps=[SLACK]),
        ],
    }
    base.update(overrides)
    return Leaver.model_validate(base)


def test_leavers_are_terminated_or_past_their_end_date() -> None:
    today = date(2026, 11, 23)
    assert is_leaver("terminated", None, today)
    assert is_leaver("active", date(2026, 11, 23), today)
    assert not is_leaver("active", date(2026, 12, 1), today)
    assert not is_leaver("pending_start", None, today)


def test_licences_first_then_wipes_then_account() -> None:
    actions = offboarding_actions(_leaver())
    kinds = [a.kind for a in actions]
    assert kinds == [
        ActionKind.APP_UNINSTALL,
        ActionKind.APP_UNINSTALL,
        ActionKind.ENTERPRISE_WIPE,
        ActionKind.ENTERPRISE_WIPE,
        ActionKind.USER_DEACTIVATE,
    ]
    slack, figma = actions[:2]
    assert slack.targets == ("1", "2") and slack.payload["app_kind"] == "purchased"
    assert figma.targets == ("1",)
    wipes = [a for a in actions if a.kind is ActionKind.ENTERPRISE_WIPE]
    assert all(w.tier() is RiskTier.DESTRUCTIVE and w.needs_two_approvers for w in wipes)
    # BYOD: the same UEM command, which removes only corporate data; the rationale says so.
    byod = next(w for w in wipes if w.targets == ("2",))
    assert byod.payload == {"ownership": "E"} and "personal" in byod.rationale
    user = actions[4]
    assert user.target_type == "user" and user.targets == ("501",)
    assert user.inverse() is not None  # an account can be re-activated
    assert {a.run_key for a in actions} == {"offboarding:E1"}


def test_the_asset_record_says_what_happened_to_each_wipe() -> None:
    ticket = asset_record_action(_leaver(), {1: "wiped", 2: "not_approved"})
    assert ticket is not None and ticket.kind is ActionKind.ITSM_TICKET and ticket.run_key == "offboarding:E1"
    text = ticket.payload["description"]
    assert "S1" in text and "1 corporate" in ticket.payload["short_description"]
    assert "device 1:" in text and "enterprise wipe sent" in text.split("device 2:")[0]
    assert "NOT wiped: the wipe was not approved" in text.split("device 2:")[1]
    assert "(1 of 2 wiped)" in ticket.payload["short_description"]
    # A device with no known outcome is never described as wiped.
    unknown = asset_record_action(_leaver(), {})
    assert unknown is not None and "enterprise wipe sent" not in unknown.payload["description"]


def test_a_second_look_after_acting_plans_nothing_new() -> None:
    first = offboarding_actions(_leaver())
    # What the tenant shows after the first run: account inactive, both wipes pending.
    after = _leaver(
        uem_user_active=False,
        devices=[
            LeaverDevice(
                device_id=1,
                serial_number="S1",
                ownership="C",
                enrollment_status="EnterpriseWipePending",
                paid_apps=[SLACK, FIGMA],
            ),
            LeaverDevice(device_id=2, serial_number="S2", ownership="E", enrollment_status="Unenrolled"),
        ],
    )
    assert offboarding_actions(after) == []
    # The asset record from the same outcomes is the same action (same correlation id): governance skips it.
    wiped = {1: "wiped", 2: "wiped"}
    record = asset_record_action(after, wiped)
    assert record is not None and first
    assert record.correlation_id == asset_record_action(_leaver(), wiped).correlation_id  # type: ignore[union-attr]


def test_a_leaver_with_nothing_left_gets_no_action() -> None:
    assert offboarding_actions(_leaver(devices=[], uem_user_active=False)) == []
