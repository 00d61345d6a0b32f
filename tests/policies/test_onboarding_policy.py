"""Onboarding policy (pure): who is a new hire, the stand-in bundle rule, and the actions for one hire."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from ws1ai.governance.actions import ActionKind
from ws1ai.policies.onboarding import (
    HireDevice,
    NewHire,
    TenantCatalog,
    bundles_from_frame,
    onboarding_actions,
    peer_bundle_rule,
    select_new_hires,
)

AS_OF = date(2026, 11, 20)
CATALOG = TenantCatalog(
    profile_platforms={401: "Apple", 501: "WinRT", 402: "Apple"},
    app_platforms={3001: "Apple", 3002: "WinRT"},
    app_kinds={3001: "purchased", 3002: "public"},
    og_by_location={"new york": 1201},
    default_og_id=570,
    department_smart_groups={"Finance": 110},
)
HIRE = NewHire(
    employee_id="E1",
    name="Ada Lovelace",
    email="ada.lovelace@corp.example.com",
    department="Finance",
    role="Accountant",
    location="New York",
    start_date=date(2026, 11, 18),
    status="active",
)


def _employees() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "employee_id": ["E1", "E2", "E3", "E4", "E5"],
            "name": ["a b"] * 5,
            "email": [f"e{i}@x.com" for i in range(5)],
            "department": ["Finance"] * 5,
            "role": ["Accountant"] * 5,
            "location": ["New York"] * 5,
            "start_date": [date(2026, 11, 18), date(2026, 12, 1), date(2020, 1, 1), date(2026, 11, 1), None],
            "status": ["active", "pending_start", "active", "active", "terminated"],
        }
    )


def test_new_hires_are_pending_starts_and_recent_starters() -> None:
    hires = select_new_hires(_employees(), as_of=AS_OF, recent_days=14)
    assert [h.employee_id for h in hires] == ["E1", "E2"]
    assert [h.employee_id for h in select_new_hires(_employees(), as_of=AS_OF, employee_ids=["E3"])] == ["E3"]
    assert select_new_hires(_employees(), as_of=AS_OF, employee_ids={"E5"}) == []


def test_peer_bundle_rule_counts_support_per_platform() -> None:
    rows = []
    # Four Mac accountants all hold profile 401, three hold app 3001; two Windows ones hold 501.
    for device in range(4):
        rows.append((device, "Apple", "profile", 401))
        if device < 3:
            rows.append((device, "Apple", "app", 3001))
    for device in (10, 11, 12):
        rows.append((device, "WinRT", "profile", 501 if device < 12 else None))
    holdings = pl.DataFrame(
        {
            "device_id": [r[0] for r in rows],
            "department": ["Finance"] * len(rows),
            "role": ["Accountant"] * len(rows),
            "platform": [r[1] for r in rows],
            "item_kind": [r[2] for r in rows],
            "item_id": [r[3] for r in rows],
        }
    )
    bundle = peer_bundle_rule(holdings, min_support=0.6, min_peers=3)
    got = {(k, i): round(s, 2) for k, i, s in bundle.select("item_kind", "item_id", "support").rows()}
    # 401: 4/4 Macs; 3001: 3/4 Macs; 501: 2/3 Windows (not diluted by the Macs).
    assert got == {("profile", 401): 1.0, ("app", 3001): 0.75, ("profile", 501): 0.67}
    assert peer_bundle_rule(holdings, min_support=0.8, min_peers=3).height == 1


def _bundle() -> pl.DataFrame:
    return bundles_from_frame(
        pl.DataFrame(
            {
                "department": ["Finance"] * 4 + ["Legal"],
                "role": ["Accountant"] * 4 + ["Counsel"],
                "item_kind": ["profile", "profile", "app", "app", "profile"],
                "item_id": [401, 501, 3001, 3002, 402],
                "support": [0.9, 0.8, 0.7, 0.65, 1.0],
            }
        )
    )


def test_a_new_hire_without_user_or_device_gets_a_user_in_the_site_og() -> None:
    actions = onboarding_actions(HIRE, user_exists=False, devices=[], bundle=_bundle(), catalog=CATALOG)
    assert [a.kind for a in actions] == [ActionKind.USER_CREATE]
    user = actions[0]
    assert user.target_type == "user" and user.targets == ("E1",)
    assert user.payload["user_name"] == "ada.lovelace" and user.payload["location_group_id"] == 1201
    assert user.payload["first_name"] == "Ada" and user.payload["last_name"] == "Lovelace"
    elsewhere = HIRE.model_copy(update={"location": "Atlantis"})
    [user] = onboarding_actions(elsewhere, user_exists=False, devices=[], bundle=_bundle(), catalog=CATALOG)
    assert user.payload["location_group_id"] == 570


def test_enrolled_devices_get_the_missing_platform_items_and_the_department_group() -> None:
    mac = HireDevice(device_id=7, platform="Apple", profiles=frozenset({401}))
    pc = HireDevice(device_id=8, platform="WinRT", smart_groups=frozenset({110}))
    actions = onboarding_actions(HIRE, user_exists=True, devices=[mac, pc], bundle=_bundle(), catalog=CATALOG)
    planned = {(a.kind, a.targets, tuple(sorted(a.payload.items()))) for a in actions}
    assert planned == {
        (ActionKind.SMART_GROUP_ADD, ("7",), (("smart_group_id", 110),)),
        (ActionKind.PROFILE_INSTALL, ("8",), (("profile_id", 501),)),
        (ActionKind.APP_INSTALL, ("7",), (("app_id", 3001), ("app_kind", "purchased"))),
        (ActionKind.APP_INSTALL, ("8",), (("app_id", 3002), ("app_kind", "public"))),
    }
    assert all(a.run_key == "onboarding:E1" for a in actions)
    assert all(a.inverse() is not None for a in actions)


def test_a_hire_already_in_the_target_state_needs_nothing_and_ids_are_stable() -> None:
    done = HireDevice(
        device_id=7,
        platform="Apple",
        profiles=frozenset({401}),
        apps=frozenset({3001}),
        smart_groups=frozenset({110}),
    )
    assert onboarding_actions(HIRE, user_exists=True, devices=[done], bundle=_bundle(), catalog=CATALOG) == []
    fresh = HireDevice(device_id=7, platform="Apple")
    first = onboarding_actions(HIRE, user_exists=False, devices=[fresh], bundle=_bundle(), catalog=CATALOG)
    second = onboarding_actions(HIRE, user_exists=False, devices=[fresh], bundle=_bundle(), catalog=CATALOG)
    assert [a.correlation_id for a in first] == [a.correlation_id for a in second]


def test_bundle_output_is_validated() -> None:
    with pytest.raises(ValueError, match="item_kind"):
        bundles_from_frame(_bundle().with_columns(pl.lit("printer").alias("item_kind")))
    with pytest.raises(ValueError, match="support"):
        bundles_from_frame(_bundle().drop("support"))
    assert bundles_from_frame(_bundle(), min_support=0.75).height == 3
