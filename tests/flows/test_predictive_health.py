"""Predictive health end to end: real Prefect server, sandbox tenant on a socket, approval via the resume API.

The flow runs load a model trained once per session the way `ws1ai models train health` does (registry file
and sidecar, its threshold picked on validation for a weekly review of 12 devices). The in-run training path
(no `model_path`: labels inferred from the tenant's own history) must clear the trust floor before it may
propose anything: on the sandbox's few inferred failures it proposes nothing and says why.
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
from models.registry import read_card
from tasks.actions import ActionExecutor
from tasks.telemetry import infer_failures, resolve_cleanup_scripts
from tests.flows.conftest import tenant_writes
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.health import PENDING_REPLACEMENT, TrustFloor
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
    # The validated threshold is the model's own cut for a weekly review of 12 devices of 800.
    pipeline.train("health", data, out, {"seed": 0, "max_iter": 30, "weekly_review_budget": 12})
    return str(out)


def _threshold(model_path: str) -> float:
    return float(read_card(Path(model_path)).params["threshold"])


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


def test_an_in_run_model_that_validates_poorly_may_not_act() -> None:
    """Enough failures to train (with the floor's counts lowered), but its validation is no better than
    chance: the model is returned for the plot, with the reasons it may not act."""
    from ws1ai.sandbox.fleet import generate_fleet

    fleet = generate_fleet(devices=800, seed=11, days=100)
    with disable_run_logger():
        fitted = health_model.fn(
            None,
            fleet.devices,
            fleet.telemetry,
            14,
            30,
            TrustFloor(min_failures=5, min_validation_failures=1),
        )
    assert fitted.version.startswith("health-tenant-") and fitted.model is not None
    assert fitted.evidence is not None and fitted.evidence.failures >= 5
    assert any("validated average precision" in why for why in fitted.refusal), fitted.refusal
    as_of = fleet.telemetry["date"].max()
    assert isinstance(as_of, date)
    scored = score_health(fitted.model, fleet.devices, fleet.telemetry, as_of, fitted.version)
    assert scored.height > 0 and scored["failure_probability"].is_between(0, 1).all()


def test_an_in_run_model_on_too_few_failures_proposes_nothing_and_says_why(
    tenant: httpx.Client, tmp_path: Path, sandbox_state: SandboxState
) -> None:
    """The `predictive-health-weekly` deployment's path (no model_path), on a tenant with a handful of
    failures: observe-only, nothing planned, no approval asked, the reason in the state and an artifact."""
    fleet = sandbox_state.fleet
    assert fleet is not None
    inferred = infer_failures(fleet.devices, fleet.telemetry).height
    assert inferred < TrustFloor().min_failures
    state = predictive_health(
        mode=RolloutMode.AUTO,
        review_budget=50,
        report_dir=str(tmp_path),
        run_key="t-ph-thin",
        return_state=True,
    )
    assert state.is_completed() and state.name == "SKIPPED", state
    assert f"{inferred} failures inferred" in (state.message or "")
    assert tenant_writes(tenant) == []
    assert PrefectAuditStore().read(run_keys=["t-ph-thin"]) == []  # nothing was even planned
    artifact: Any = Artifact.get("predictive-health-trust")
    assert artifact is not None and f"{inferred} failures inferred" in str(artifact.data)


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
    assert min(r["probability"] for r in rows) >= round(_threshold(model_path), 4)
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


def test_a_device_below_the_threshold_is_never_proposed_even_with_room_in_the_budget(
    tenant: httpx.Client, model_path: str, tmp_path: Path
) -> None:
    threshold = _threshold(model_path)
    state = predictive_health(
        mode=RolloutMode.OBSERVE,
        model_path=model_path,
        review_budget=500,  # room for most of the fleet
        threshold=0.0,  # asking for a looser cut than the model's validated one changes nothing
        report_dir=str(tmp_path),
        return_state=True,
    )
    assert state.is_completed(), state
    rows = _decisions()
    assert 0 < len(rows) < 500
    assert all(r["probability"] >= round(threshold, 4) for r in rows)
    with UEMClient(read_only=True) as uem:
        fleet = sum(1 for _ in uem.devices.iter_search())
    assert len(rows) < fleet  # the budget was not filled with the healthy


def test_rejected_approval_executes_nothing(
    tenant: httpx.Client, model_path: str, tmp_path: Path, approve_in_background: Callable[..., Thread]
) -> None:
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = predictive_health(
        mode=RolloutMode.APPROVE,
        model_path=model_path,
        review_budget=2,
        report_dir=str(tmp_path),
        run_key="t-ph-reject",
        return_state=True,
    )
    assert state.is_completed(), state
    assert tenant_writes(tenant) == []
    # Two devices' replacements were planned, and the audit trail shows every one of them rejected.
    records = PrefectAuditStore().read(run_keys=["t-ph-reject"])
    planned = {r.correlation_id for r in records if r.status is AuditStatus.PLANNED}
    rejected = {r.correlation_id for r in records if r.status is AuditStatus.REJECTED}
    assert len({t for r in records for t in r.action.targets}) == 2
    assert planned and rejected == planned
    assert not any(r.status is AuditStatus.EXECUTED for r in records)


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
