"""`ws1ai approvals|audit|rollback` against a real Prefect server, driven through Typer's CliRunner."""

from __future__ import annotations

import json
import stat
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from prefect import flow
from typer.testing import CliRunner

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import MemoryAuditStore, PrefectAuditStore
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
    monkeypatch.delenv("WS1AI_GOVERNANCE_APPROVER_KEY", raising=False)
    none = runner.invoke(approvals_app, ["issue-token", "alice"])
    assert none.exit_code == 2 and none.stdout == ""
    assert none.stderr.startswith("error: no approver identities configured") and none.stderr.count("\n") == 1
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_KEY", "k1")
    first = runner.invoke(approvals_app, ["issue-token", "Alice"])
    assert first.exit_code == 0 and first.stdout.startswith("ws1a_")
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_KEY", "k2")
    assert runner.invoke(approvals_app, ["issue-token", "alice"]).stdout != first.stdout
    # The removed secret-hash setting is named, with its replacement, in one line.
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_SECRET_HASHES", '{"alice": "5e88"}')
    legacy = runner.invoke(approvals_app, ["issue-token", "alice"])
    assert legacy.exit_code == 2 and legacy.stderr.count("\n") == 1, legacy.output
    assert "APPROVER_SECRET_HASHES is no longer supported" in legacy.stderr
    assert "WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS" in legacy.stderr
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
        # Exit 0 because the flow accepted it, and the CLI says what the flow made of it.
        assert result.exit_code == 0, result.output
        assert (
            f"accepted by flow run {p.flow_run_id}: alice: approved 1 action(s); rejected 1" in result.stdout
        )

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
        submit = ["approve", p.flow_run_id, "--approver", "bob"]
        result = runner.invoke(approvals_app, submit, env={"WS1AI_APPROVER_TOKEN": tokens["bob"]})
        assert result.exit_code == 0, result.output

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


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    out = tmp_path / "carol.pem"
    result = runner.invoke(approvals_app, ["keygen", "Carol", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    [line] = result.stdout.splitlines()  # the line to add to the flow host's environment, nothing else
    name, _, value = line.partition("=")
    assert name == "WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS"
    assert list(json.loads(value.strip("'"))) == ["carol"]
    again = runner.invoke(approvals_app, ["keygen", "carol", "--out", str(out)])
    assert again.exit_code == 2 and "not overwriting" in again.stderr


def _keygen(tmp_path: Path, who: str) -> tuple[Path, dict[str, str]]:
    out = tmp_path / f"{who}.pem"
    result = runner.invoke(approvals_app, ["keygen", who, "--out", str(out)])
    assert result.exit_code == 0, result.output
    keys: dict[str, str] = json.loads(result.stdout.strip().partition("=")[2].strip("'"))
    return out, keys


@pytest.mark.prefect
def test_cli_reports_the_flows_verdict_and_exits_non_zero_when_refused(
    prefect_server: str,
    gov_settings: GovernanceSettings,
    tokens: dict[str, str],
    tmp_path: Path,
) -> None:
    """A two-person wipe decided from the terminal: every refusal is the flow's, reported with its reason
    and a non-zero exit; the Ed25519 path works with the right key file and only with it."""
    carol_key, carol_public = _keygen(tmp_path, "carol")
    dave_key, _ = _keygen(tmp_path, "dave")  # a valid key, not carol's
    settings = gov_settings.model_copy(update={"approver_public_keys": carol_public})
    store = MemoryAuditStore()
    wipe = Action(run_key="cli-2", kind=ActionKind.DEVICE_WIPE, targets=[21], rationale="stolen")
    executed: list[str] = []

    @flow(name="ws1ai-test-cli-verdict")
    def run() -> GovernanceReport:
        return govern(
            [wipe],
            lambda a: executed.append(a.correlation_id),
            store=store,
            settings=settings,
            mode=RolloutMode.APPROVE,
            title="cli verdict",
        )

    outputs: list[tuple[int, str]] = []

    def decide(*args: str, token: str | None = None) -> None:
        env = {"WS1AI_APPROVER_TOKEN": token} if token else {"WS1AI_APPROVER_TOKEN": ""}
        result = runner.invoke(approvals_app, list(args), env=env)
        outputs.append((result.exit_code, result.output))

    def approvers() -> None:
        p = wait_for_pending(title="cli verdict")
        run_id = p.flow_run_id
        decide("approve", run_id, "--approver", "alice", token=tokens["bob"])  # bob's token, alice's name
        decide("approve", run_id, "--approver", "alice", token=tokens["alice"])
        decide("approve", run_id, "--approver", "Alice", token=tokens["alice"])  # the same person again
        decide("approve", run_id, "--approver", "carol", "--key-file", str(dave_key))
        decide("approve", run_id, "--approver", "carol")  # no credential at all (no terminal to ask in)
        decide("approve", run_id, "--approver", "carol", "--key-file", str(carol_key))

    errors: list[BaseException] = []
    t = threading.Thread(target=_catching(approvers, errors), daemon=True)
    t.start()
    report = run()
    t.join(timeout=60)
    assert not errors, errors
    codes = [code for code, _ in outputs]
    assert codes == [1, 0, 1, 1, 2, 0], outputs
    texts = [text for _, text in outputs]
    assert "the flow refused the approve" in texts[0] and "'alice' is not signed with their token" in texts[0]
    assert "counted alice's approval of 1 action(s) that still need a second, distinct approver" in texts[1]
    assert "alice has already approved; a second, distinct approver is needed" in texts[2]
    assert "'carol' is not signed with their registered key" in texts[3]
    assert texts[4].startswith("error: no approver credential") and texts[4].count("\n") == 1
    assert "carol: approved 1 action(s)" in texts[5]
    assert report.approval.approved == [wipe] and report.approval.approvers[wipe.correlation_id] == [
        "alice",
        "carol",
    ]
    assert report.approval.refused == 3 and executed == [wipe.correlation_id]
