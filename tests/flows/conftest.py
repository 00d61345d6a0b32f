"""Flow fixtures: a real Prefect server, a sandbox tenant on a real loopback socket, and an approver.

Flows build their clients from the environment exactly as in production, so the tests point the environment
at the sandbox (only settings change, as against a real tenant) and approve through the same resume API the
Prefect UI uses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ws1ai.governance.approval import Decision
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.resume import submit_decision, wait_for_pending
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import SandboxSettings

APPROVER_KEY = "flows-test-approver-key"
FLEET_DEVICES = 600


@pytest.fixture(scope="session")
def sandbox_state() -> SandboxState:
    return SandboxState.seeded(devices=FLEET_DEVICES, seed=23, days=60)


@pytest.fixture(scope="session")
def sandbox_url(sandbox_state: SandboxState) -> Iterator[str]:
    app = create_app(sandbox_state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url:
        yield url


@pytest.fixture
def tenant(
    sandbox_url: str,
    sandbox_state: SandboxState,
    prefect_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[httpx.Client]:
    """Environment pointing every client at the sandbox; yields an httpx client for `/_sandbox` checks."""
    sandbox_state.reset()
    env = {
        "WS1_BASE_URL": sandbox_url,
        "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
        "WS1_RATE_LIMIT_PER_MINUTE": "100000",
        "SERVICENOW_BASE_URL": sandbox_url,
        "HRIS_BASE_URL": f"{sandbox_url}/hris",
        "WS1AI_GOVERNANCE_APPROVER_KEY": APPROVER_KEY,
        "WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS": "1",
        "WS1AI_GOVERNANCE_REMINDER_BEFORE_SECONDS": "[]",
        # This worker allows every mode, so tests choose theirs; test_mode_ceiling.py sets a lower ceiling.
        "WS1AI_GOVERNANCE_MAX_MODE": "auto",
        # Tests keep their model, candidate and bundle files in pytest's temporary folders.
        "WS1AI_ALLOWED_DIRS": str(tmp_path_factory.getbasetemp()),
        # The sandbox has 60 days of usage: licence tests choose a shorter idle period than the default floor.
        "WS1AI_RECLAIM_MIN_IDLE_DAYS": "30",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with httpx.Client(base_url=sandbox_url, timeout=30) as control:
        yield control


def ledger(control: httpx.Client) -> list[dict[str, Any]]:
    body = control.get("/_sandbox/ledger").json()
    return list(body["entries"] if isinstance(body, dict) else body)


def tenant_writes(control: httpx.Client, since: int = 0) -> list[dict[str, Any]]:
    """Ledger entries from `since` on: every change to the tenant (the sandbox ledgers nothing else; report
    export runs, POSTs that change nothing, show only in `/_sandbox/requests`)."""
    return ledger(control)[since:]


def token_for(approver: str) -> str:
    settings = GovernanceSettings(approver_key=APPROVER_KEY)  # type: ignore[arg-type]
    return ApproverVerifier(settings).issue_token(approver)


@pytest.fixture
def approve_in_background() -> Iterator[Callable[..., threading.Thread]]:
    """Start a thread that waits for the flow's approval request and answers it (like a human in the UI).

    The thread belongs to the test that started it: it stops at the test's end even if no request came (a
    run that had nothing to approve), so it can never answer the next test's approval.
    """
    threads: list[threading.Thread] = []
    stop = threading.Event()

    def start(
        decision: Decision = Decision.APPROVE, approvers: tuple[str, ...] = ("alice",)
    ) -> threading.Thread:
        def answer() -> None:
            round_no = 0
            for who in approvers:
                while not stop.is_set():
                    try:
                        pending = wait_for_pending(after_round=round_no, timeout=1.0)
                    except TimeoutError:
                        continue
                    round_no = pending.request.round
                    submit_decision(
                        pending.flow_run_id, approver=who, credential=token_for(who), decision=decision
                    )
                    break

        thread = threading.Thread(target=answer, daemon=True, name="test-approver")
        thread.start()
        threads.append(thread)
        return thread

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
