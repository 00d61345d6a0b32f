"""Licence reclamation end to end: real Prefect server, sandbox tenant on a socket, approval via resume API.

The expected batch is computed from the sandbox's own ground-truth frames (not from what the flow read through
the API), so the test also shows that the bulk reads (report export + searches) rebuild the same facts. The
tenant has 60 days of usage, enough for the flow to train its usage model in the run (the default path), but
that model's held-out installs are too few (and it reclaims wrongly too often there) to clear the trust
floor, so the default path is observe-only; the batches are decided by a vetted usage model (trained as
`ws1ai models train usage` does) or, with a shorter look-back, the stand-in rule. Each test checks which
path decided.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import polars as pl
import pytest
from prefect import flow, get_client
from prefect.artifacts import Artifact
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

from flows.license_reclamation import MIN_IN_RUN_HISTORY_DAYS, license_reclamation, train_on_tenant
from models import pipeline
from models.registry import load_model, read_card
from models.usage import UsageModel, install_features
from models.usage import candidates as usage_candidates
from tasks.actions import ActionExecutor
from tests.flows.conftest import ledger, tenant_writes
from ws1ai.governance.actions import ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import RollbackReport, rollback
from ws1ai.policies.licenses import (
    AppInfo,
    ReclaimRules,
    idle_rule_candidates,
    reclamation_actions,
    select_candidates,
)
from ws1ai.sandbox import SandboxState
from ws1ai.sandbox.fleet import generate_fleet
from ws1ai.sandbox.fleet.io import write_fleet
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect

# The fixture fleet's usage export covers 60 days; 45 days of idleness is provable inside it.
MIN_IDLE_DAYS = 45
MAX_DEVICES = 3


def _expected_rule(state: SandboxState, lookback_days: int) -> pl.DataFrame:
    """The batch the stand-in rule must pick on the last `lookback_days` of usage, from ground truth."""
    apps, devices, usage = _truth_frames(state)
    as_of = _as_of(state)
    usage = usage.filter(pl.col("date") >= as_of - timedelta(days=lookback_days))
    found = idle_rule_candidates(
        state.app_installs.frame(),
        usage,
        apps,
        devices,
        as_of=as_of,
        rules=ReclaimRules(min_idle_days=MIN_IDLE_DAYS),
        window_start=usage["date"].min(),  # type: ignore[arg-type]
    )
    return select_candidates(found, min_confidence=0.5, max_devices=MAX_DEVICES)


def _expected(state: SandboxState, usage_model: Path) -> pl.DataFrame:
    """The batch the vetted usage model must pick on the tenant, from ground truth."""
    apps, devices, usage = _truth_frames(state)
    estimators, card = load_model(usage_model, "usage")
    model = UsageModel.restore(estimators, card.params)
    features = install_features(devices, apps, state.app_installs.frame(), usage, [_as_of(state)])
    return select_candidates(usage_candidates(model, features), min_confidence=0.5, max_devices=MAX_DEVICES)


def _as_of(state: SandboxState) -> date:
    last = state.app_usage.frame["date"].max()
    assert isinstance(last, date)
    return last


def _decided_by(run: Any) -> set[tuple[str, str]]:
    """(decided_by, model_version) from the run's savings artifact."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["license-reclamation-savings"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.state_details.flow_run_id])),
        )
    assert found, "no savings artifact"
    data = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return {(r["decided_by"], r["model_version"]) for r in rows}


@pytest.fixture(scope="module")
def usage_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A usage model trained (as `ws1ai models train usage` does) on a different, longer fleet."""
    data = tmp_path_factory.mktemp("usage-fleet")
    # A year of history: the model keeps a cut per band of history, and the tenant's 60 days fall in its
    # shortest band, where only a long training history leaves enough held-out rows to reclaim anything.
    write_fleet(generate_fleet(devices=600, seed=5, days=365), data)
    pipeline.train("usage", data, data / "usage.skops")
    return data / "usage.skops"


def _truth_frames(state: SandboxState) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    apps = pl.DataFrame(
        [{"app_id": a["id"], "name": a["name"], "license_cost_usd": a["cost"]} for a in state.apps.values()]
    )
    devices = pl.DataFrame(
        [{"device_id": r.id, "email": r.user_email.lower()} for r in state.devices.values()]
    )
    people = state.employees.select(pl.col("email").str.to_lowercase(), "department", "role").unique("email")
    return apps, devices.join(people, on="email", how="left"), state.app_usage.frame


def _run(**kwargs: Any) -> Any:
    return license_reclamation(
        min_idle_days=MIN_IDLE_DAYS, max_devices=MAX_DEVICES, return_state=True, **kwargs
    )


def test_an_in_run_model_too_thin_to_trust_proposes_nothing_and_says_why(
    tenant: httpx.Client, sandbox_state: SandboxState
) -> None:
    apps, devices, usage = _truth_frames(sandbox_state)
    _, problems = train_on_tenant(
        devices, apps, sandbox_state.app_installs.frame(), usage, _as_of(sandbox_state)
    )
    assert problems  # what the flow must refuse on, computed from ground truth
    state = _run(mode=RolloutMode.AUTO, run_key="t-lr-thin")
    assert state.is_completed() and state.name == "SKIPPED", state
    assert "observe-only" in (state.message or "") and problems[0] in (state.message or "")
    assert tenant_writes(tenant) == []
    assert PrefectAuditStore().read(run_keys=["t-lr-thin"]) == []  # nothing was even planned
    artifact: Any = Artifact.get("license-reclamation-trust")
    assert artifact is not None and problems[0] in str(artifact.data)


def test_observe_mode_sends_no_write(
    tenant: httpx.Client, sandbox_state: SandboxState, usage_model: Path
) -> None:
    assert not _expected(sandbox_state, usage_model).is_empty()
    state = _run(mode=RolloutMode.OBSERVE, run_key="t-lr-observe", usage_model_path=str(usage_model))
    assert state.is_completed(), state
    assert _decided_by(state) == {("model", read_card(usage_model).model_version)}
    assert tenant_writes(tenant) == []
    # The request log agrees: the only non-GET routes hit were the exports' run and download search (POSTs
    # by the Intelligence API's design that change nothing).
    routes = tenant.get("/_sandbox/requests").json()["by_route"]
    assert {r for r in routes if not r.startswith("GET ")} == {
        "POST /v1/reports/{report_id}/run",
        "POST /v1/reports/{report_id}/downloads/search",
    }


def test_approved_batch_uninstalls_notifies_and_a_rerun_repeats_nothing(
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    approve_in_background: Callable[..., Thread],
    tmp_path: Path,
    usage_model: Path,
) -> None:
    expected = _expected(sandbox_state, usage_model)
    pairs = set(expected.select("device_id", "app_id").iter_rows())
    devices = {d for d, _ in pairs}
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = _run(mode=RolloutMode.APPROVE, run_key="t-lr-approve", usage_model_path=str(usage_model))
    assert state.is_completed(), state
    assert _decided_by(state) == {("model", read_card(usage_model).model_version)}

    writes = tenant_writes(tenant)
    uninstalled = {(e["device_ids"][0], e["app_id"]) for e in writes if e["operation"] == "App.Uninstall"}
    pushed = sorted(e["device_ids"][0] for e in writes if e["operation"].startswith("Message."))
    noted = sorted(e["device_ids"][0] for e in writes if e["operation"] == "AddNote")
    assert uninstalled == pairs
    # One notice per reclaimed install; one provenance note per device per executed action.
    assert sorted(pushed) == sorted(d for d, _ in pairs)
    assert sorted(noted) == sorted([d for d, _ in pairs] * 2)
    assert {e["operation"] for e in writes} == {"App.Uninstall", "Message.push", "AddNote"}
    assert all(a not in sandbox_state.app_installs.items(d) for d, a in pairs)
    assert {d for e in writes for d in e["device_ids"]} == devices

    # The same decision again, as the usage model's output file: the installs are gone, nothing is repeated.
    candidates = tmp_path / "candidates.parquet"
    expected.write_parquet(candidates)
    before = len(ledger(tenant))
    again = _run(mode=RolloutMode.APPROVE, run_key="t-lr-approve", candidates_path=str(candidates))
    assert again.is_completed() and again.name == "SKIPPED", again
    assert tenant_writes(tenant, since=before) == []

    # Each reclaim is reversible: rolling the uninstalls back through governance reinstalls exactly them.
    apps = {a: AppInfo(sandbox_state.apps[a]["name"], "purchased") for _, a in pairs}
    uninstalls = [
        a.correlation_id
        for a in reclamation_actions(expected, apps, run_key="t-lr-approve", decided_by="model")
        if a.kind is ActionKind.APP_UNINSTALL
    ]
    before = len(ledger(tenant))
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    report = _rollback(uninstalls)
    assert sorted(report.rolled_back) == sorted(uninstalls), report
    reinstalled = {
        (e["device_ids"][0], e["app_id"])
        for e in tenant_writes(tenant, before)
        if e["operation"] == "App.Install"
    }
    assert reinstalled == pairs
    assert all(a in sandbox_state.app_installs.items(d) for d, a in pairs)


@flow(name="test-license-rollback", validate_parameters=False)
def _rollback(correlation_ids: list[str]) -> RollbackReport:
    settings = GovernanceSettings()
    with UEMClient() as uem:
        return rollback(
            correlation_ids, ActionExecutor(uem), store=PrefectAuditStore(settings), settings=settings
        )


def test_rejected_batch_executes_nothing(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread], usage_model: Path
) -> None:
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = _run(mode=RolloutMode.APPROVE, run_key="t-lr-reject", usage_model_path=str(usage_model))
    assert state.is_completed() and state.name != "SKIPPED", state  # it did pause and ask
    assert tenant_writes(tenant) == []
    records = PrefectAuditStore().read(run_keys=["t-lr-reject"])
    planned = {r.correlation_id for r in records if r.status is AuditStatus.PLANNED}
    rejected = {r.correlation_id for r in records if r.status is AuditStatus.REJECTED}
    assert planned and rejected == planned


def test_too_short_a_history_falls_back_to_the_rule(
    tenant: httpx.Client, sandbox_state: SandboxState, approve_in_background: Callable[..., Thread]
) -> None:
    lookback = 50  # 51 days of usage read: fewer than in-run training needs, enough for 45 idle days
    assert lookback + 1 < MIN_IN_RUN_HISTORY_DAYS
    expected = _expected_rule(sandbox_state, lookback)
    assert not expected.is_empty()
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = _run(
        mode=RolloutMode.APPROVE,
        run_key="t-lr-rule",
        lookback_days=lookback,
        as_of=_as_of(sandbox_state),
    )
    assert state.is_completed(), state
    assert _decided_by(state) == {("rule", "idle-rule-v1")}
    writes = tenant_writes(tenant)
    uninstalled = {(e["device_ids"][0], e["app_id"]) for e in writes if e["operation"] == "App.Uninstall"}
    assert uninstalled == set(expected.select("device_id", "app_id").iter_rows())
    assert {e["operation"] for e in writes} == {"App.Uninstall", "Message.push", "AddNote"}
