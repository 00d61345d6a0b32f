"""`ws1ai rollback` exits non-zero whenever it did not undo what it was asked to: no approver could ever
approve the inverses (refused before anything runs), or the inverse actions were rejected."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from typer.testing import CliRunner

from ws1ai.cli import app
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.audit_records import AuditStatus, record_for
from ws1ai.governance.config import GovernanceSettings

pytestmark = pytest.mark.prefect


def _rollback_runs() -> int:
    with get_client(sync_client=True) as client:
        name = FlowFilterName(any_=["ws1ai-rollback"])
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=name), limit=200)
    return len(runs)


def _no_approvers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APPROVER_KEY", "APPROVER_PUBLIC_KEYS"):
        monkeypatch.delenv(f"WS1AI_GOVERNANCE_{name}", raising=False)


def test_rollback_without_approver_identities_refuses_before_running(
    prefect_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_approvers(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no stray .env with approver settings
    before = _rollback_runs()
    result = CliRunner().invoke(app, ["rollback", "0123456789abcdef01234567"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no approver identities configured" in lines[0], result.output
    assert _rollback_runs() == before  # nothing ran: no rollback flow run was created


def test_a_rollback_whose_inverse_is_rejected_exits_1_and_names_it(
    prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"ws1ai-audit-cli-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "APPROVER_KEY": "cli-rollback-test-key",
        "AUDIT_ARTIFACT_PREFIX": prefix,
        "APPROVAL_POLL_SECONDS": "1",
        "APPROVAL_TIMEOUT_SECONDS": "3",  # nobody answers: the configured outcome (reject) decides
        "TIMEOUT_OUTCOME": "reject",
        "REMINDER_BEFORE_SECONDS": "[]",
    }.items():
        monkeypatch.setenv(f"WS1AI_GOVERNANCE_{name}", value)
    store = PrefectAuditStore(GovernanceSettings())
    action = Action(
        run_key=f"cli-rollback-{uuid.uuid4().hex[:6]}",
        kind=ActionKind.PROFILE_INSTALL,
        targets=[41],
        payload={"profile_id": 9},
        rationale="missing VPN profile",
    )

    @flow(name="ws1ai-test-executed")
    def executed() -> None:
        store.write([record_for(action, AuditStatus.EXECUTED)])

    executed()
    result = CliRunner().invoke(app, ["rollback", action.correlation_id])
    assert result.exit_code == 1, result.output
    assert f"not rolled back: {action.correlation_id}" in result.stderr
    assert '"rolled_back": []' in result.stdout
