"""Exactly once when a failure is ambiguous, against a sandbox tenant on a socket and a real Prefect server.

Faults are the sandbox's own (`/_sandbox/faults`): `drop_after` applies the write and loses the response; a
`5xx` answers before the write. The sandbox ledger counts every write the tenant received.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect import flow

from tasks.actions import ActionExecutor
from ws1ai.governance.actions import Action, ActionKind, RiskTier
from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, RollbackReport, govern, rollback
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import SandboxSettings
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def sandbox_state() -> SandboxState:
    return SandboxState.seeded(devices=30, seed=11, days=3)


@pytest.fixture(scope="module")
def sandbox_url(sandbox_state: SandboxState) -> Iterator[str]:
    app = create_app(sandbox_state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url:
        yield url


@pytest.fixture
def tenant(
    sandbox_url: str, sandbox_state: SandboxState, prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    """Clients built from the environment point at the sandbox; each test has its own audit trail."""
    sandbox_state.reset()
    monkeypatch.setenv("WS1_BASE_URL", sandbox_url)
    monkeypatch.setenv("WS1_TOKEN_URL", f"{sandbox_url}/connect/token")
    monkeypatch.setenv("WS1_RATE_LIMIT_PER_MINUTE", "100000")
    monkeypatch.setenv("SERVICENOW_BASE_URL", sandbox_url)
    with httpx.Client(base_url=sandbox_url, timeout=30) as control:
        yield control


@pytest.fixture
def settings(gov_settings: GovernanceSettings) -> GovernanceSettings:
    return gov_settings.model_copy(update={"audit_artifact_prefix": f"ws1ai-audit-x1-{uuid.uuid4().hex[:8]}"})


def _writes(control: httpx.Client, operation: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = control.get("/_sandbox/ledger").json()["entries"]
    return [e for e in entries if e["operation"] == operation]


def _fault(control: httpx.Client, **spec: object) -> None:
    control.post("/_sandbox/faults", json=spec).raise_for_status()


def _govern(actions: list[Action], settings: GovernanceSettings) -> GovernanceReport:
    @flow(name="ws1ai-test-exactly-once")
    def run() -> GovernanceReport:
        with UEMClient() as uem:
            return govern(
                actions,
                ActionExecutor(uem),
                store=PrefectAuditStore(settings),
                settings=settings,
                mode=RolloutMode.AUTO,
            )

    return run()


def _rollback(cids: list[str], settings: GovernanceSettings) -> RollbackReport:
    @flow(name="ws1ai-test-exactly-once-rollback")
    def run() -> RollbackReport:
        with UEMClient() as uem:
            return rollback(
                cids,
                ActionExecutor(uem),
                store=PrefectAuditStore(settings),
                settings=settings,
                mode=RolloutMode.AUTO,
            )

    return run()


def test_a_push_whose_response_was_lost_is_never_sent_again(
    tenant: httpx.Client, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    device = sorted(sandbox_state.devices)[0]

    def push(run_key: str) -> Action:
        return Action(
            run_key=run_key,
            kind=ActionKind.MESSAGE_SEND,
            targets=[device],
            payload={"body": "Please restart your device today", "channel": "push"},
            rationale="pending OS update",
        )

    # The write is applied, the response never arrives — ten times over if anything tried again.
    _fault(tenant, route="messages/push", kind="drop_after", count=10)
    first = _govern([push("push-1")], settings)
    assert push("push-1").correlation_id in first.execution.in_doubt
    assert len(_writes(tenant, "Message.push")) == 1
    # Re-runs: the same run key five times, then five caller-chosen run keys (same content).
    reports = [_govern([push("push-1")], settings) for _ in range(5)]
    reports += [_govern([push(f"attacker-{i}")], settings) for i in range(5)]
    assert len(_writes(tenant, "Message.push")) == 1  # 0 duplicates at the tenant
    # The first re-run read the device's event log back and recorded the push done; later ones skip it.
    assert reports[0].execution.executed == [push("push-1").correlation_id]
    assert all(r.already_executed for r in reports[1:5])
    assert all("not repeated: the same message_send" in str(r.execution.skipped) for r in reports[5:])
    records = PrefectAuditStore(settings).read(run_keys={"push-1"})
    (done,) = [r for r in records if r.status is AuditStatus.EXECUTED]
    assert "verified against the tenant" in (done.detail or "")


def test_a_failed_device_note_leaves_the_uninstall_done_and_rollback_reinstalls(
    tenant: httpx.Client, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    app_id, devices = next(
        (a, sorted(sandbox_state.app_installs.devices_of(a))[:4])
        for a in sorted(sandbox_state.apps)
        if len(sandbox_state.app_installs.devices_of(a)) >= 4
    )
    uninstall = Action(
        run_key="reclaim-1",
        kind=ActionKind.APP_UNINSTALL,
        targets=devices,
        payload={"app_id": app_id, "app_kind": sandbox_state.apps[app_id]["kind"]},
        rationale="unused for 90 days",
    )
    # Licences are reclaimed without a gate here (re-tiered low): this test is about execution, not approval.
    low = {ActionKind.APP_UNINSTALL: RiskTier.LOW, ActionKind.APP_INSTALL: RiskTier.LOW}
    settings = settings.model_copy(update={"tier_overrides": low})
    # Every device note answers 500 (the last step of the old executor, which then called it all failed).
    _fault(tenant, route="/notes", kind="5xx", status=500, count=10, method="POST")
    first = _govern([uninstall], settings)
    assert first.execution.executed == [uninstall.correlation_id]
    assert uninstall.correlation_id in first.execution.note_failures
    for _ in range(3):
        _govern([uninstall], settings)
    assert len(_writes(tenant, "App.Uninstall")) == len(devices)  # 0 duplicate writes
    assert not any(sandbox_state.app_installs.has(d, app_id) for d in devices)
    undo = _rollback([uninstall.correlation_id], settings)
    assert undo.rolled_back == [uninstall.correlation_id]
    installs = _writes(tenant, "App.Install")
    assert sorted(d for e in installs for d in e["device_ids"]) == devices
    assert all(sandbox_state.app_installs.has(d, app_id) for d in devices)


def test_a_partial_write_records_the_done_devices_and_a_rerun_writes_only_the_rest(
    tenant: httpx.Client, sandbox_state: SandboxState, settings: GovernanceSettings
) -> None:
    devices = sorted(sandbox_state.devices)[:5]
    stuck = devices[2]
    attribute = Action(
        run_key="attr-1",
        kind=ActionKind.CUSTOM_ATTRIBUTE_SET,
        targets=devices,
        payload={"name": "ws1ai_lifecycle", "value": "pending-replacement"},
        prior={"previous_value": ""},
        rationale="battery failing",
    )
    # The third device's write is refused with 503 (the tenant did not act) for as long as the client retries.
    _fault(tenant, route=f"devices/{stuck}/customattributes", kind="5xx", status=503, count=50, retry_after=0)
    first = _govern([attribute], settings)
    assert attribute.correlation_id in first.execution.partial
    written = [d for e in _writes(tenant, "SetCustomAttributes") for d in e["device_ids"]]
    assert written == devices[:2]
    tenant.delete("/_sandbox/faults").raise_for_status()
    second = _govern([attribute], settings)
    assert second.execution.executed == [attribute.correlation_id]
    written = [d for e in _writes(tenant, "SetCustomAttributes") for d in e["device_ids"]]
    assert sorted(written) == devices  # every device exactly once
    # Rollback of a partial action undoes the done devices only: here all of them, after the re-run.
    assert _rollback([attribute.correlation_id], settings).rolled_back == [attribute.correlation_id]


def test_a_run_with_a_failed_or_in_doubt_action_ends_failed(
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    settings: GovernanceSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows._govern import govern_and_act

    monkeypatch.setenv("WS1AI_GOVERNANCE_AUDIT_ARTIFACT_PREFIX", settings.audit_artifact_prefix)
    monkeypatch.setenv("WS1AI_GOVERNANCE_MAX_MODE", "auto")
    device = sorted(sandbox_state.devices)[1]
    no_such_tag = Action(
        run_key="fail-1", kind=ActionKind.TAG_ADD, targets=[device], payload={"tag_id": 987654}
    )
    push = Action(
        run_key="fail-1",
        kind=ActionKind.MESSAGE_SEND,
        targets=[device],
        payload={"body": "Hello", "channel": "push"},
    )

    @flow(name="ws1ai-test-failed-run")
    def run(actions: list[Action]) -> Any:
        return govern_and_act(actions, title="failing run", mode=RolloutMode.AUTO)

    failed = run([no_such_tag], return_state=True)
    assert failed.is_failed() and (failed.message or "").startswith("1 action(s) failed"), failed
    _fault(tenant, route="messages/push", kind="drop_after", count=1)
    doubtful = run([push], return_state=True)
    assert doubtful.is_failed() and "1 in doubt" in (doubtful.message or ""), doubtful
    assert "ws1ai audit in-doubt" in (doubtful.message or "")
