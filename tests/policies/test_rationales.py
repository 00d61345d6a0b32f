"""Every rationale sentence a policy in `ws1ai/policies/` can emit is true of the data it was built from.

Hypothesis generates the inputs; each test enumerates the policy's sentence shapes (a sentence of an unknown
shape fails, so a new sentence has to be added here, with its check) and checks every fact the sentence
states against the input: ages and counts recomputed from the inputs, named facts ("encryption is off",
"despite 2 reminders", "critical user", the platform, the app, the price).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ws1ai.policies.compliance import (
    LONG_VIOLATION_DAYS,
    DeviceFacts,
    Remediation,
    remediation_actions,
    triage_by_policy,
)
from ws1ai.policies.health import (
    PENDING_REPLACEMENT,
    REPLACE_COMPONENTS,
    DeviceRisk,
    decide_health,
    health_actions,
    is_critical,
)
from ws1ai.policies.licenses import AppInfo, ReclaimRules, assess_installs, idle_rule_candidates
from ws1ai.policies.licenses import reclamation_actions as licence_actions
from ws1ai.policies.offboarding import Leaver, LeaverDevice, PaidApp, offboarding_actions
from ws1ai.policies.onboarding import HireDevice, NewHire, TenantCatalog, onboarding_actions

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


# --- compliance ------------------------------------------------------------------------------------------
facts_st = st.builds(
    DeviceFacts,
    device_id=st.integers(1, 99_999),
    platform=st.sampled_from(["Apple", "AppleOsX", "WinRT", "Android"]),
    model=st.sampled_from(["MacBook Air", "Latitude 7440", "Pixel 8"]),
    os_version=st.sampled_from(["14.6", "10.0.22631", "14"]),
    compliance_status=st.just("NonCompliant"),
    compromised=st.booleans(),
    encrypted=st.booleans(),
    days_non_compliant=st.none() | st.integers(0, 400),
    reminders_sent=st.integers(0, 6),
    data_sensitivity=st.sampled_from(["low", "medium", "high"]),
)


def _check_compliance_clause(clause: str, f: DeviceFacts) -> None:
    """One clause of a compliance rationale, checked against the facts it was built from."""
    if m := re.fullmatch(
        r"non-compliant for (\d+) days? despite (\d+) reminders? sent during this violation", clause
    ):
        assert int(m[1]) == f.days_non_compliant and _days(int(m[1])) in clause
        assert int(m[2]) == f.reminders_sent > 0
    elif m := re.fullmatch(
        r"non-compliant for (\d+) days? and no reminder sent yet: remind the user first", clause
    ):
        assert int(m[1]) == f.days_non_compliant and f.reminders_sent == 0
    elif m := re.fullmatch(r"non-compliant for (\d+) days?", clause):
        assert int(m[1]) == f.days_non_compliant
    elif clause == "how long it has lasted is unknown":
        assert f.days_non_compliant is None
    elif clause == "not compromised, encrypted: the user can fix it (usually an OS update)":
        assert not f.compromised and f.encrypted
    elif m := re.fullmatch(
        r"compromised device with high-sensitivity data, "
        r"non-compliant for (\d+) days?: remove corporate data",
        clause,
    ):
        assert f.compromised and f.data_sensitivity == "high" and int(m[1]) == f.days_non_compliant
        assert int(m[1]) >= LONG_VIOLATION_DAYS
    elif clause == "device reports compromised (jailbreak/root or integrity failure)":
        assert f.compromised
    elif m := re.fullmatch(r"high-sensitivity data, non-compliant for (\d+) days?", clause):
        assert f.data_sensitivity == "high" and int(m[1]) == f.days_non_compliant
    elif clause == "disk encryption is off":
        assert not f.encrypted
    elif clause == "the encryption profile enforces it":
        pass  # what the remediation does, not a fact about the device
    elif m := re.fullmatch(r"no encryption profile for (\w+)", clause):
        assert m[1] == f.platform
    elif m := re.fullmatch(r"no tag named '(.+)' in the tenant", clause):
        pass  # checked by the caller, which knows the tag
    else:
        raise AssertionError(f"unknown compliance rationale clause: {clause!r}")


def _clauses(rationale: str) -> list[str]:
    return [c.strip() for c in rationale.split(";")]


@FAST
@given(facts=facts_st, profile=st.none() | st.integers(1, 9), tag_id=st.none() | st.integers(1, 9))
def test_every_compliance_rationale_is_true_of_its_facts(
    facts: DeviceFacts, profile: int | None, tag_id: int | None
) -> None:
    triage = triage_by_policy(facts)
    for clause in _clauses(triage.rationale):
        _check_compliance_clause(clause, facts)
    # "despite reminders" never appears without a reminder; a long violation without one is reminded first.
    if "despite" in triage.rationale:
        assert facts.reminders_sent > 0
    [action] = remediation_actions(
        facts,
        triage,
        run_key="r",
        encryption_profile_id=profile,
        quarantine_tag_id=tag_id,
        quarantine_tag="Q-x",
    )
    for clause in _clauses(action.rationale):
        _check_compliance_clause(clause, facts)
    if "no tag named" in action.rationale:
        assert tag_id is None and triage.remediation is Remediation.QUARANTINE and "'Q-x'" in action.rationale
    if "no encryption profile" in action.rationale:
        assert profile is None and triage.remediation is Remediation.INSTALL_PROFILE
    if "description" in action.payload:
        assert action.payload["description"].startswith(
            f"Device {facts.device_id} ({facts.platform} {facts.model}, OS {facts.os_version}) is "
            f"{facts.compliance_status}. Triage: {action.rationale}"
        )


# --- predictive health -----------------------------------------------------------------------------------
risk_st = st.builds(
    DeviceRisk,
    device_id=st.integers(1, 99_999),
    failure_probability=st.floats(0.0, 1.0),
    likely_component=st.sampled_from(["battery", "storage", "logic_board"]),
    horizon_days=st.integers(1, 60),
    model_version=st.sampled_from(["", "health-tenant-2026-11-01"]),
    platform=st.sampled_from(["", "WinRT", "AppleOsX", "Android"]),
    model=st.sampled_from(["", "Latitude 7440"]),
    serial_number=st.sampled_from(["", "SN1"]),
    role=st.sampled_from(["Software Engineer", "HR Director", "Head of Sales", "Warehouse Associate"]),
    user_email=st.sampled_from(["", "ada@corp.example.com"]),
    battery_health_pct=st.none() | st.floats(0, 100),
    storage_used_pct=st.none() | st.floats(0, 100),
    crashes_last_7d=st.none() | st.integers(0, 50),
    current_status=st.none() | st.sampled_from(["In Service", PENDING_REPLACEMENT]),
)


def _pct_matches(shown: str, p: float, digits: int) -> bool:
    """A percentage rendered with `digits` decimals states `p` (to the rounding shown)."""
    return abs(float(shown) / 100 - p) <= 0.5 * 10 ** -(digits + 2) + 1e-12


@FAST
@given(risk=risk_st, cleanup=st.lists(st.sampled_from(["WinRT", "AppleOsX"]), unique=True))
def test_every_health_reason_is_true_of_its_risk(risk: DeviceRisk, cleanup: list[str]) -> None:
    verdict = decide_health(risk, cleanup_platforms=cleanup)
    r = verdict.reason
    if r == "a replacement is already pending for this device":
        assert (risk.current_status or "").lower() == PENDING_REPLACEMENT.lower()
    elif m := re.fullmatch(r"(\d+)% risk of (\w+) failure within (\d+) days; not fixable remotely", r):
        assert _pct_matches(m[1], risk.failure_probability, 0)
        assert m[2] == risk.likely_component in REPLACE_COMPONENTS and int(m[3]) == risk.horizon_days
    elif m := re.fullmatch(
        r"(\d+)% risk of (\w+) failure for a critical user \((.+)\): replace before it fails", r
    ):
        assert _pct_matches(m[1], risk.failure_probability, 0) and m[2] == risk.likely_component
        assert m[3] == risk.role and is_critical(risk.role)
    elif m := re.fullmatch(r"(\d+)% risk of (\w+) failure; a clean-up script frees space first", r):
        assert _pct_matches(m[1], risk.failure_probability, 0) and m[2] == risk.likely_component
        assert risk.platform in cleanup
    elif m := re.fullmatch(r"(\d+)% risk of (\w+) failure; no clean-up script for (.+): ask the user", r):
        assert _pct_matches(m[1], risk.failure_probability, 0) and m[2] == risk.likely_component
        assert risk.platform not in cleanup and m[3] == (risk.platform or "this platform")
    else:
        raise AssertionError(f"unknown health reason: {r!r}")
    scripts = {p: f"uuid-{p}" for p in cleanup}
    for action in health_actions([(risk, verdict)], run_key="ph", cleanup_scripts=scripts):
        text = action.rationale
        if m := re.fullmatch(
            r"predicted storage failure on (\d+) (\w+) device\(s\): run the clean-up script", text
        ):
            assert int(m[1]) == len(action.targets) and m[2] == risk.platform
        elif m := re.fullmatch(
            r"predicted storage failure on (\d+) device\(s\) without a clean-up script", text
        ):
            assert int(m[1]) == len(action.targets) and risk.platform not in scripts
        else:
            assert text == r  # per-device actions carry the verdict's reason, checked above
        if "description" in action.payload:
            d = str(action.payload["description"])
            m = re.search(r"Predicted failure: (\w+) \(([\d.]+)% within (\d+) days", d)
            assert m is not None and m[1] == risk.likely_component and int(m[3]) == risk.horizon_days
            assert _pct_matches(m[2], risk.failure_probability, 1)
            shown = "n/a" if risk.battery_health_pct is None else f"{risk.battery_health_pct:g}"
            assert f"Battery health: {shown} %" in d
            crashes = "n/a" if risk.crashes_last_7d is None else str(risk.crashes_last_7d)
            assert f"crashes last 7 days: {crashes}" in d


# --- licences --------------------------------------------------------------------------------------------
AS_OF = date(2026, 6, 30)
START = AS_OF - timedelta(days=179)


@st.composite
def licence_inputs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    devices = list(range(1, draw(st.integers(2, 8)) + 1))
    apps = pl.DataFrame(
        {"app_id": [1, 2], "name": ["Visio", "Free"], "license_cost_usd": [draw(st.floats(0.5, 80)), 0.0]}
    )
    installs, usage = [], []
    for d in devices:
        for app in (1, 2):
            if draw(st.booleans()):
                installs.append(
                    {
                        "device_id": d,
                        "app_id": app,
                        "installed_on": START + timedelta(days=draw(st.integers(-60, 170))),
                    }
                )
                for day in draw(st.lists(st.integers(0, 179), max_size=6)):
                    usage.append(
                        {
                            "device_id": d,
                            "app_id": app,
                            "date": START + timedelta(days=day),
                            "minutes_used": 5.0,
                        }
                    )
    roles = pl.DataFrame(
        {
            "device_id": devices,
            "department": ["Eng"] * len(devices),
            "role": [draw(st.sampled_from(["Dev", "QA"])) for _ in devices],
        }
    )
    schema_i = {"device_id": pl.Int64, "app_id": pl.Int64, "installed_on": pl.Date}
    schema_u = {"device_id": pl.Int64, "app_id": pl.Int64, "date": pl.Date, "minutes_used": pl.Float64}
    return pl.DataFrame(installs, schema=schema_i), pl.DataFrame(usage, schema=schema_u), apps, roles


@FAST
@given(inputs=licence_inputs(), min_idle=st.integers(10, 90))
def test_every_licence_reason_is_true_of_the_usage(
    inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame], min_idle: int
) -> None:
    installs, usage, apps, roles = inputs
    rules = ReclaimRules(min_idle_days=min_idle)
    found = idle_rule_candidates(installs, usage, apps, roles, as_of=AS_OF, rules=rules, window_start=START)
    for row in found.iter_rows(named=True):
        m = re.fullmatch(
            r"no use in (\d+) days \(installed (\S+), (\d+) use days seen\); (\d+)% of role peers use it",
            row["reason"],
        )
        assert m is not None, row["reason"]
        dev, app = row["device_id"], row["app_id"]
        [installed] = installs.filter((pl.col("device_id") == dev) & (pl.col("app_id") == app))[
            "installed_on"
        ]
        used = sorted(set(usage.filter((pl.col("device_id") == dev) & (pl.col("app_id") == app))["date"]))
        # Idle since the last use, else since the install (or the window's start, whichever is later).
        idle_since = used[-1] if used else max(installed, START - timedelta(days=1))
        assert int(m[1]) == (AS_OF - idle_since).days >= min_idle
        assert m[2] == installed.isoformat() and int(m[3]) == len(used)
        peers = installs.join(roles, on="device_id").filter(
            (pl.col("app_id") == app)
            & (pl.col("role") == roles.filter(pl.col("device_id") == dev)["role"][0])
            & (pl.col("device_id") != dev)
        )
        recent = usage.filter(
            (pl.col("app_id") == app) & (pl.col("date") >= AS_OF - timedelta(days=min_idle))
        )
        active = peers.join(recent.select("device_id").unique(), on="device_id").height
        share = active / peers.height if peers.height else 0.0
        assert abs(int(m[4]) - share * 100) <= 0.5
        assert row["monthly_saving_usd"] == apps.filter(pl.col("app_id") == app)["license_cost_usd"][0] > 0
    assert (
        assess_installs(installs, usage, apps, roles, as_of=AS_OF, rules=rules, window_start=START).height
        >= found.height
    )
    for action in licence_actions(found, {1: AppInfo("Visio", "purchased")}, run_key="lr"):
        if m := re.match(
            r"reclaim Visio from (\d+) device\(s\): saves \$([\d,.]+)/month; e\.g\. (.+)", action.rationale
        ):
            group = found.filter(pl.col("app_id") == action.payload["app_id"])
            assert int(m[1]) == len(action.targets) == group.height
            assert abs(float(m[2].replace(",", "")) - group["monthly_saving_usd"].sum()) < 0.006
            assert m[3] in set(group["reason"])
        else:
            assert action.rationale == "tell the user their Visio licence was reclaimed"


# --- onboarding and offboarding --------------------------------------------------------------------------
@FAST
@given(
    status=st.sampled_from(["active", "pending_start"]),
    support=st.floats(0.6, 1.0),
    user_exists=st.booleans(),
)
def test_every_onboarding_rationale_is_true_of_the_hire(
    status: str, support: float, user_exists: bool
) -> None:
    hire = NewHire(
        employee_id="E7",
        name="Ada Lovelace",
        email="ada@corp.example.com",
        department="Eng",
        role="Dev",
        location="Leeds",
        start_date=date(2026, 7, 1),
        status=status,
    )
    device = HireDevice(5, "WinRT", frozenset(), frozenset(), frozenset())
    catalog = TenantCatalog(
        profile_platforms={3: "WinRT"},
        app_platforms={},
        app_kinds={},
        og_by_location={},
        default_og_id=1,
        department_smart_groups={"Eng": 11},
    )
    bundle = pl.DataFrame(
        {
            "department": ["Eng"],
            "role": ["Dev"],
            "item_kind": ["profile"],
            "item_id": [3],
            "support": [support],
        }
    )
    actions = onboarding_actions(
        hire, user_exists=user_exists, devices=[device], bundle=bundle, catalog=catalog
    )
    for a in actions:
        if m := re.fullmatch(
            r"new hire \((\w+), starts (\S+)\) in (\w+)/(\w+) at (\w+): "
            r"no UEM user with this username or email",
            a.rationale,
        ):
            assert not user_exists
            assert (m[1], m[2], m[3], m[4], m[5]) == (status, "2026-07-01", "Eng", "Dev", "Leeds")
        elif m := re.fullmatch(r"role bundle of (\w+)/(\w+): held by (\d+)% of peers", a.rationale):
            assert (m[1], m[2]) == ("Eng", "Dev") and _pct_matches(m[3], support, 0)
        elif a.rationale == "Eng smart group for new hire E7":
            assert a.payload == {"smart_group_id": 11}
        else:
            raise AssertionError(f"unknown onboarding rationale: {a.rationale!r}")


@FAST
@given(
    ownership=st.sampled_from(["C", "E", "S"]),
    cost=st.floats(0.0, 500.0),
    end=st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    active=st.booleans(),
)
def test_every_offboarding_rationale_is_true_of_the_leaver(
    ownership: str, cost: float, end: date | None, active: bool
) -> None:
    app = PaidApp(app_id=4, app_kind="purchased", name="Visio", license_cost_usd=cost)
    leaver = Leaver(
        employee_id="E9",
        name="Bo",
        email="bo@corp.example.com",
        end_date=end,
        uem_user_id=77,
        uem_user_active=active,
        devices=[LeaverDevice(device_id=8, ownership=ownership, paid_apps=[app])],
    )
    who = "E9 left" + (f" on {end}" if end else "")
    for a in offboarding_actions(leaver):
        if m := re.fullmatch(
            r"(.+): recover the paid licence of Visio \(\$([\d.]+) per device\)", a.rationale
        ):
            assert m[1] == who and abs(float(m[2]) - cost) <= 0.005
        elif m := re.fullmatch(r"(.+): enterprise wipe (.+)", a.rationale):
            assert m[1] == who
            personal = m[2] == "removes only corporate data and apps from this personal device"
            assert personal == (ownership == "E")
            if not personal:
                word = {"C": "corporate", "S": "corporate-shared"}[ownership]
                assert m[2] == f"removes corporate data and unenrols this {word} device"
        elif a.rationale == f"{who}: deactivate the enrolment user":
            assert active
        else:
            raise AssertionError(f"unknown offboarding rationale: {a.rationale!r}")
