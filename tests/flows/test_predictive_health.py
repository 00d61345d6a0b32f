"""Predictive health end to end: real Prefect server, sandbox tenant on a socket, approval via the resume API.

The flow runs load a model trained once per session the way `ws1ai models train health` does (registry file
and sidecar); the in-run training path (no `model_path`: labels inferred from the tenant's own history) is
checked on its own, on a generated fleet long enough to train on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import pytest
from prefect.artifacts import Artifact
from prefect.logging import disable_run_logger

from flows.predictive_health import health_model, predictive_health
from models.health import score_health
from tasks.actions import ActionExecutor
from tasks.telemetry import infer_failures, resolve_cleanup_scripts
from tests.flows.conftest import tenant_writes
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.health import PENDING_REPLACEMENT
from ws1ai.sandbox import SandboxState
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect

BUDGET = 6  # the riskiest devices per run: enough for every decision kind, small enough to stay quick


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A health model as `ws1ai models train health` writes it (simulator ground truth, registry sidecar)."""
    from models import pipeline
    from ws1ai.sandbox.fleet import generate_fleet, write_fleet

    data = tmp_path_factory.mktemp("fleet")
    write_fleet(generate_fleet(devices=800, seed=11, days=100), data)
    out = tmp_path_factory.mktemp("health") / "health.skops"
    pipeline.train("health", data, out, {"seed": 0, "max_iter": 30})
    return str(out)


def _decisions() -> list[dict[str, Any]]:
    artifact: Any = Artifact.get("predictive-health-decisions")  # sync here; typed as maybe-async
    assert artifact is not None
    data = artifact.data
    return list(json.loads(data) if isinstance(data, str) else data)


def test_inferred_failures_are_real_failures(sandbox_state: SandboxState) -> None:
    fleet = sandbox_state.fleet
    assert fleet is not None
    inferred = infer_failures(fleet.devices, fleet.telemetry)
    assert inferred.height >= 1
    truth = inferred.join(fleet.failures, on="device_id", how="inner")
    assert truth.height == inferred.height  # a proxy that finds some failures, not one that invents them
    assert (truth["failed_on"] - truth["failed_on_right"]).dt.total_days().abs().max() <= 3  # type: ignore[operator]


def test_without_a_model_path_the_flow_trains_on_the_tenants_history() -> None:
    from ws1ai.sandbox.fleet import generate_fleet

    fleet = generate_fleet(devices=800, seed=11, days=100)
    with disable_run_logger():
        model, version = health_model.fn(None, fleet.devices, fleet.telemetry, 14, 30)
    assert version.startswith("health-tenant-")
    as_of = fleet.telemetry["date"].max()
    assert isinstance(as_of, date)
    scored = score_health(model, fleet.devices, fleet.telemetry, as_of, version)
    assert scored.height > 0 and scored["failure_probability"].is_between(0, 1).all()


def test_observe_mode_reports_and_plots_without_writing(
    tenant: httpx.Client, model_path: str, tmp_path: Path
) -> None:
    state = predictive_health(
        mode=RolloutMode.OBSERVE,
        model_path=model_path,
        review_budget=BUDGET,
        report_dir=str(tmp_path),
        return_state=True,
    )
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []
    rows = _decisions()
    assert len(rows) == BUDGET
    assert {"device", "probability", "component", "decision", "reason"} <= set(rows[0])
    [png] = tmp_path.glob("predictive-health-*.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_approved_run_writes_exactly_the_decided_actions(
    tenant: httpx.Client, model_path: str, tmp_path: Path, approve_in_background: Callable[..., Thread]
) -> None:
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = predictive_health(
        mode=RolloutMode.APPROVE,
        model_path=model_path,
        review_budget=BUDGET,
        report_dir=str(tmp_path),
        return_state=True,
    )
    assert state.is_completed(), state
    decided = {int(r["device"]): r["decision"] for r in _decisions()}
    writes = tenant_writes(tenant)
    per_device: dict[int, Counter[str]] = {}
    for e in writes:
        for d in e["device_ids"]:
            per_device.setdefault(int(d), Counter())[str(e["operation"])] += 1
    # Only flagged devices are touched, and every flagged device got its decision carried out.
    assert writes and set(per_device) <= set(decided)
    replaced = {d for d, how in decided.items() if how == "replace"}
    incidents = [e for e in writes if e["operation"] == "ServiceNow.CreateIncident"]
    assert len(incidents) == len(replaced)
    with UEMClient(read_only=True) as uem:
        for device_id, how in decided.items():
            ops = per_device.get(device_id, Counter())
            attrs = {a.name: a.value for a in uem.devices.custom_attributes(device_id)}
            if how == "replace":
                assert attrs.get("Status") == PENDING_REPLACEMENT
                assert any("email" in op.lower() for op in ops), ops
            else:
                assert attrs.get("Status") != PENDING_REPLACEMENT
            if how == "notify_user":
                assert any("push" in op.lower() for op in ops), ops
    scripted = [d for d, how in decided.items() if how == "scripted_fix"]
    assert sum(e["operation"] == "Script.Assign" for e in writes) == (1 if scripted else 0)

    # The next sweep of the same data (unattended, auto mode): replacements are pending, the rest was
    # executed under the same correlation ids — nothing new reaches the tenant.
    again = predictive_health(
        mode=RolloutMode.AUTO,
        model_path=model_path,
        review_budget=BUDGET,
        report_dir=str(tmp_path),
        return_state=True,
    )
    assert again.is_completed(), again
    assert len(tenant_writes(tenant)) == len(writes)


def test_rejected_approval_executes_nothing(
    tenant: httpx.Client, model_path: str, tmp_path: Path, approve_in_background: Callable[..., Thread]
) -> None:
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = predictive_health(
        mode=RolloutMode.APPROVE,
        model_path=model_path,
        review_budget=2,
        report_dir=str(tmp_path),
        return_state=True,
    )
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []


def test_script_run_assigns_the_script_to_a_group_of_exactly_the_targets(tenant: httpx.Client) -> None:
    with UEMClient(read_only=True) as uem:
        windows = [d.device_id for d in uem.devices.search(platform="WinRT", page_size=3).items]
    with disable_run_logger():
        scripts = resolve_cleanup_scripts.fn({"WinRT": "Clear temporary files"})
    action = Action(
        run_key="t-script",
        kind=ActionKind.SCRIPT_RUN,
        targets=[d for d in windows if d is not None],
        payload={"script_uuid": scripts["WinRT"], "purpose": "storage clean-up"},
    )
    with UEMClient() as uem:
        ActionExecutor(uem, leave_device_notes=False)(action)
        # Each target now has the script; the group holds exactly them.
        for device in uem.devices.search(platform="WinRT", page_size=3).items:
            assert device.uuid is not None
            names = [s.name for s in uem.scripts.for_device(device.uuid).search_results]
            assert "Clear temporary files" in names
        [group] = [g for g in uem.smart_groups.iter_search() if action.correlation_id in (g.name or "")]
        assert group.devices == len(action.targets)
    ops = [e["operation"] for e in tenant_writes(tenant)]
    assert ops == ["SmartGroup.Create", "Script.Assign"]
    # A retry after a crash reuses the group instead of creating another.
    with UEMClient() as uem:
        ActionExecutor(uem, leave_device_notes=False)(action)
    assert [e["operation"] for e in tenant_writes(tenant)].count("SmartGroup.Create") == 1
