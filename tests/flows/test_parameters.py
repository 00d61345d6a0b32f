"""Flow parameters can narrow a run, never widen it.

Anyone who can create a flow run chooses its parameters. The attacks here are runs created through the
Prefect API (as a worker would execute them) that name a file outside the worker's data directories, a
model file that would run code while loading, a payload the worker does not allow, a `today` that has not
come yet, a rollback asking for `auto` on an approve-ceiling worker, and an old run's key. Each is refused
before the run reads anything (the sandbox counts every request), or acts only as the worker allows.
"""

from __future__ import annotations

import json
import threading
import uuid
import zipfile
import zoneinfo
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import skops.io as sio
import typer
from prefect import Flow, flow, get_client
from prefect.client.schemas.objects import State
from prefect.flow_engine import run_flow
from typer.testing import CliRunner

from flows.compliance_triage import compliance_triage
from flows.license_reclamation import license_reclamation
from flows.offboarding import offboarding
from flows.onboarding import onboarding
from flows.predictive_health import predictive_health
from models.registry import IncompatibleModelError, ModelCard, load_model, sidecar_path
from models.schemas import contract_fingerprint
from tests.flows.conftest import tenant_writes, token_for
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.cli import EXECUTOR_FACTORY, rollback_command
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, govern
from ws1ai.governance.resume import submit_decision, wait_for_pending
from ws1ai.paths import PathNotAllowedError, confine
from ws1ai.settings import WorkerSettings

# --- the rules themselves (no engine) ---------------------------------------------------------------------


def _worker(data: Path, *extra: Path) -> WorkerSettings:
    return WorkerSettings(data_dir=data, allowed_dirs=list(extra))


def test_a_path_must_resolve_inside_the_data_directories(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "m.skops").write_text("x")
    worker = _worker(data)
    assert confine(data / "m.skops", "model_path", worker) == (data / "m.skops").resolve()
    for outside in ("/etc/passwd", str(data / ".." / "m.skops"), str(tmp_path)):
        with pytest.raises(PathNotAllowedError, match=r"^model_path=.* outside this worker's data dir"):
            confine(outside, "model_path", worker)
    # A link inside the data folder that points out of it is outside: resolving follows it.
    (data / "passwd.skops").symlink_to("/etc/passwd")
    with pytest.raises(PathNotAllowedError, match="resolves to /etc/passwd"):
        confine(data / "passwd.skops", "model_path", worker)
    # A model file is read with its sidecar: a sidecar linked out of the folder is refused too.
    (data / "m.skops.json").symlink_to("/etc/hostname")
    with pytest.raises(PathNotAllowedError, match="hostname"):
        confine(data / "m.skops", "model_path", worker, companions=(".json",))
    with pytest.raises(PathNotAllowedError, match="not a usable path"):
        confine("a\0b", "report_dir", worker)
    elsewhere = tmp_path / "elsewhere"
    assert confine(elsewhere / "r", "report_dir", _worker(data, elsewhere)) == (elsewhere / "r").resolve()


def test_payloads_come_from_the_workers_allow_lists() -> None:
    worker = WorkerSettings()
    assert worker.choose("encryption_profiles", None) == worker.encryption_profiles
    assert worker.choose("encryption_profiles", {"WinRT": "BitLocker Encryption"}) == {
        "WinRT": "BitLocker Encryption"
    }
    with pytest.raises(ValueError, match=r"^encryption_profiles \{'WinRT': 'Attacker'\} is not allowed"):
        worker.choose("encryption_profiles", {"WinRT": "Attacker"})
    with pytest.raises(ValueError, match="cleanup_scripts"):
        worker.choose("cleanup_scripts", {"AppleOsX": "Clear temporary files"})
    assert worker.choose_quarantine_tag(None) == "Quarantine"
    with pytest.raises(ValueError, match="quarantine_tag 'VIP' is not allowed"):
        worker.choose_quarantine_tag("VIP")


def _model_that_runs_code(path: Path, marker: Path) -> None:
    """A skops file whose loading would call `builtins.exec` (skops rebuilds some objects by calling the
    type its file names), with a sidecar that passes every other check."""
    sio.dump({"tz": zoneinfo.ZoneInfo("UTC")}, path)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    schema = json.loads(files["schema.json"])
    node = schema["content"]["tz"]
    node["__class__"], node["__module__"] = "exec", "builtins"
    node["content"]["content"][0]["content"] = json.dumps(f"open({str(marker)!r}, 'w').write('ran')")
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    tables = ["devices", "telemetry"]
    card = ModelCard(
        kind="health", tables=tables, features=[], training_window=[], data_hash="", params={}
    )
    card.contract = contract_fingerprint(tables)
    sidecar_path(path).write_text(json.dumps(card.__dict__))


def test_a_model_file_inside_the_data_directory_still_cannot_run_code(tmp_path: Path) -> None:
    model, marker = tmp_path / "evil.skops", tmp_path / "ran"
    _model_that_runs_code(model, marker)
    with pytest.raises(IncompatibleModelError, match=r"outside the allow-list: \['builtins.exec'\]"):
        load_model(model, "health")
    assert not marker.exists()


# --- runs created through the Prefect API, as a worker executes them --------------------------------------


def _create_and_run(fn: Flow[..., Any], parameters: dict[str, Any]) -> State[Any]:
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(fn, parameters=parameters)
        state = run_flow(fn, flow_run=flow_run, parameters=parameters, return_type="state")
    assert isinstance(state, State)
    return state


def _requests(control: httpx.Client) -> int:
    return int(control.get("/_sandbox/requests").json()["total"])


def _refused(control: httpx.Client, fn: Flow[..., Any], parameters: dict[str, Any], *expected: str) -> str:
    """Runs the attack; asserts it failed with one line naming `expected`, having read nothing."""
    before = _requests(control)
    state = _create_and_run(fn, {"mode": "approve", **parameters})
    after = _requests(control)
    message = state.message or ""
    assert state.is_failed(), (state, message)
    assert message.startswith("refused before reading anything: ") and "\n" not in message, message
    for part in expected:
        assert part in message, message
    assert after == before, "the run read the tenant before refusing"  # /_sandbox reads are not counted
    assert tenant_writes(control) == []
    return message


@pytest.fixture
def data_dir(tenant: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This worker's data directory, with no other folder allowed."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("WS1AI_DATA_DIR", str(data))
    monkeypatch.setenv("WS1AI_ALLOWED_DIRS", "")
    return data


@pytest.mark.prefect
def test_a_model_path_outside_the_data_dir_fails_before_reading(tenant: httpx.Client, data_dir: Path) -> None:
    _refused(tenant, predictive_health, {"model_path": "/etc/passwd"}, "model_path='/etc/passwd'", "outside")
    # The same file through a link planted in the data folder, and a risk model next to it.
    (data_dir / "health.skops").symlink_to("/etc/passwd")
    _refused(tenant, predictive_health, {"model_path": str(data_dir / "health.skops")}, "/etc/passwd")
    _refused(tenant, compliance_triage, {"risk_model_path": "../../etc/passwd"}, "risk_model_path=")
    # report_dir names where the worker writes its plot.
    _refused(tenant, predictive_health, {"report_dir": "/tmp"}, "report_dir='/tmp'")


@pytest.mark.prefect
def test_candidate_and_bundle_files_outside_the_data_dir_are_refused(
    tenant: httpx.Client, data_dir: Path, tmp_path: Path
) -> None:
    planted = tmp_path / "candidates.parquet"  # which apps to uninstall where, written by someone else
    planted.write_bytes(b"PAR1")
    _refused(tenant, license_reclamation, {"candidates_path": str(planted)}, "candidates_path=", "outside")
    _refused(tenant, license_reclamation, {"usage_model_path": "/etc/passwd"}, "usage_model_path=")
    _refused(tenant, onboarding, {"bundles_path": str(planted)}, "bundles_path=")


@pytest.mark.prefect
def test_a_payload_the_worker_does_not_allow_is_refused(tenant: httpx.Client, data_dir: Path) -> None:
    profiles = {"WinRT": "Attacker Profile"}
    _refused(tenant, compliance_triage, {"encryption_profiles": profiles}, "encryption_profiles", "Attacker")
    _refused(tenant, compliance_triage, {"quarantine_tag": "Remote Admin"}, "quarantine_tag 'Remote Admin'")
    scripts = {"WinRT": "Install Remote Shell"}
    _refused(tenant, predictive_health, {"cleanup_scripts": scripts}, "cleanup_scripts")
    # "" is in every role: every flagged device would be a critical user's, replaced instead of cleaned up.
    _refused(tenant, predictive_health, {"critical_roles": ["Director", ""]}, "critical_roles ['']")


@pytest.mark.prefect
def test_offboarding_today_in_the_future_is_refused_in_approve_mode(
    tenant: httpx.Client, data_dir: Path
) -> None:
    later = date.today() + timedelta(days=30)  # everyone whose last day is within a month would "have left"
    _refused(tenant, offboarding, {"today": later.isoformat()}, f"today={later.isoformat()} is after today")
    # Looking back is allowed (fewer people count as past their last day): it runs.
    back = {"mode": "observe", "today": "2020-01-01", "since": date.today().isoformat()}
    earlier = _create_and_run(offboarding, back)
    assert earlier.is_completed(), earlier.message


@pytest.mark.prefect
def test_licence_reclamation_as_of_in_the_future_is_refused(tenant: httpx.Client, data_dir: Path) -> None:
    later = date.today() + timedelta(days=90)  # every install would look 90 days idler than it is
    _refused(tenant, license_reclamation, {"as_of": later.isoformat()}, "as_of=")


# --- rollback and run keys ----------------------------------------------------------------------------------


def _executed_tag(run_key: str, device: int) -> tuple[Action, list[str]]:
    """A low-tier, reversible write executed in `auto` mode through the real audit trail."""
    action = Action(
        run_key=run_key,
        kind=ActionKind.TAG_ADD,
        targets=[device],
        payload={"tag_id": 9, "tag_name": "Quarantine"},
        rationale="test",
    )
    return action, _govern_in_a_run([action], run_key)


def _govern_in_a_run(actions: list[Action], title: str) -> list[str]:
    executed: list[str] = []
    settings = GovernanceSettings()

    @flow(name="ws1ai-test-parameters")
    def run() -> GovernanceReport:
        return govern(
            actions,
            lambda a: executed.append(a.correlation_id),
            store=PrefectAuditStore(settings),
            settings=settings,
            mode=RolloutMode.AUTO,
            title=title,
        )

    run()
    return executed


@pytest.mark.prefect
def test_rollback_mode_auto_under_an_approve_ceiling_still_waits_for_approval(
    tenant: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    action, executed = _executed_tag(f"t-params-{uuid.uuid4().hex[:8]}", 10001)
    assert executed == [action.correlation_id]
    monkeypatch.setenv("WS1AI_GOVERNANCE_MAX_MODE", "approve")
    monkeypatch.delenv("WS1AI_GOVERNANCE_MAX_MODES", raising=False)
    calls: list[tuple[str, tuple[str, ...]]] = []
    seen: list[str] = []

    def executor_factory() -> Any:
        from contextlib import nullcontext

        return nullcontext(lambda a: calls.append((a.kind.value, a.targets)))

    def reject_when_asked() -> None:
        try:
            pending = wait_for_pending(title="rollback of 1 action(s)", timeout=60)
        except TimeoutError:
            return  # nothing waited: the assertions below say so
        seen.append(pending.flow_run_id)
        submit_decision(
            pending.flow_run_id, approver="alice", credential=token_for("alice"), decision=Decision.REJECT
        )

    approver = threading.Thread(target=reject_when_asked, daemon=True)
    approver.start()
    app = typer.Typer()
    app.command()(rollback_command)
    result = CliRunner().invoke(
        app, [action.correlation_id, "--mode", "auto"], obj={EXECUTOR_FACTORY: executor_factory}
    )
    approver.join(timeout=90)
    assert seen, "the inverse ran without asking anyone"
    assert calls == []  # rejected, so the tag stays
    assert result.exit_code == 1, result.output
    assert "mode auto requested, approve is this worker's governance ceiling" in result.stderr


@pytest.mark.prefect
def test_an_old_run_key_cannot_suppress_new_actions(tenant: httpx.Client) -> None:
    """A caller reusing a past run's key: only the very same write counts as done; different ones act."""
    key = f"t-params-reuse-{uuid.uuid4().hex[:8]}"
    first, executed = _executed_tag(key, 10002)
    assert executed == [first.correlation_id]
    second = Action(
        run_key=key,
        kind=ActionKind.TAG_ADD,
        targets=[10003],
        payload={"tag_id": 9, "tag_name": "Quarantine"},
        rationale="test",
    )
    again = _govern_in_a_run([first, second], f"{key} again")
    assert again == [second.correlation_id]  # the new action acted; the old one is not repeated


# --- scope: thresholds may only make a run propose less ---------------------------------------------------


def test_licence_thresholds_below_the_workers_floors_are_raised_to_them() -> None:
    worker = WorkerSettings(reclaim_min_idle_days=60, reclaim_grace_days=30, reclaim_min_confidence=0.5)
    assert worker.reclaim_floors(90, 45, 0.8) == (90, 45, 0.8, [])  # stricter: kept
    idle, grace, confidence, notes = worker.reclaim_floors(1, 0, 0.0)
    assert (idle, grace, confidence) == (60, 30, 0.5)
    assert notes[0] == "min_idle_days 1 raised to this worker's floor 60" and len(notes) == 3


@pytest.mark.prefect
def test_a_looser_licence_threshold_proposes_no_more_than_the_floor(
    tenant: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """min_idle_days=1 (every install idle for a day is "unused") plans exactly what the floor plans."""
    monkeypatch.setenv("WS1AI_RECLAIM_MIN_IDLE_DAYS", "40")
    key = f"t-params-floor-{uuid.uuid4().hex[:8]}"
    common = {"mode": "observe", "train_in_run": False, "max_devices": 50}
    loose = _create_and_run(
        license_reclamation, {**common, "run_key": f"{key}-loose", "min_idle_days": 1, "min_confidence": 0.0}
    )
    floor = _create_and_run(license_reclamation, {**common, "run_key": f"{key}-floor", "min_idle_days": 40})
    assert loose.is_completed() and floor.is_completed(), (loose.message, floor.message)
    store = PrefectAuditStore(GovernanceSettings())

    def planned(run_key: str) -> set[str | None]:
        return {r.content_key for r in store.read(run_keys={run_key}) if r.status.value == "planned"}

    proposed = planned(f"{key}-floor")
    assert proposed, "the floor proposed nothing: the comparison would prove nothing"
    assert planned(f"{key}-loose") == proposed
    assert tenant_writes(tenant) == []
