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
