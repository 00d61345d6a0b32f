"""A flow process killed mid-run, then run again: no action repeated, none lost (real server, processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from prefect import flow
    from ws1ai.governance import (Action, ActionKind, GovernanceSettings, PrefectAuditStore,
                                  RolloutMode, govern)

    ledger, crash_after = Path(sys.argv[1]), int(sys.argv[2])
    settings = GovernanceSettings(audit_artifact_prefix="ws1ai-audit-crash")
    actions = [Action(run_key="crash-1", kind=ActionKind.TAG_ADD, targets=[i], payload={"tag_id": 1})
               for i in range(6)]

    def executor(action):
        done = ledger.read_text().splitlines() if ledger.exists() else []
        if len(done) == crash_after:
            os._exit(17)  # the process dies between two actions, with no chance to clean up
        with ledger.open("a") as f:
            f.write(action.correlation_id + "\\n")

    @flow(name="ws1ai-test-crash")
    def run():
        return govern(actions, executor, store=PrefectAuditStore(settings), settings=settings,
                      mode=RolloutMode.AUTO)

    report = run()
    print(json.dumps({"executed": len(report.execution.executed), "already": len(report.already_executed)}))
""")


@pytest.mark.prefect
@pytest.mark.slow
def test_killed_run_rerun_repeats_nothing_and_loses_nothing(prefect_server: str, tmp_path: Path) -> None:
    script, ledger = tmp_path / "crashing_flow.py", tmp_path / "ledger.txt"
    script.write_text(SCRIPT)
    env = {**os.environ, "PREFECT_API_URL": prefect_server}

    def run(crash_after: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), str(ledger), str(crash_after)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first = run(crash_after=3)
    assert first.returncode == 17, first.stderr[-2000:]
    assert len(ledger.read_text().splitlines()) == 3
    second = run(crash_after=-1)
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    # The 3 done before the crash are recognised from the audit trail; the in-doubt 4th (a tag: safe to
    # repeat, and in fact never applied) and the last two run now.
    assert summary == {"executed": 3, "already": 3}
    lines = ledger.read_text().splitlines()
    assert len(lines) == 6 and len(set(lines)) == 6


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from prefect import flow
    from tasks.actions import ActionExecutor
    from ws1ai.governance import (Action, ActionKind, GovernanceSettings, PrefectAuditStore,
                                  RolloutMode, govern)
    from ws1ai.uem import UEMClient

    device, kill = int(sys.argv[1]), sys.argv[2] == "kill"
    settings = GovernanceSettings()
    push = Action(run_key="sigkill-1", kind=ActionKind.MESSAGE_SEND, targets=[device],
                  payload={"body": "Your device will restart tonight", "channel": "push"}, rationale="update")

    @flow(name="ws1ai-test-sigkill")
    def run():
        with UEMClient() as uem:
            inner = ActionExecutor(uem)

            def executor(action):
                result = inner(action)
                if kill:
                    os.kill(os.getpid(), signal.SIGKILL)  # the push is applied; its result is never recorded
                return result

            return govern([push], executor, store=PrefectAuditStore(settings), settings=settings,
                          mode=RolloutMode.AUTO)

    report = run()
    print(json.dumps({"executed": report.execution.executed, "already": report.already_executed}))
""").replace("import os, signal, sys", "import json, os, signal, sys")


@pytest.mark.prefect
@pytest.mark.slow
def test_sigkill_mid_write_is_listed_in_doubt_and_resolved_by_a_command(
    prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx
    from typer.testing import CliRunner

    from tasks.actions import open_executor
    from ws1ai.governance.cli import EXECUTOR_FACTORY, audit_app
    from ws1ai.sandbox import SandboxState, create_app
    from ws1ai.sandbox.server import serve_in_background
    from ws1ai.settings import SandboxSettings

    state = SandboxState.seeded(devices=8, seed=3, days=2)
    device = sorted(state.devices)[0]
    script = tmp_path / "killed_flow.py"
    script.write_text(KILL_SCRIPT)
    app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url:
        env = {
            "PREFECT_API_URL": prefect_server,
            "WS1_BASE_URL": url,
            "WS1_TOKEN_URL": f"{url}/connect/token",
            "SERVICENOW_BASE_URL": url,
            "WS1AI_GOVERNANCE_AUDIT_ARTIFACT_PREFIX": "ws1ai-audit-sigkill",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)

        def pushes() -> int:
            entries = httpx.get(f"{url}/_sandbox/ledger", timeout=30).json()["entries"]
            return sum(1 for e in entries if e["operation"] == "Message.push")

        def run(mode: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, str(script), str(device), mode],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )

        killed = run("kill")
        assert killed.returncode == -9, killed.stderr[-2000:]
        assert pushes() == 1
        # A re-run does not send it again: the push is in doubt and a message is not safe to repeat.
        again = run("no-kill")
        assert again.returncode == 0, again.stderr[-2000:]
        assert json.loads(again.stdout.strip().splitlines()[-1]) == {"executed": [], "already": []}
        assert pushes() == 1

        cli = CliRunner()
        listed = cli.invoke(audit_app, ["in-doubt", "--json"])
        assert listed.exit_code == 0, listed.output
        (item,) = json.loads(listed.stdout)
        assert (
            item["kind"] == "message_send"
            and item["in_doubt_targets"] == [str(device)]
            and item["flow_run_id"]
        )
        human = cli.invoke(audit_app, ["in-doubt"])
        assert item["correlation_id"] in human.stdout and "ws1ai audit resolve" in human.stdout

        # A mark without a reason is refused; --verify reads the device's event log and settles it.
        refused = cli.invoke(audit_app, ["resolve", item["correlation_id"], "--mark-done"])
        assert refused.exit_code == 2
        resolved = cli.invoke(
            audit_app, ["resolve", item["correlation_id"], "--verify"], obj={EXECUTOR_FACTORY: open_executor}
        )
        assert resolved.exit_code == 0, resolved.output
        assert json.loads(resolved.stdout)["done"] == [str(device)]
        assert json.loads(cli.invoke(audit_app, ["in-doubt", "--json"]).stdout) == []
        final = run("no-kill")
        assert json.loads(final.stdout.strip().splitlines()[-1])["already"] == [item["correlation_id"]]
        assert pushes() == 1
