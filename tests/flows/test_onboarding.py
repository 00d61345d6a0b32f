"""Onboarding end to end: real Prefect server, sandbox tenant on a socket, approval via the resume API.

Hires are picked from the sandbox's own HRIS data: a pending starter whose UEM user is removed first (a brand
new person), and a recent starter with enrolled devices (who needs the role bundle).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from flows.onboarding import onboarding
from models.provisioning import learn_bundles
from tasks.actions import ActionExecutor, open_executor
from tests.flows.conftest import ledger
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.cli import EXECUTOR_FACTORY, rollback_command
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.policies.onboarding import peer_bundle_rule, username_for
from ws1ai.sandbox import SandboxState
from ws1ai.settings import UEMSettings
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


def _writes(control: httpx.Client, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in ledger(control)[since:] if e["method"] != "GET"]


def _pending_hire(state: SandboxState) -> dict[str, Any]:
    return state.employees.filter(pl.col("status") == "pending_start").sort("employee_id").row(0, named=True)


def _recent_starter(state: SandboxState) -> tuple[dict[str, Any], list[int]]:
    """An active employee who started in the last 14 days of the fleet and has enrolled devices."""
    recent = state.employees.filter(
        (pl.col("status") == "active") & (pl.col("start_date") >= state.end - timedelta(days=14))
    ).sort("employee_id")
    for row in recent.iter_rows(named=True):
        devices = sorted(r.id for r in state.devices.values() if r.user_email.lower() == row["email"].lower())
        if devices:
            return row, devices
    raise AssertionError("the fixture fleet has no recent starter with a device")


def _delete_uem_user(control: httpx.Client, state: SandboxState, email: str) -> None:
    """Test setup through the tenant's own API: this hire has no UEM user yet."""
    [user_id] = [uid for uid, u in state.users.items() if str(u["email"]).lower() == email.lower()]
    settings = UEMSettings()
    basic = f"{settings.username}:{settings.password.get_secret_value()}".encode()
    response = control.delete(
        f"/API/system/users/{user_id}/delete",
        headers={
            "Authorization": "Basic " + base64.b64encode(basic).decode(),
            "aw-tenant-code": settings.tenant_code.get_secret_value(),
            "Accept": "application/json;version=1",
        },
    )
    assert response.status_code == 204, response.text


def test_observe_mode_sends_no_write(tenant: httpx.Client, sandbox_state: SandboxState) -> None:
    hire, _ = _recent_starter(sandbox_state)
    state = onboarding(
        employee_id=hire["employee_id"],
        as_of=sandbox_state.end,
        mode=RolloutMode.OBSERVE,
        run_key_prefix="t-onb-observe",
        return_state=True,
    )
    assert state.is_completed(), state
    assert _writes(tenant) == []
    routes = tenant.get("/_sandbox/requests").json()["by_route"]
    assert routes and all(r.startswith("GET ") for r in routes), routes  # the request log agrees


def test_a_new_hire_gets_a_user_in_the_site_og_and_a_second_run_changes_nothing(
    tenant: httpx.Client, sandbox_state: SandboxState, approve_in_background: Callable[..., Thread]
) -> None:
    hire = _pending_hire(sandbox_state)
    _delete_uem_user(tenant, sandbox_state, hire["email"])
    since = len(ledger(tenant))
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    run = dict(employee_id=hire["employee_id"], run_key_prefix="t-onb-user")
    state = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert state.is_completed(), state

    [created] = _writes(tenant, since)
    assert created["operation"] == "User.Create"
    site = next(
        og_id
        for og_id, og in sandbox_state.org_groups.items()
        if og["name"].lower() == hire["location"].lower()
    )
    assert created["payload"]["UserName"] == username_for(hire["email"])
    assert int(created["payload"]["LocationGroupId"]) == site
    assert created["payload"]["ExternalId"] == hire["employee_id"]

    before = len(ledger(tenant))
    again = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert again.is_completed() and again.name == "SKIPPED", again
    assert _writes(tenant, before) == []


def _model_bundle(
    state: SandboxState, hire: dict[str, Any], devices: list[int], path: Path
) -> set[tuple[str, int]]:
    """A bundles-model file with one profile and one app the hire's first device lacks → expected writes."""
    device = state.devices[devices[0]]
    profile = min(
        p
        for p, info in state.profiles.items()
        if info["platform"] == device.platform and p not in state.device_profiles.items(device.id)
    )
    app = min(
        a
        for a, info in state.apps.items()
        if info["platform"] == device.platform and a not in state.app_installs.items(device.id)
    )
    pl.DataFrame(
        {
            "department": [hire["department"]] * 2,
            "role": [hire["role"]] * 2,
            "item_kind": ["profile", "app"],
            "item_id": [profile, app],
            "support": [0.9, 0.8],
        }
    ).write_parquet(path)
    same_platform = [d for d in devices if state.devices[d].platform == device.platform]
    expected = {
        ("Profile.Install", d) for d in same_platform if profile not in state.device_profiles.items(d)
    }
    return expected | {("App.Install", d) for d in same_platform if app not in state.app_installs.items(d)}


def test_an_enrolled_hire_gets_the_model_bundle_once(
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    approve_in_background: Callable[..., Thread],
    tmp_path: Path,
) -> None:
    hire, devices = _recent_starter(sandbox_state)
    bundle = tmp_path / "bundles.parquet"
    expected = _model_bundle(sandbox_state, hire, devices, bundle)
    run = dict(
        employee_id=hire["employee_id"],
        as_of=sandbox_state.end,
        bundles_path=str(bundle),
        run_key_prefix="t-onb-model",
    )
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert state.is_completed(), state

    writes = _writes(tenant)
    assert {(e["operation"], e["device_ids"][0]) for e in writes if e["operation"] != "AddNote"} == expected
    assert sorted(e["device_ids"][0] for e in writes if e["operation"] == "AddNote") == sorted(
        d for _, d in expected
    )

    before = len(ledger(tenant))
    again = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert again.is_completed() and again.name == "SKIPPED", again
    assert _writes(tenant, before) == []


def _truth_bundle(state: SandboxState, hire: dict[str, Any], method: str) -> pl.DataFrame:
    """The hire's team bundle by `method`, from the sandbox's truth over the whole team."""
    team = {
        e.lower()
        for e, d, r, st in state.employees.select("email", "department", "role", "status").iter_rows()
        if st == "active" and (d, r) == (hire["department"], hire["role"])
    }
    rows = [
        {"device_id": r.id, "platform": r.platform, "item_kind": kind, "item_id": item}
        for r in state.devices.values()
        if r.user_email.lower() in team
        for kind, items in (
            ("profile", state.device_profiles.items(r.id)),
            ("app", state.app_installs.items(r.id)),
        )
        for item in items
    ]
    holdings = pl.DataFrame(rows).with_columns(
        pl.lit(hire["department"]).alias("department"), pl.lit(hire["role"]).alias("role")
    )
    if method == "peer-rule":
        return peer_bundle_rule(holdings)
    return learn_bundles(
        holdings.select("device_id", "department", "role").unique(),
        holdings.filter(pl.col("item_kind") == "profile").select(
            "device_id", pl.col("item_id").alias("profile_id")
        ),
        holdings.filter(pl.col("item_kind") == "app").select("device_id", pl.col("item_id").alias("app_id")),
        pl.DataFrame(schema={"smart_group_id": pl.Int64, "department": pl.String, "role": pl.String}),
    )


def _expectation(state: SandboxState, method: str) -> tuple[dict[str, Any], list[int], set[tuple[str, int]]]:
    """The first recent starter who lacks part of their team's bundle, and the installs they must get."""
    recent = state.employees.filter(
        (pl.col("status") == "active") & (pl.col("start_date") >= state.end - timedelta(days=14))
    ).sort("employee_id")
    for hire in recent.iter_rows(named=True):
        devices = sorted(
            r.id for r in state.devices.values() if r.user_email.lower() == hire["email"].lower()
        )
        expected: set[tuple[str, int]] = set()
        for kind, item in _truth_bundle(state, hire, method).select("item_kind", "item_id").iter_rows():
            catalog, held, op = (
                (state.profiles, state.device_profiles, "Profile.Install")
                if kind == "profile"
                else (state.apps, state.app_installs, "App.Install")
            )
            expected |= {
                (op, d)
                for d in devices
                if catalog[item]["platform"] == state.devices[d].platform and item not in held.items(d)
            }
        if expected:
            return hire, devices, expected
    raise AssertionError(f"no recent starter lacks part of the {method} bundle in the fixture fleet")


@pytest.mark.parametrize("method", ["model", "peer-rule"])
def test_learned_bundle_provisions_once_and_rejection_executes_nothing(
    method: str,
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    approve_in_background: Callable[..., Thread],
) -> None:
    hire, devices, expected = _expectation(sandbox_state, method)
    assert all(sandbox_state.devices[d].department == hire["department"] for d in devices)  # no group change
    run = dict(
        employee_id=hire["employee_id"],
        as_of=sandbox_state.end,
        bundle_method=method,
        max_peers_per_team=500,
        run_key_prefix=f"t-onb-{method}",
    )
    approve_in_background(Decision.REJECT, approvers=("alice",))
    rejected = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert rejected.is_completed() and rejected.name != "SKIPPED", rejected  # it did pause and ask
    assert _writes(tenant) == []

    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert state.is_completed(), state
    writes = _writes(tenant)
    assert {(e["operation"], e["device_ids"][0]) for e in writes if e["operation"] != "AddNote"} == expected
    assert sorted(e["device_ids"][0] for e in writes if e["operation"] == "AddNote") == sorted(
        d for _, d in expected
    )

    before = len(ledger(tenant))
    again = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert again.is_completed() and again.name == "SKIPPED", again
    assert _writes(tenant, before) == []


def test_smart_group_membership_handler_adds_and_its_inverse_removes(
    tenant: httpx.Client, sandbox_state: SandboxState
) -> None:
    # A device of another department joins the Finance group explicitly, then the rollback takes it out.
    [group] = [g for g in sandbox_state.smart_groups.values() if g["name"] == "Dept - Finance"]
    outsider = min(r.id for r in sandbox_state.devices.values() if r.department != "Finance")
    add = Action(
        run_key="t-sg",
        kind=ActionKind.SMART_GROUP_ADD,
        targets=(str(outsider),),
        payload={"smart_group_id": group["id"]},
        rationale="test",
    )
    with UEMClient() as uem:
        executor = ActionExecutor(uem, leave_device_notes=False)
        members = {int(d.id or 0) for d in uem.smart_groups.devices(group["id"])}
        assert outsider not in members
        executor(add)
        members_after = {int(d.id or 0) for d in uem.smart_groups.devices(group["id"])}
        assert members_after == members | {outsider}
        inverse = add.inverse()
        assert inverse is not None and inverse.kind is ActionKind.SMART_GROUP_REMOVE
        executor(inverse)
        assert {int(d.id or 0) for d in uem.smart_groups.devices(group["id"])} == members
    # Criteria (department) survive the read-merge-write of explicit additions.
    assert sandbox_state.smart_groups[group["id"]]["departments"] == ["Finance"]


def test_rollback_from_the_trail_deactivates_exactly_the_created_user(
    tenant: httpx.Client, sandbox_state: SandboxState, approve_in_background: Callable[..., Thread]
) -> None:
    # The audit copy of a user creation has its username redacted: the inverse must still find the user, by
    # what the trail keeps (the user id the creation recorded, the HRIS external id that is its target).
    hire = _pending_hire(sandbox_state)
    _delete_uem_user(tenant, sandbox_state, hire["email"])
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = onboarding(
        employee_id=hire["employee_id"],
        run_key_prefix="t-onb-undo",
        mode=RolloutMode.APPROVE,
        return_state=True,
    )
    assert state.is_completed(), state
    [created] = [e for e in _writes(tenant) if e["operation"] == "User.Create"]
    [user_id] = [u for u, rec in sandbox_state.users.items() if rec.get("external_id") == hire["employee_id"]]
    cid = created["correlation_id"]
    records = PrefectAuditStore(GovernanceSettings()).read(correlation_ids={cid})
    [record] = [r for r in records if r.status is AuditStatus.EXECUTED]
    assert "user_name" in getattr(record.action, "redacted_fields", ())  # what rollback reads back

    since = len(ledger(tenant))
    approve_in_background(Decision.APPROVE, approvers=("alice",))  # a deactivation is high tier
    app = typer.Typer()
    app.command()(rollback_command)
    result = CliRunner().invoke(app, [cid, "--mode", "auto"], obj={EXECUTOR_FACTORY: open_executor})

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rolled_back"] == [cid]
    [undo] = _writes(tenant, since)
    assert (undo["operation"], undo["user_id"]) == ("User.Deactivate", user_id)
    assert sandbox_state.users[user_id]["active"] is False
