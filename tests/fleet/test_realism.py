"""The simulated fleet behaves like a real one: the properties the models and flows rely on, with ranges."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from ws1ai.sandbox.fleet import Fleet, failure_truth, generate_fleet, security_truth
from ws1ai.sandbox.fleet.catalog import MODELS

DESKTOPS = [m.name for m in MODELS if not m.has_battery]


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(3000, seed=11, days=365)


def test_no_telemetry_on_or_after_failure(fleet: Fleet) -> None:
    late = fleet.telemetry.join(fleet.failures, on="device_id").filter(pl.col("date") >= pl.col("failed_on"))
    assert fleet.failures.height > 0
    assert late.height == 0


def test_failures_are_within_window_and_one_per_device(fleet: Fleet) -> None:
    f = fleet.failures
    assert f["device_id"].is_unique().all()
    assert f["failed_on"].min() >= fleet.start and f["failed_on"].max() <= fleet.end  # type: ignore[operator]
    assert set(f["component"].unique()) == {"battery", "storage", "logic_board"}
    desktops = fleet.devices.filter(pl.col("model").is_in(DESKTOPS)).select("device_id")
    assert f.join(desktops, on="device_id").filter(pl.col("component") == "battery").height == 0


def test_failure_base_rate_is_a_few_percent_a_year(fleet: Fleet) -> None:
    device_years = fleet.telemetry.height / 365.0  # reported days is a lower bound of exposure
    rate = fleet.failures.height / device_years
    assert 0.015 < rate < 0.09, rate


def test_failure_rate_differs_by_model(fleet: Fleet) -> None:
    by_model = (
        fleet.devices.join(fleet.failures, on="device_id", how="left")
        .group_by("model").agg(pl.col("failed_on").is_not_null().mean().alias("rate"), pl.len())
        .filter(pl.col("len") >= 60)
    )
    assert by_model["rate"].max() > 2.5 * max(by_model["rate"].min(), 0.004)  # type: ignore[operator]


def test_failed_devices_are_mostly_replaced(fleet: Fleet) -> None:
    d = fleet.devices.select("device_id", "user_email", "platform", "enrolled_on")
    old_enough = pl.col("failed_on") <= fleet.end - timedelta(days=10)
    failed = fleet.failures.filter(old_enough).join(d, on="device_id")
    successor = failed.join(d, on=["user_email", "platform"], suffix="_new").filter(
        (pl.col("device_id_new") != pl.col("device_id"))
        & (pl.col("enrolled_on_new").dt.date() >= pl.col("failed_on"))
        & (pl.col("enrolled_on_new").dt.date() <= pl.col("failed_on") + timedelta(days=8))
    )
    share = successor["device_id"].n_unique() / failed.height
    assert 0.4 < share < 0.9, share


def _precursor_visible(fleet: Fleet) -> pl.DataFrame:
    """Per failure: do the last 10 days differ from the device's own baseline 25-60 days before?"""
    t = fleet.telemetry.join(fleet.failures, on="device_id").with_columns(
        (pl.col("failed_on") - pl.col("date")).dt.total_days().alias("before")
    )
    recent, base = pl.col("before") <= 10, (pl.col("before") >= 25) & (pl.col("before") <= 60)
    agg = t.group_by("device_id", "component").agg(
        (pl.col("battery_health_pct").filter(base).mean() - pl.col("battery_health_pct").filter(recent).min())
        .alias("battery_drop"),
        (pl.col("storage_used_pct").filter(recent).max() - pl.col("storage_used_pct").filter(base).mean())
        .alias("storage_rise"),
        (pl.col("kernel_panic_count") + pl.col("thermal_event_count")).filter(recent).sum()
        .alias("hw_events"),
        pl.col("crash_count").filter(recent).mean().alias("crash_recent"),
        pl.col("crash_count").filter(base).mean().alias("crash_base"),
        recent.sum().alias("n_recent"), base.sum().alias("n_base"),
    ).filter((pl.col("n_recent") >= 3) & (pl.col("n_base") >= 10))
    return agg.with_columns(
        (
            (pl.col("battery_drop").fill_null(0) >= 4)
            | (pl.col("storage_rise") >= 10)
            | (pl.col("hw_events") >= 3)
            | (pl.col("crash_recent") > 3 * pl.col("crash_base") + 1)
        ).alias("visible")
    )


def test_share_of_failures_with_visible_precursor(fleet: Fleet) -> None:
    vis = _precursor_visible(fleet)
    assert vis.height >= 40
    share = vis["visible"].mean()
    # Most failures announce themselves, a real share (silent failures, very short leads) do not.
    assert 0.45 < share < 0.9, share  # type: ignore[operator]


def test_precursors_are_component_specific(fleet: Fleet) -> None:
    vis = _precursor_visible(fleet).group_by("component").agg(
        pl.col("battery_drop").median(), pl.col("storage_rise").median(), pl.col("hw_events").mean()
    )
    row = {r["component"]: r for r in vis.iter_rows(named=True)}
    assert row["battery"]["battery_drop"] > row["storage"]["battery_drop"]
    assert row["storage"]["storage_rise"] > row["battery"]["storage_rise"]
    assert row["logic_board"]["hw_events"] > row["storage"]["hw_events"]


def test_missing_days_present(fleet: Fleet) -> None:
    span = fleet.telemetry.group_by("device_id").agg(
        pl.len().alias("rows"),
        ((pl.col("date").max() - pl.col("date").min()).dt.total_days() + 1).alias("span"),
    )
    assert (span["rows"] < span["span"]).mean() > 0.5  # type: ignore[operator]
    coverage = span["rows"].sum() / span["span"].sum()
    assert 0.75 < coverage < 0.98, coverage
    assert fleet.telemetry.select("device_id", "date").is_unique().all()


def test_crash_bursts_on_healthy_devices(fleet: Fleet) -> None:
    healthy = fleet.telemetry.join(fleet.failures, on="device_id", how="anti")
    assert healthy.filter(pl.col("crash_count") >= 8)["device_id"].n_unique() >= 20
    assert healthy["crash_count"].median() == 0


def test_battery_null_only_without_battery(fleet: Fleet) -> None:
    t = fleet.telemetry.join(fleet.devices.select("device_id", "model"), on="device_id")
    desk = t.filter(pl.col("model").is_in(DESKTOPS))
    assert desk.height > 0 and desk["battery_health_pct"].null_count() == desk.height
    mobile = t.filter(~pl.col("model").is_in(DESKTOPS))
    assert mobile["battery_health_pct"].null_count() == 0
    assert mobile["battery_health_pct"].min() >= 30 and mobile["battery_health_pct"].max() <= 100  # type: ignore[operator]
    assert t["storage_used_pct"].min() > 0 and t["storage_used_pct"].max() < 100  # type: ignore[operator]


def test_battery_health_decays_and_cycles_grow(fleet: Fleet) -> None:
    healthy = fleet.telemetry.join(fleet.failures, on="device_id", how="anti").drop_nulls("battery_cycles")
    health, cycles = pl.col("battery_health_pct").sort_by("date"), pl.col("battery_cycles").sort_by("date")
    ends = healthy.group_by("device_id").agg(
        (health.last() - health.first()).alias("dh"),
        (cycles.last() - cycles.first()).alias("dc"),
        pl.len().alias("n"),
    ).filter(pl.col("n") > 200)
    assert ends["dh"].median() < 0  # type: ignore[operator]
    assert (ends["dc"] >= 0).all()


def test_paid_installs_never_used_and_seasonal_users(fleet: Fleet) -> None:
    paid = fleet.apps.filter(pl.col("license_cost_usd") > 0).select("app_id")
    installs = fleet.app_installs.join(paid, on="app_id")
    used = fleet.app_usage.group_by("device_id", "app_id").agg(
        pl.len().alias("days"), pl.col("date").sort().diff().dt.total_days().max().alias("max_gap")
    )
    x = installs.join(used, on=["device_id", "app_id"], how="left")
    never = x["days"].is_null().mean()
    assert 0.1 < never < 0.5, never  # type: ignore[operator]
    assert x.filter(pl.col("days") > 150).height > 0  # daily users
    assert x.filter(pl.col("max_gap") >= 60).height > 0.02 * x.height  # seasonal / sporadic users
    grace = x.filter(pl.col("installed_on") > fleet.end - timedelta(days=21))
    assert grace.height > 0  # fresh installs inside a grace period


def test_usage_only_after_install_and_while_alive(fleet: Fleet) -> None:
    u = fleet.app_usage.join(fleet.app_installs, on=["device_id", "app_id"], how="left")
    assert u["installed_on"].null_count() == 0
    assert u.filter(pl.col("date") < pl.col("installed_on")).height == 0
    assert fleet.app_usage.join(fleet.failures, on="device_id").filter(
        pl.col("date") >= pl.col("failed_on")).height == 0
    assert fleet.app_usage["minutes_used"].min() > 0  # type: ignore[operator]


def test_licence_costs(fleet: Fleet) -> None:
    cost = fleet.apps["license_cost_usd"]
    assert (cost == 0).sum() > 0
    paid = cost.filter(cost > 0)
    assert paid.min() >= 4 and paid.max() <= 80  # type: ignore[operator]
    assert fleet.apps.select("app_id").is_unique().all()


def test_employees_and_devices_consistent(fleet: Fleet) -> None:
    emp, dev = fleet.employees, fleet.devices
    assert emp["email"].is_unique().all() and emp["employee_id"].is_unique().all()
    joined = dev.join(emp, left_on="user_email", right_on="email", how="left")
    assert joined["employee_id"].null_count() == 0
    assert (dev["user_name"] == dev["user_email"].str.split("@").list.first()).all()
    assert emp.filter(~pl.col("manager_email").is_in(emp["email"].implode())).height == 0
    status = dict(emp.group_by("status").len().iter_rows())
    assert set(status) == {"active", "pending_start", "terminated"}
    pending = emp.filter(pl.col("status") == "pending_start")
    assert (pending["start_date"] > fleet.end).all()
    assert pending.join(dev, left_on="email", right_on="user_email").height == 0
    assert emp.filter(pl.col("status") == "terminated")["end_date"].null_count() == 0
    active = emp.filter(pl.col("status") == "active")
    notice = active.filter(pl.col("end_date").is_not_null())
    assert (notice["end_date"] > fleet.end).all() and 0 < notice.height < 0.05 * active.height
    # Movers: UEM lags HRIS for some people, never for most.
    lagging = (joined["department"] != joined["department_right"]) | (joined["role"] != joined["role_right"])
    assert 0.0 < lagging.mean() < 0.1  # type: ignore[operator]
    # Leavers whose device was not returned still hold enrolled devices.
    assert joined.filter(pl.col("status") == "terminated").height > 0


def test_device_dates_and_posture(fleet: Fleet) -> None:
    d = fleet.devices
    assert d["device_id"].is_unique().all() and d["uuid"].is_unique().all()
    assert (d["purchase_date"] <= d["enrolled_on"].dt.date()).all()
    assert (d["warranty_end"] > d["purchase_date"]).all()
    assert (d["last_seen"] > d["enrolled_on"]).all()
    last = fleet.telemetry.group_by("device_id").agg(pl.col("date").max().alias("last"))
    seen = d.join(last, on="device_id")
    assert (seen["last_seen"].dt.date() == seen["last"]).all()  # last_seen is the last check-in
    quiet = d.join(last, on="device_id", how="anti")  # no check-in in the window: seen before, or enrolling
    seen_day, enrol_day = quiet["last_seen"].dt.date(), quiet["enrolled_on"].dt.date()
    assert ((seen_day < fleet.start) | (seen_day == enrol_day)).all()
    assert set(d["platform"].unique()) == {"Apple", "AppleOsX", "WinRT", "Android"}
    assert set(d["ownership"].unique()) == {"C", "E", "S"}
    shares = d["compliance_status"].value_counts(normalize=True)
    share = dict(zip(shares["compliance_status"], shares["proportion"], strict=True))
    assert 0.55 < share["Compliant"] < 0.9 and share["NonCompliant"] > 0.05 and share["NotAvailable"] > 0.01
    flagged = d.filter(pl.col("compromised"))["compliance_status"].is_in(["NonCompliant", "NotAvailable"])
    assert flagged.mean() > 0.7  # type: ignore[operator]
    assert 0 < d["compromised"].sum() < 0.03 * d.height
    assert 0.8 < d["encrypted"].mean() < 1.0  # type: ignore[operator]
    for platform in ("Apple", "WinRT"):
        assert d.filter(pl.col("platform") == platform)["os_version"].n_unique() >= 4  # lagging versions


def test_threat_signals_correlate_with_posture(fleet: Fleet) -> None:
    s = fleet.threat_signals
    assert s.select("device_id", "date").is_unique().all()
    assert s["edr_risk_score"].min() >= 0 and s["edr_risk_score"].max() <= 1  # type: ignore[operator]
    per = fleet.devices.select("device_id", "compromised", "compliance_status").join(
        s.group_by("device_id").agg(pl.col("edr_risk_score").mean().alias("score"), pl.len().alias("n")),
        on="device_id", how="left",
    ).with_columns(pl.col("n").fill_null(0))
    comp = per.filter(pl.col("compromised"))
    clean = per.filter(~pl.col("compromised") & (pl.col("compliance_status") == "Compliant"))
    assert comp["score"].mean() > clean["score"].mean() + 0.2  # type: ignore[operator]
    assert comp["n"].mean() > 3 * clean["n"].mean()  # type: ignore[operator]
    # Sparse: far fewer rows than device-days.
    assert s.height < 0.1 * fleet.telemetry.height


def test_profiles_and_groups(fleet: Fleet) -> None:
    dp = fleet.device_profiles.join(fleet.profiles, on="profile_id", how="left")
    assert dp["name"].null_count() == 0
    plat = dp.join(fleet.devices.select("device_id", "platform"), on="device_id")
    assert (plat["platform"] == plat["platform_right"]).all()
    assert fleet.smart_groups.filter(pl.col("role").is_not_null())["department"].null_count() == 0


def test_failure_truth_matches_failures_and_has_silent_share(fleet: Fleet) -> None:
    truth = failure_truth(3000, seed=11, days=365)
    inside = truth.filter(pl.col("in_window")).select("device_id", "failed_on", "component").sort("device_id")
    assert inside.equals(fleet.failures.sort("device_id"))
    assert truth.filter(~pl.col("in_window"))["failed_on"].min() > fleet.end  # type: ignore[operator]
    silent = (truth["lead_days"] == 0).mean()
    assert 0.12 < silent < 0.4, silent  # type: ignore[operator]
    visible = truth.filter(pl.col("lead_days") > 0)
    assert visible["lead_days"].min() >= 2 and visible["lead_days"].max() <= 40  # type: ignore[operator]
    assert visible["lead_days"].std() > 6  # type: ignore[operator]  # a wide range, not one lead time


def test_security_truth_shows_only_through_edr_and_compliance(fleet: Fleet) -> None:
    truth = security_truth(3000, seed=11, days=365)
    assert truth.height == fleet.devices.height
    assert truth.select("device_id", "compromised").equals(fleet.devices.select("device_id", "compromised"))
    infected = truth.filter(pl.col("infected"))
    assert 0.005 * truth.height < infected.height < 0.06 * truth.height
    assert infected["infected_on"].null_count() == 0
    signals = fleet.threat_signals.group_by("device_id").agg(
        pl.col("edr_risk_score").max().alias("peak"), pl.len()
    )
    status = fleet.devices.select("device_id", "compliance_status")
    per = truth.join(signals, on="device_id", how="left").join(status, on="device_id")
    per = per.with_columns(pl.col("len").fill_null(0), pl.col("peak").fill_null(0.0))
    clean = per.filter(~pl.col("infected") & ~pl.col("compromised"))
    sick = per.filter(pl.col("infected") & (pl.col("len") > 0))
    assert sick["peak"].median() > 0.75 > clean["peak"].median()  # type: ignore[operator]
    assert (clean["peak"] > 0.75).sum() > 0  # false positives exist
    nc = per.group_by("infected").agg((pl.col("compliance_status") == "NonCompliant").mean().alias("nc"))
    share = dict(nc.iter_rows())
    assert share[True] > share[False] + 0.2
