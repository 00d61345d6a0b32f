"""Approvals that hold no process (`WS1AI_GOVERNANCE_APPROVAL_WAIT=suspend`) on a real Prefect server.

The governed flow is served from a separate process (a Prefect runner, as a worker would run it), against the
sandbox tenant on a loopback socket. Each flow execution writes a marker `<run id>.<pid>`, so the test can see
that the process of a suspended run has exited and that a resume starts a new one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from typer.testing import CliRunner

from ws1ai.governance.actions import ActionKind
from ws1ai.governance.approval_forms import REQUEST_KEY, TIMEOUT_APPROVER, Decision
from ws1ai.governance.approval_suspend import PLAN_KEY, STATE_KEY
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.cli import approvals_app
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.resume import PendingApproval, approval_code_for, list_pending, wait_for_pending
from ws1ai.sandbox import SandboxState
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import SandboxSettings

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[2]
APPROVER_KEY = "suspend-test-approver-key"
PREFIX = "ws1ai-audit-suspend"
DEPLOYMENT = "ws1ai-test-suspend/suspend"
cli = CliRunner()

FLOW_SCRIPT = textwrap.dedent("""
    import os
    from pathlib import Path

    from prefect import flow, serve
    from prefect.runtime import flow_run

    from flows._govern import govern_and_act
    from ws1ai.governance.actions import Action, ActionKind
    from ws1ai.governance.config import RolloutMode


    @flow(name="ws1ai-test-suspend", persist_result=True)
    def governed(
        run_key: str,
        sync: list[int],
        wipe: list[int] | None = None,
        timeout: int | None = None,
        later: int | None = None,
    ):
        pids = Path(os.environ["WS1AI_TEST_PIDS"])
        (pids / f"{flow_run.id}.{os.getpid()}").touch()
        # A resumed execution that sees the tenant differently: `later` joins the sync (not approved).
        if later is not None and len(list(pids.glob(f"{flow_run.id}.*"))) > 1:
            sync = [*sync, later]
        actions = [Action(run_key=run_key, kind=ActionKind.DEVICE_SYNC, targets=sync, rationale="stale")]
        if wipe:
            wipe_action = Action(run_key=run_key, kind=ActionKind.DEVICE_WIPE, targets=wipe, rationale="lost")
            actions.append(wipe_action)
        return govern_and_act(
            actions, title=f"suspend {run_key}", mode=RolloutMode.APPROVE, approval_timeout_seconds=timeout
        )


    if __name__ == "__main__":
        serve(governed.to_deployment(name="suspend"))
""")


def _env(sandbox: str) -> dict[str, str]:
    return {
        "WS1_BASE_URL": sandbox,
        "WS1_TOKEN_URL": f"{sandbox}/connect/token",
        "WS1_RATE_LIMIT_PER_MINUTE": "100000",
        "SERVICENOW_BASE_URL": sandbox,
        "WS1AI_GOVERNANCE_APPROVER_KEY": APPROVER_KEY,
        "WS1AI_GOVERNANCE_APPROVAL_WAIT": "suspend",
        "WS1AI_GOVERNANCE_AUDIT_ARTIFACT_PREFIX": PREFIX,
        "WS1AI_GOVERNANCE_REMINDER_BEFORE_SECONDS": "[20]",
        # Each test syncs its own devices; another test's sync of the same device is not "a repeat".
        "WS1AI_GOVERNANCE_REPEAT_WINDOW_HOURS": "0",
    }


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState.seeded(devices=40, seed=31, days=5)
    app_settings = SandboxSettings(rate_limit_per_minute=1_000_000)
    from ws1ai.sandbox import create_app

    with serve_in_background(create_app(state, settings=app_settings)) as url:
        yield url, state


@pytest.fixture(scope="module")
def served(
    prefect_server: str, sandbox: tuple[str, SandboxState], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A runner process serving the governed flow (each run in its own subprocess); yields the pid folder."""
    home = tmp_path_factory.mktemp("served")
    (home / "suspend_flows.py").write_text(FLOW_SCRIPT)
    pids = home / "pids"
    pids.mkdir()
    env = {
        **os.environ,
        **_env(sandbox[0]),
        "PREFECT_API_URL": prefect_server,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PYTHONPATH": str(REPO),
        "WS1AI_TEST_PIDS": str(pids),
    }
    log = (home / "runner.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "suspend_flows.py"], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with get_client(sync_client=True) as client:
                    client.read_deployment_by_name(DEPLOYMENT)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((home / "runner.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield pids
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def env(sandbox: tuple[str, SandboxState], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process (the CLI, the check flow) sees the same governance settings as the runner."""
    for key, value in _env(sandbox[0]).items():
        monkeypatch.setenv(key, value)


def _token(who: str) -> str:
    return ApproverVerifier(GovernanceSettings(approver_key=APPROVER_KEY)).issue_token(who)  # type: ignore[arg-type]


def _start(**params: Any) -> UUID:
    run = run_deployment(DEPLOYMENT, parameters=params, timeout=0)
    assert isinstance(run, FlowRun)
    return run.id


def _run(run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def _wait_final(run_id: UUID, timeout: float = 120) -> FlowRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} did not finish")


def _wait_round(title: str, after: int = 0) -> PendingApproval:
    return wait_for_pending(title=title, after_round=after, timeout=120)


def _processes(pids: Path, run_id: UUID) -> list[int]:
    return sorted(int(p.name.rsplit(".", 1)[1]) for p in pids.glob(f"{run_id}.*"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its exit status is left for the runner to collect.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][:1] != "Z"


def _wait_exited(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still alive")
        time.sleep(0.2)


def _writes(sandbox: tuple[str, SandboxState], cids: set[str]) -> list[tuple[str, list[int]]]:
    entries = httpx.get(f"{sandbox[0]}/_sandbox/ledger", timeout=30).json()["entries"]
    # The writes themselves; a follow-up device note (optional per tier) is not what was approved.
    return [
        (e["operation"], e["device_ids"])
        for e in entries
        if e.get("correlation_id") in cids and e["operation"] != "AddNote"
    ]


def _records(run_key: str) -> list[tuple[str, AuditStatus, str]]:
    store = PrefectAuditStore(GovernanceSettings())
    return [(r.action.kind, r.status, r.detail or "") for r in store.read(run_keys={run_key})]


def test_suspended_approval_holds_no_process_and_executes_once(
    served: Path, sandbox: tuple[str, SandboxState], env: None
) -> None:
    key = f"suspend-{uuid.uuid4().hex[:8]}"
    d = sorted(sandbox[1].devices)
    run_id = _start(run_key=key, sync=[d[0], d[1]], wipe=[d[2]], later=d[6])
    title = f"suspend {key}"
    first = _wait_round(title)
    assert first.request.wait == "suspend" and first.flow_run_id == str(run_id)
    [pid] = _processes(served, run_id)
    # The run waits as SUSPENDED with no process of its own: the flow's process has exited.
    _wait_exited(pid)
    run = _run(run_id)
    assert run.state is not None and run.state.name == "Suspended" and run.state.is_paused()
    with get_client(sync_client=True) as client:
        assert client.read_flow_run_input(run_id, f"{PLAN_KEY}-1")  # the recorded plan the resume continues
    assert _writes(sandbox, {i.correlation_id for i in first.request.items}) == []

    # Round 1: alice approves everything; the sync is decided, the wipe needs a second, distinct person.
    code, _ = approval_code_for(
        first.request, approver="alice", signer=_hmac("alice"), decision=Decision.APPROVE
    )
    form = {"decision": "approve", "approver": "alice", "approval_code": code, "decisions": {}, "comment": ""}
    resume_flow_run(run_id, run_input=form)
    second = _wait_round(title, after=first.request.round)
    assert [i.correlation_id for i in second.request.items] == [
        i.correlation_id for i in first.request.items if "wipe" in i.summary
    ]
    assert second.request.items[0].approvals == ["alice"]
    # Each round ends its process: the resumed one has exited too.
    for p in _processes(served, run_id):
        _wait_exited(p)

    # The same code again, against the resumed run: refused (its nonce is spent, remembered across processes).
    resume_flow_run(run_id, run_input=form)
    third = _wait_round(title, after=second.request.round)
    assert third.request.note == "Previous submission refused: approval code was already used"

    # bob approves from the CLI; the run resumes, verifies and executes exactly the approved actions, once.
    out = cli.invoke(
        approvals_app,
        ["approve", str(run_id), "--approver", "bob", "--wait", "120"],
        env={"WS1AI_APPROVER_TOKEN": _token("bob")},
    )
    assert out.exit_code == 0, out.output
    assert f"accepted by flow run {run_id}: bob: approved 1 action(s)" in out.stdout
    final = _wait_final(run_id)
    assert final.state is not None and final.state.is_completed(), final.state
    # Exactly the recorded plan: the resumed executions computed a sync that includes `later`; not written.
    entries = httpx.get(f"{sandbox[0]}/_sandbox/ledger", timeout=30).json()["entries"]
    assert not [e for e in entries if d[6] in e["device_ids"]]
    cids = {i.correlation_id for i in first.request.items}
    writes = _writes(sandbox, cids)
    assert sorted(writes) == sorted(
        [("Command.SyncDevice", [d[0]]), ("Command.SyncDevice", [d[1]]), ("Command.DeviceWipe", [d[2]])]
    ), writes
    statuses = [(kind, status) for kind, status, _ in _records(key)]
    for kind in (ActionKind.DEVICE_SYNC, ActionKind.DEVICE_WIPE):
        mine = [s for k, s in statuses if k == kind]
        assert mine.count(AuditStatus.PLANNED) == 1 and mine.count(AuditStatus.APPROVED) == 1, mine
        assert mine.count(AuditStatus.EXECUTED) == 1, mine
    # Four processes in all (ask, round 2, refused replay, bob) and none left; the gate's inputs are gone.
    assert len(_processes(served, run_id)) == 4
    with get_client(sync_client=True) as client:
        left = {
            i.key
            for i in client.filter_flow_run_input(run_id, key_prefix="ws1ai-", limit=50, exclude_keys=set())
        }
    # No longer listed as waiting; each step's plan and state stay (a re-run of the run finds its decisions).
    assert REQUEST_KEY not in left and {f"{PLAN_KEY}-1", f"{STATE_KEY}-1"} <= left


def _hmac(who: str) -> Any:
    from ws1ai.governance.approval_code import HmacSigner

    return HmacSigner(_token(who))


def test_timeout_with_no_process_is_applied_by_the_check_flow_and_audited(
    served: Path, sandbox: tuple[str, SandboxState], env: None
) -> None:
    from flows.approvals_check import approvals_check

    key = f"suspend-timeout-{uuid.uuid4().hex[:8]}"
    run_id = _start(run_key=key, sync=[sorted(sandbox[1].devices)[3]], timeout=25)
    first = _wait_round(f"suspend {key}")
    for p in _processes(served, run_id):
        _wait_exited(p)
    # Nobody can resume it into a timeout early: the resumed gate checks the deadline by its own clock.
    early = {"decision": "reject", "approver": TIMEOUT_APPROVER, "approval_code": "x", "decisions": {}}
    resume_flow_run(run_id, run_input={**early, "comment": ""})
    again = _wait_round(f"suspend {key}", after=first.request.round)
    assert again.request.note.startswith("Previous submission refused: the deadline is ")
    assert not [s for _, s, _ in _records(key) if s is AuditStatus.REJECTED]

    # Before the deadline the check sends the due reminder (20 s before), once.
    while time.time() < again.request.deadline.timestamp() - 19:
        time.sleep(0.2)
    before = approvals_check()
    if str(run_id) not in before.timed_out:  # (a slow machine may already be past the deadline)
        assert str(run_id) in before.reminded
        assert str(run_id) not in approvals_check().reminded
    while time.time() < again.request.deadline.timestamp() + 1:
        time.sleep(0.5)
    for p in _processes(served, run_id):
        _wait_exited(p)
    # Past the deadline, with no process of the run alive: audited first, then resumed to apply it.
    assert not [p for p in _processes(served, run_id) if _alive(p)]
    checked = approvals_check() if str(run_id) not in before.timed_out else before
    assert str(run_id) in checked.timed_out
    rejected = [d for _, s, d in _records(key) if s is AuditStatus.REJECTED]
    assert len(rejected) == 1 and "timed out after 25 s" in rejected[0]
    final = _wait_final(run_id)
    assert final.state is not None and final.state.is_completed(), final.state
    # Nothing was written, and the outcome was recorded once (the resumed run found it in the audit trail).
    assert _writes(sandbox, {i.correlation_id for i in first.request.items}) == []
    assert len([s for _, s, _ in _records(key) if s is AuditStatus.REJECTED]) == 1
    assert str(run_id) not in {p.flow_run_id for p in list_pending()}


def test_the_same_actions_in_two_runs_ask_once(
    served: Path, sandbox: tuple[str, SandboxState], env: None
) -> None:
    key = f"suspend-twice-{uuid.uuid4().hex[:8]}"
    d = sorted(sandbox[1].devices)
    first_id = _start(run_key=key, sync=[d[4], d[5]])
    first = _wait_round(f"suspend {key}")
    second_id = _start(run_key=key, sync=[d[5], d[4]])
    second = _wait_final(second_id)
    # The second run leaves them to the first: skipped with where they wait, no second request.
    assert second.state is not None and second.state.is_completed(), second.state
    waiting = [p for p in list_pending() if p.request.title == f"suspend {key}"]
    assert [p.flow_run_id for p in waiting] == [str(first_id)]
    skipped = [d for _, s, d in _records(key) if s is AuditStatus.SKIPPED]
    assert skipped == [f"pending approval in run {first_id}"]
    out = cli.invoke(
        approvals_app,
        ["reject", str(first_id), "--approver", "alice", "--wait", "120"],
        env={"WS1AI_APPROVER_TOKEN": _token("alice")},
    )
    assert out.exit_code == 0, out.output
    assert _wait_final(first_id).state.is_completed()  # type: ignore[union-attr]
    assert _writes(sandbox, {i.correlation_id for i in first.request.items}) == []
