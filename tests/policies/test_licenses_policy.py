"""Licence reclamation policy: the stand-in idle rule, its protections, and the actions it builds (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from ws1ai.governance.actions import ActionKind, RiskTier
from ws1ai.policies.licenses import (
    AppInfo,
    ReclaimRules,
    assess_installs,
    candidates_from_frame,
    idle_rule_candidates,
    reclamation_actions,
    savings_by_app,
    select_candidates,
)

AS_OF = date(2026, 11, 1)
START = AS_OF - timedelta(days=365)
RULES = ReclaimRules()
APPS = pl.DataFrame(
    {"app_id": [1, 2, 3], "name": ["Tableau", "Figma", "Chrome"], "license_cost_usd": [70.0, 15.0, 0.0]}
)


def _days_ago(*days: int) -> list[date]:
    return [AS_OF - timedelta(days=d) for d in days]


def _frames(
    installs: list[tuple[int, int, int]],
    uses: list[tuple[int, int, int]],
    roles: dict[int, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """installs (device, app, installed N days ago), uses (device, app, used N days ago)."""
    inst = pl.DataFrame(
        {
            "device_id": [d for d, _, _ in installs],
            "app_id": [a for _, a, _ in installs],
            "installed_on": [AS_OF - timedelta(days=n) for _, _, n in installs],
        },
        schema={"device_id": pl.Int64, "app_id": pl.Int64, "installed_on": pl.Date},
    )
    usage = pl.DataFrame(
        {
            "device_id": [d for d, _, _ in uses],
            "app_id": [a for _, a, _ in uses],
            "date": [AS_OF - timedelta(days=n) for _, _, n in uses],
            "minutes_used": [30.0] * len(uses),
        },
        schema={"device_id": pl.Int64, "app_id": pl.Int64, "date": pl.Date, "minutes_used": pl.Float64},
    )
    ids = sorted({d for d, _, _ in installs})
    devices = pl.DataFrame(
        {
            "device_id": ids,
            "department": ["Finance"] * len(ids),
            "role": [(roles or {}).get(d, f"solo-{d}") for d in ids],
        },
        schema={"device_id": pl.Int64, "department": pl.String, "role": pl.String},
    )
    return inst, usage, devices


def _candidates(installs, uses, roles=None, rules=RULES) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    inst, usage, devices = _frames(installs, uses, roles)
    return idle_rule_candidates(inst, usage, APPS, devices, as_of=AS_OF, rules=rules, window_start=START)


def test_an_abandoned_paid_install_is_a_candidate_with_its_monthly_cost_as_saving() -> None:
    found = _candidates([(10, 1, 400)], [(10, 1, 300), (10, 1, 295)])
    assert found.rows() == [(10, 1, pytest.approx(1.0), 70.0, found["reason"][0])]
    assert "no use in 295 days" in found["reason"][0]


def test_a_quarterly_user_is_not_reclaimed() -> None:
    # Used every ~90 days for a year; now 95 days since the last use: the next use is due, not abandoned.
    uses = [(10, 1, d) for d in (365, 275, 185, 95)]
    assert _candidates([(10, 1, 400)], uses).is_empty()
    inst, usage, devices = _frames([(10, 1, 400)], uses)
    assessed = assess_installs(inst, usage, APPS, devices, as_of=AS_OF, window_start=START)
    assert assessed["protected_by"].to_list() == ["seasonal use"]


def test_a_new_install_inside_the_grace_period_is_not_reclaimed() -> None:
    # Installed 20 days ago and never opened: idle 20 days < 60 anyway, so use a short idle threshold too.
    rules = ReclaimRules(min_idle_days=10, grace_days=30)
    inst, usage, devices = _frames([(10, 1, 20)], [])
    assessed = assess_installs(inst, usage, APPS, devices, as_of=AS_OF, rules=rules, window_start=START)
    assert assessed["protected_by"].to_list() == ["grace period"]
    assert _candidates([(10, 1, 20)], [], rules=rules).is_empty()
    # The same install, older than the grace period, is a candidate.
    assert _candidates([(10, 1, 45)], [], rules=rules)["device_id"].to_list() == [10]


def test_recent_use_free_apps_and_role_needs_protect() -> None:
    installs = [(10, 1, 400), (11, 1, 400), (12, 1, 400), (13, 3, 400), (14, 2, 400)]
    uses = [(11, 1, 5), (12, 1, 3), (14, 2, 10)]
    roles = {10: "Analyst", 11: "Analyst", 12: "Analyst"}
    found = _candidates(installs, uses, roles)
    # 10 is idle but both of its Analyst peers use Tableau (role need); 11/12/14 use theirs; 13's app is free.
    assert found.is_empty()
    inst, usage, devices = _frames(installs, uses, roles)
    assessed = assess_installs(inst, usage, APPS, devices, as_of=AS_OF, window_start=START)
    assert dict(zip(assessed["device_id"], assessed["protected_by"], strict=True)) == {
        10: "role needs it",
        11: "in use",
        12: "in use",
        14: "in use",
    }


def test_never_used_in_window_counts_idle_from_window_start() -> None:
    inst, usage, devices = _frames([(10, 2, 400)], [])
    short = AS_OF - timedelta(days=40)  # the export covers only 40 days: idle cannot be proven for 60
    assert idle_rule_candidates(inst, usage, APPS, devices, as_of=AS_OF, window_start=short).is_empty()
    long = AS_OF - timedelta(days=70)
    assert idle_rule_candidates(inst, usage, APPS, devices, as_of=AS_OF, window_start=long).height == 1


def test_selection_caps_devices_and_prefers_savings() -> None:
    found = _candidates([(10, 1, 400), (11, 2, 400), (12, 2, 400)], [])
    picked = select_candidates(found, min_confidence=0.5, max_devices=2)
    assert sorted(picked["device_id"].to_list()) == [10, 11]
    assert savings_by_app(picked, {1: "Tableau", 2: "Figma"}) == [
        {"app_id": 1, "app": "Tableau", "devices": 1, "monthly_saving_usd": 70.0},
        {"app_id": 2, "app": "Figma", "devices": 1, "monthly_saving_usd": 15.0},
    ]


def test_actions_batch_per_app_uninstall_first_reversible_and_notices_wait_for_approval() -> None:
    found = _candidates([(10, 1, 400), (11, 1, 400), (12, 2, 400)], [])
    apps = {1: AppInfo("Tableau", "purchased"), 2: AppInfo("Figma", "purchased")}
    actions = reclamation_actions(found, apps, run_key="license-reclamation:2026-11")
    assert [a.kind for a in actions] == [ActionKind.APP_UNINSTALL] * 2 + [ActionKind.MESSAGE_SEND] * 2
    tableau = actions[0]
    assert tableau.targets == ("10", "11") and tableau.payload == {"app_id": 1, "app_kind": "purchased"}
    assert "$140.00/month" in tableau.rationale
    inverse = tableau.inverse()
    assert inverse is not None and inverse.kind is ActionKind.APP_INSTALL
    assert inverse.payload == tableau.payload and inverse.targets == tableau.targets
    assert all(a.tier() is RiskTier.MEDIUM for a in actions)
    # Same decision, same run key → same correlation ids (a re-run is recognised as already done).
    again = reclamation_actions(found, apps, run_key="license-reclamation:2026-11")
    assert [a.correlation_id for a in again] == [a.correlation_id for a in actions]


def test_model_output_is_validated() -> None:
    good = pl.DataFrame(
        {"device_id": [1], "app_id": [2], "confidence": [0.9], "monthly_saving_usd": [10.0], "reason": ["x"]}
    )
    assert candidates_from_frame(good).height == 1
    with pytest.raises(ValueError, match="reason"):
        candidates_from_frame(good.drop("reason"))
    with pytest.raises(ValueError, match="confidence"):
        candidates_from_frame(good.with_columns(pl.lit(1.5).alias("confidence")))
