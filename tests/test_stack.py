"""The README's main job (`ws1ai stack`, what `make run` runs), used as the README says: from a second shell.

Everything is real: a Prefect server in a child process (requiring its per-start password), the sandbox and
the webhook receiver on loopback sockets, deployments served from prefect.yaml, and a Workspace ONE event that
ends in a paused run. A separate process whose environment holds nothing about the stack (no PREFECT_API_URL)
then runs the commands the stack printed, verbatim, plus an audit export and a rollback, and a forged event
without the password is refused.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ws1ai.net import free_port
from ws1ai.stack_env import read_env_file

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS = (
    "compliance-triage-on-event",
    "offboarding-on-leave",
    "predictive-health-weekly",
    "license-reclamation-monthly",
    "onboarding-daily",
)


def _clean_env() -> dict[str, str]:
    """An environment with nothing about a stack (no PREFECT_*, WS1*, tenant URLs)."""
    drop = ("PREFECT_", "WS1", "SERVICENOW_", "HRIS_", "DO_NOT_TRACK")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _shell_env(env_file: Path) -> dict[str, str]:
    """A second shell's: only where the stack left its env file (this test's own, so a developer's running
    stack and this one never share .ws1ai/stack.env)."""
    return {**_clean_env(), "WS1AI_ENV_FILE": str(env_file)}


def forged_event(name: str = "ws1.device.compliance-changed") -> list[dict[str, object]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": name,
            "resource": {"prefect.resource.id": "ws1.device.10002"},
            "payload": {"ComplianceStatus": "NonCompliant"},
        }
    ]


class Stack:
    """`ws1ai stack` in a child process; its output collected line by line as it comes."""

    def __init__(self, ports: list[int], state: Path) -> None:
        self.ports = ports
        self.env_file = state / "stack.env"
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "ws1ai.cli", "stack", "--devices", "400"),
                *("--prefect-port", str(ports[0]), "--sandbox-port", str(ports[1])),
                *("--webhook-port", str(ports[2]), "--state-dir", str(state)),
            ],
            cwd=ROOT,
            env={
                **_shell_env(self.env_file),  # where to leave it: the stack writes WS1AI_ENV_FILE
                "WS1AI_WEBHOOK_STATE_DIR": str(state / "webhook"),
                "WS1AI_DEMO_SETTLE_SECONDS": "600",  # a busy CI machine: let every demo run settle
                "COLUMNS": "200",
                "PYTHONUNBUFFERED": "1",  # lines as they are printed
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the stack's output:\n{self.output[-4000:]}")
            time.sleep(1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as a person stops it
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack([free_port() for _ in range(3)], tmp_path / "state")
    try:
        yield running
    finally:
        running.stop()


def _run(command: str, env_file: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """A printed command, pasted into a second shell at the project root (leading VAR=value words are
    environment assignments, as in a shell)."""
    words = shlex.split(command)
    env = _shell_env(env_file)
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _ws1ai(env_file: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ws1ai.cli", *args],
        cwd=ROOT,
        env=_shell_env(env_file),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _paused_rollbacks(api: str, password: str) -> list[str]:
    """Ids of `ws1ai rollback` runs waiting for approval (straight from the API: a CLI call costs seconds)."""
    auth = {"Authorization": "Basic " + base64.b64encode(password.encode()).decode()}
    body = {
        "flows": {"name": {"any_": ["ws1ai-rollback"]}},
        "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
        "limit": 10,
    }
    response = httpx.post(f"{api}/flow_runs/filter", json=body, headers=auth, timeout=10)
    response.raise_for_status()
    return [run["id"] for run in response.json()]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a whole stack, then a second shell's commands, each a fresh process
def test_a_second_shell_lists_approves_and_rolls_back_through_what_the_stack_left(stack: Stack) -> None:
    stack.wait_for("demo approver token derived")  # the line after the printed commands
    out = stack.output
    assert "A triggered run is waiting for your approval" in out, out[-3000:]
    assert f"http://127.0.0.1:{stack.ports[0]}/runs/flow-run/" in out
    for deployment in DEPLOYMENTS:  # the blueprints ran (two through events, three started now)
        assert deployment in out, f"{deployment} did not run:\n{out[-3000:]}"

    # What the stack left for other shells: an owner-only env file with the server's password.
    env_file = stack.env_file
    assert env_file.stat().st_mode & 0o777 == 0o600
    left = read_env_file(env_file)
    api = left["PREFECT_API_URL"]
    assert api == f"http://127.0.0.1:{stack.ports[0]}/api" and left["WS1AI_GOVERNANCE_MAX_MODE"] == "approve"
    assert len(left["PREFECT_API_AUTH_STRING"]) >= 32

    # The Prefect API refuses anyone without the password: a forged Workspace ONE event gets 401.
    forged = httpx.post(f"{api}/events", json=forged_event(), timeout=10)
    assert forged.status_code == 401, forged.text
    assert httpx.post(f"{api}/flow_runs/filter", json={"limit": 1}, timeout=10).status_code == 401

    # The commands the stack printed, each on one line, run verbatim from a second shell.
    commands = [line.split("CLI:", 1)[1].strip() for line in stack.lines if line.strip().startswith("CLI:")]
    listing = next(c for c in commands if c.endswith("approvals list"))
    approve = next(c for c in commands if " approvals approve " in c)
    run_id = shlex.split(approve)[shlex.split(approve).index("approve") + 1]

    listed = _run(listing, env_file)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert run_id in listed.stdout and "database is locked" not in listed.stderr

    approved = _run(approve, env_file)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "accepted" in approved.stdout, approved.stdout + approved.stderr

    # The approved action was executed; the audit trail (read back from Prefect) says so, and rolling it
    # back from the second shell either waits for approval (rejected here: exit 1) or says it cannot be
    # undone (exit 2) — never a silent success.
    executed: list[str] = []
    deadline = time.monotonic() + 180
    while not executed and time.monotonic() < deadline:
        export = _ws1ai(env_file, "audit", "export", "--since", "1h")
        assert export.returncode == 0, export.stderr
        rows = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
        executed = [r["correlation_id"] for r in rows if r.get("status") == "executed"]
        time.sleep(0 if executed else 2)
    assert executed, "the approved action was never executed"

    token_env = shlex.split(approve)[0]  # WS1AI_APPROVER_TOKEN=… as printed
    rollback = subprocess.Popen(
        [sys.executable, "-m", "ws1ai.cli", "rollback", executed[0]],
        cwd=ROOT,
        env=_shell_env(env_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while rollback.poll() is None and time.monotonic() < deadline:
        waiting = _paused_rollbacks(api, left["PREFECT_API_AUTH_STRING"])
        if waiting:
            reject = f"{token_env} {sys.executable} -m ws1ai.cli approvals reject {waiting[0]}"
            rejected = _run(f"{reject} --approver demo-admin", env_file)
            assert rejected.returncode == 0, rejected.stdout + rejected.stderr
            break
        time.sleep(1)
    stdout, stderr = rollback.communicate(timeout=180)
    report = json.loads(stdout[stdout.index("{") :])
    if report["irreversible"]:
        assert rollback.returncode == 2, stderr
    else:
        assert rollback.returncode == 1, stdout + stderr
        assert f"not rolled back: {executed[0]}" in stderr and report["rolled_back"] == []
    assert "no approver identities" not in stderr

    # Ctrl-C stops everything it started and takes the env file (and its password) with it.
    assert stack.stop() == 0, stack.output[-3000:]
    assert not env_file.exists()
    for port in stack.ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


@pytest.mark.slow
def test_the_stacks_prefect_server_refuses_forged_events_without_its_password(tmp_path: Path) -> None:
    """The server as the stack starts it (same function): an event without credentials is refused, over HTTP
    and over the events websocket, and never stored; with the password the same call works."""
    from deployments.stack import prefect_server

    password = "per-start-secret"
    auth = {"Authorization": "Basic " + base64.b64encode(password.encode()).decode()}
    with prefect_server(free_port(), tmp_path / "prefect", auth_string=password) as api:
        refused = forged_event()
        assert httpx.post(f"{api}/events", json=refused, timeout=10).status_code == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"guess").decode()}
        assert httpx.post(f"{api}/events", json=refused, headers=wrong, timeout=10).status_code == 401
        assert _websocket_refused(api, refused[0])

        accepted = forged_event("ws1.test.authorised")
        assert httpx.post(f"{api}/events", json=accepted, headers=auth, timeout=10).status_code == 204
        # Events are persisted in arrival order: once the authorised one is readable, the forged one would be.
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while accepted[0]["id"] not in seen and time.monotonic() < deadline:
            page = httpx.post(f"{api}/events/filter", json={"limit": 50}, headers=auth, timeout=10)
            assert page.status_code == 200, page.text
            seen = {e["id"] for e in page.json()["events"]}
            time.sleep(0.5)
        assert accepted[0]["id"] in seen and refused[0]["id"] not in seen

        # Offline by design: the server reports no usage (else a "Failed to send telemetry" ERROR per run).
        settings = httpx.get(f"{api}/admin/settings", headers=auth, timeout=10)
        assert settings.status_code == 200 and settings.json()["server"]["analytics_enabled"] is False


def _websocket_refused(api: str, event: dict[str, object]) -> bool:
    """Whether /api/events/in refuses a client without the password (legacy and auth handshakes alike)."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    url = api.replace("http://", "ws://") + "/events/in"
    try:  # legacy clients (no "prefect" subprotocol) are closed when the server has a password
        with connect(url, open_timeout=10) as ws:
            ws.send(json.dumps(event))
            ws.recv(timeout=10)
        return False
    except InvalidStatus as exc:  # refused before the upgrade
        assert exc.response.status_code in (401, 403)
    except ConnectionClosed:
        pass
    try:  # the auth handshake with a wrong token
        with connect(url, subprotocols=["prefect"], open_timeout=10) as ws:  # type: ignore[list-item]
            ws.send(json.dumps({"type": "auth", "token": "guess"}))
            ws.send(json.dumps(event))
            ws.recv(timeout=10)
        return False
    except InvalidStatus as exc:
        return exc.response.status_code in (401, 403)
    except ConnectionClosed:
        return True
