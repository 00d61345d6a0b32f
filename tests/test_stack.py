"""The README's main job (`ws1ai stack`, what `make run` runs) works from a clean state and stops cleanly.

Everything is real: a Prefect server in a child process, the sandbox and the webhook receiver on loopback
sockets, deployments served from prefect.yaml, and a Workspace ONE event that ends in a paused run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_stack_runs_the_blueprints_reaches_a_paused_run_and_exits_cleanly(tmp_path: Path) -> None:
    ports = [_free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WS1"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ws1ai.cli",
            "stack",
            "--devices",
            "400",
            "--exit-after-demo",
            "--prefect-port",
            str(ports[0]),
            "--sandbox-port",
            str(ports[1]),
            "--webhook-port",
            str(ports[2]),
        ],
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "A triggered run is waiting for your approval" in out, out[-3000:]
    assert f"http://127.0.0.1:{ports[0]}/runs/flow-run/" in out
    assert "ws1ai approvals approve" in out
    # The four blueprints ran on the sandbox (two through Workspace ONE / HRIS events, three started now).
    for deployment in (
        "compliance-triage-on-event",
        "offboarding-on-leave",
        "predictive-health-weekly",
        "license-reclamation-monthly",
        "onboarding-daily",
    ):
        assert deployment in out, f"{deployment} did not run:\n{out[-3000:]}"
    # Every server it started is gone: nothing listens on its ports (closed connections may linger in
    # TIME_WAIT, which SO_REUSEADDR allows; a live listener would still make bind fail).
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
