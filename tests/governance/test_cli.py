"""`ws1ai approvals|audit|rollback` against a real Prefect server, driven through Typer's CliRunner."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from prefect import flow
from typer.testing import CliRunner

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.cli import EXECUTOR_FACTORY, approvals_app, audit_app, parse_since, rollback_command
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, govern
from ws1ai.governance.resume import wait_for_pending

runner = CliRunner()


def _catching(fn: Callable[[], None], errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the test thread by the assertion on `errors`
            errors.append(exc)

    return run


def test_issue_token_and_since_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_KEY", "k1")
    first = runner.invoke(approvals_app, ["issue-token", "Alice"])
    assert first.exit_code == 0 and first.stdout.startswith("ws1a_")
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_KEY", "k2")
    assert runner.invoke(approvals_app, ["issue-token", "alice"]).stdout != first.stdout
    since = parse_since("2d")
    assert since is not None and parse_since("2026-01-01T00:00:00") is not None and parse_since(None) is None


@pytest.mark.prefect
def test_cli_approves_exports_and_rolls_back(
    prefect_server: str,
    gov_settings: GovernanceSettings,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The app layer hands rollback its executor factory (ws1ai/cli.py: tasks.actions.open_executor).
    (tmp_path / "cli_ledger.py").write_text(
        textwrap.dedent("""
        from contextlib import contextmanager
        CALLS = []
        @contextmanager
        def open_executor():
            yield lambda action: CALLS.append((action.kind.value, action.targets))
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    prefix = "ws1ai-audit-cli"
    for name, value in {
        "APPROVER_KEY": "test-only-approver-key",
        "AUDIT_ARTIFACT_PREFIX": prefix,
        "APPROVAL_POLL_SECONDS": "1",
        "APPROVAL_TIMEOUT_SECONDS": "40",
    }.items():
        monkeypatch.setenv(f"WS1AI_GOVERNANCE_{name}", value)
    settings = gov_settings.model_copy(update={"audit_artifact_prefix": prefix})
    store = PrefectAuditStore(settings)
    profile = Action(
        run_key="cli-1",
        kind=ActionKind.PROFILE_INSTALL,
        targets=[11, 12],
        payload={"profile_id": 9},
        rationale="missing VPN profile",
    )
    wipe = Action(run_key="cli-1", kind=ActionKind.DEVICE_WIPE, targets=[13], rationale="lost")
    executed: list[str] = []

    @flow(name="ws1ai-test-cli")
    def run() -> GovernanceReport:
        return govern(
            [profile, wipe],
            lambda a: executed.append(a.correlation_id),
            store=store,
            settings=settings,
            mode=RolloutMode.APPROVE,
            title="cli batch",
        )

    def approver() -> None:
        p = wait_for_pending(title="cli batch")
        listed = json.loads(runner.invoke(approvals_app, ["list", "--json"]).stdout)
        assert p.flow_run_id in {x["flow_run_id"] for x in listed}
        result = runner.invoke(
            approvals_app,
            [
                "approve",
                p.flow_run_id[:8],
                "--approver",
                "alice",
                "--reject-action",
                wipe.correlation_id,
                "--comment",
                "VPN only",
            ],
            env={"WS1AI_APPROVER_TOKEN": tokens["alice"]},
        )
        assert result.exit_code == 0, result.output

    errors: list[BaseException] = []
    t = threading.Thread(target=_catching(approver, errors), daemon=True)
    t.start()
    report = run()
    t.join(timeout=30)
    assert not errors, errors
    assert report.approval.approved == [profile] and report.approval.rejected == [wipe]
    assert executed == [profile.correlation_id]

    out = runner.invoke(audit_app, ["export", "--since", "1h"])
    assert out.exit_code == 0, repr(out.exception)
    rows = {r["correlation_id"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert rows[profile.correlation_id]["approved_by"] == ["alice"]
    assert rows[profile.correlation_id]["comment"] == "VPN only"
    assert rows[wipe.correlation_id]["status"] == "rejected"
    assert rows[wipe.correlation_id]["rejected_by"] == ["alice"]

    # Rollback runs the inverse through governance again: a profile removal waits for approval.
    def approve_rollback() -> None:
        p = wait_for_pending(title="rollback of 1 action(s)")
        submit = ["approve", p.flow_run_id, "--approver", "bob", "--token", tokens["bob"]]
        assert runner.invoke(approvals_app, submit).exit_code == 0

    t = threading.Thread(target=_catching(approve_rollback, errors), daemon=True)
    t.start()
    app = typer.Typer()
    app.command()(rollback_command)
    import cli_ledger  # type: ignore[import-not-found]

    result = runner.invoke(
        app,
        [profile.correlation_id, wipe.correlation_id, "--mode", "auto"],
        obj={EXECUTOR_FACTORY: cli_ledger.open_executor},
    )
    t.join(timeout=30)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    rolled = json.loads(result.stdout)
    assert rolled["rolled_back"] == [profile.correlation_id] and rolled["not_executed"] == [
        wipe.correlation_id
    ]
    assert cli_ledger.CALLS == [("profile_remove", ("11", "12"))]
