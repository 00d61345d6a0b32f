"""An attacker who reads the Prefect API cannot reuse what an approver submitted.

The Prefect OSS API lets anyone on the host read a paused run's input. Before signed approval codes, polling
`/api/flow_runs/{id}/input/filter` captured every submitted approval, token included, and one captured token
later served as the second approval of an enterprise wipe. Here the attacker reads each submission off the
API with plain HTTP (at the worst moment for us: just before the gate deletes it) and replays it — to the
same run, to another paused run with another action set, and as the second approval of a two-person wipe.
Every replay is refused and recorded, and the sandbox tenant never receives a wipe.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prefect import flow, get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.flow_runs import resume_flow_run

from tasks.actions import ActionExecutor
from ws1ai.governance import approval as approval_module
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import Decision
from ws1ai.governance.approval_code import HmacSigner
from ws1ai.governance.audit import AuditStatus, MemoryAuditStore, flush_events
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, govern
from ws1ai.governance.resume import (
    PendingApproval,
    approval_code_for,
    submit_decision,
    wait_for_pending,
    wait_for_verdict,
)
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import AuthMode, SandboxSettings, UEMSettings
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


@pytest.fixture
def sandbox_state() -> SandboxState:
    return SandboxState.seeded(devices=8, seed=11, days=3)


@pytest.fixture
def sandbox(sandbox_state: SandboxState) -> Iterator[httpx.Client]:
    app = create_app(sandbox_state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as control:
        yield control


def _uem_settings(sandbox: httpx.Client) -> UEMSettings:
    url = str(sandbox.base_url).rstrip("/")
    return UEMSettings(  # type: ignore[call-arg]
        _env_file=None,  # the tenant is this sandbox, whatever a local .env says
        base_url=url,
        token_url=f"{url}/connect/token",
        auth_mode=AuthMode.BASIC,
        rate_limit_per_minute=60_000,
        daily_quota_reserve=0,
    )


def _writes(sandbox: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = sandbox.get("/_sandbox/ledger").json()["entries"]
    return entries


class Attacker:
    """Reads submitted approvals off the Prefect API with plain HTTP and replays them, like anyone on the host
    could. `watch` makes the gate's clean-up wait for this read, so the capture never depends on winning a
    race (which the issue measured at 15 of 15 with a 100 ms poll anyway)."""

    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")
        self.captured: dict[str, list[dict[str, Any]]] = {}

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        # A busy SQLite server answers 503 ("database is locked") now and then; Prefect's own client retries
        # those, and so does a patient attacker.
        for _ in range(20):
            r = httpx.post(f"{self.api}{path}", json=body, timeout=30)
            if r.status_code < 500:
                break
            time.sleep(0.5)
        r.raise_for_status()
        return r.json()

    def read_responses(self, flow_run_id: str) -> None:
        body = {"prefix": "paused-", "limit": 50, "exclude_keys": []}
        found = self._post(f"/flow_runs/{flow_run_id}/input/filter", body)
        for item in found:
            if item["key"].endswith("-response"):
                self.captured.setdefault(flow_run_id, []).append(json.loads(item["value"]))

    def watch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = approval_module.delete_input

        def read_first(flow_run_id: uuid.UUID, key: str) -> None:
            if key.endswith("-response"):
                self.read_responses(str(flow_run_id))
            real(flow_run_id, key)

        monkeypatch.setattr(approval_module, "delete_input", read_first)

    def replay(self, flow_run_id: str, form: dict[str, Any]) -> None:
        result = self._post(f"/flow_runs/{flow_run_id}/resume", {"run_input": form})
        assert result["status"] == "ACCEPT", result  # the run took it: the gate is what must refuse it


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # reported by the test
            out["error"] = exc

    t = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    t.start()
    return t, out


def _next_round(title: str, after: PendingApproval) -> PendingApproval:
    return wait_for_pending(title=title, after_round=after.request.round, timeout=60)


def _refusals(flow_run_id: str, expected: int) -> list[str]:
    """The `ws1ai.approval.refused` events of one run (events are persisted asynchronously)."""
    flush_events()
    reasons: list[str] = []
    with get_client(sync_client=True) as client:
        for _ in range(60):
            page = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=["ws1ai.approval.refused"]),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                ),
                limit=50,
            )
            reasons = [str(e.payload["reason"]) for e in page.events]
            if len(reasons) >= expected:
                break
            time.sleep(0.5)
    return reasons


def test_captured_approvals_are_worthless_for_replay(
    prefect_server: str,
    gov_settings: GovernanceSettings,
    tokens: dict[str, str],
    sandbox_state: SandboxState,
    sandbox: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attacker = Attacker(prefect_server)
    attacker.watch(monkeypatch)
    uem_settings = _uem_settings(sandbox)
    wiped, locked = sorted(sandbox_state.devices)[:2]
    run_key = f"replay-{uuid.uuid4().hex[:8]}"
    wipe = Action(run_key=run_key, kind=ActionKind.ENTERPRISE_WIPE, targets=[wiped], rationale="leaver")
    lock = Action(run_key=run_key, kind=ActionKind.DEVICE_LOCK, targets=[locked], rationale="lost")
    store_a, store_b = MemoryAuditStore(), MemoryAuditStore()

    def governed(action: Action, store: MemoryAuditStore, title: str) -> GovernanceReport:
        @flow(name=f"ws1ai-test-{title}")
        def run() -> GovernanceReport:
            with UEMClient(uem_settings) as uem:
                return govern(
                    [action],
                    ActionExecutor(uem),
                    store=store,
                    settings=gov_settings,
                    mode=RolloutMode.APPROVE,
                    title=title,
                )

        return run()

    thread_a, out_a = _in_thread(lambda: governed(wipe, store_a, "replay-wipe"))
    thread_b, out_b = _in_thread(lambda: governed(lock, store_b, "replay-lock"))
    a = wait_for_pending(title="replay-wipe", timeout=120)
    b = wait_for_pending(title="replay-lock", timeout=120)

    # bob gives the wipe its first approval; the attacker reads his submission off the API.
    nonce = submit_decision(
        a.flow_run_id, approver="bob", credential=tokens["bob"], decision=Decision.APPROVE
    )
    assert "second, distinct approver" in wait_for_verdict(a.flow_run_id, nonce).reason
    [bobs] = attacker.captured[a.flow_run_id]
    assert bobs["approver"] == "bob" and bobs["approval_code"].count(".") == 1  # what the attacker holds
    a = _next_round("replay-wipe", a)

    # (a) bob's submission again, to the same run: refused.
    attacker.replay(a.flow_run_id, bobs)
    a = _next_round("replay-wipe", a)
    assert "approval code was already used" in a.request.note
    # (b) bob's submission to another paused run, with another action set: refused.
    attacker.replay(b.flow_run_id, bobs)
    b = _next_round("replay-lock", b)
    assert "approval code was made for another flow run" in b.request.note

    # alice approves the lock (so approved writes do reach this tenant); the attacker captures that too ...
    nonce = submit_decision(
        b.flow_run_id, approver="alice", credential=tokens["alice"], decision=Decision.APPROVE
    )
    assert wait_for_verdict(b.flow_run_id, nonce).verdict == "accepted"
    thread_b.join(timeout=120)
    alices = attacker.captured[b.flow_run_id][-1]
    assert alices["approver"] == "alice"
    # (c) ... and replays it as the wipe's second approval: refused, the wipe still has only bob's.
    attacker.replay(a.flow_run_id, alices)
    a = _next_round("replay-wipe", a)
    assert "approval code was made for another flow run" in a.request.note
    assert a.request.items[0].approvals == ["bob"]

    # The wipe ends the only way left to it: bob rejects it.
    submit_decision(a.flow_run_id, approver="bob", credential=tokens["bob"], decision=Decision.REJECT)
    thread_a.join(timeout=120)
    assert "error" not in out_a and "error" not in out_b, (out_a, out_b)
    report_a, report_b = out_a["value"], out_b["value"]
    assert report_a.approval.rejected == [wipe] and report_a.approval.approved == []
    assert report_a.approval.refused == 2 and report_b.approval.refused == 1
    assert report_b.approval.approved == [lock]

    # The tenant: the approved lock arrived, no wipe ever did.
    operations = [(e["operation"], [str(d) for d in e["device_ids"]]) for e in _writes(sandbox)]
    assert ("Command.Lock", [str(locked)]) in operations, operations
    assert not [op for op, _ in operations if "Wipe" in op], operations
    # The audit trail and the event feed record the refusals; the wipe is rejected, by bob alone.
    [rejected] = [r for r in store_a.records if r.status is AuditStatus.REJECTED]
    assert rejected.approvers == ("bob",)
    assert not [r for r in store_a.records if r.status in (AuditStatus.APPROVED, AuditStatus.EXECUTED)]
    reasons_a = _refusals(a.flow_run_id, 2)
    assert sorted(reasons_a) == [
        "approval code was already used",
        "approval code was made for another flow run",
    ], reasons_a
    assert _refusals(b.flow_run_id, 1) == ["approval code was made for another flow run"]


def test_expired_and_redirected_codes_are_refused(
    prefect_server: str, gov_settings: GovernanceSettings, tokens: dict[str, str]
) -> None:
    store = MemoryAuditStore()
    tag = Action(run_key="replay-2", kind=ActionKind.TAG_ADD, targets=[31], payload={"tag_id": 4})
    executed: list[str] = []

    @flow(name="ws1ai-test-replay-expiry")
    def run() -> GovernanceReport:
        return govern(
            [tag],
            lambda a: executed.append(a.correlation_id),
            store=store,
            settings=gov_settings,
            mode=RolloutMode.APPROVE,
            title="replay-expiry",
        )

    def submit(p: PendingApproval, code: str, decision: Decision) -> str:
        form = {"decision": decision.value, "approver": "alice", "approval_code": code, "decisions": {}}
        resume_flow_run(uuid.UUID(p.flow_run_id), run_input=form, _sync=True)  # type: ignore[call-arg]
        return wait_for_verdict(p.flow_run_id, code_nonce[code]).reason

    code_nonce: dict[str, str] = {}

    def code_for(p: PendingApproval, decision: Decision, ttl: int | None = None) -> str:
        code, payload = approval_code_for(
            p.request,
            approver="alice",
            signer=HmacSigner(tokens["alice"]),
            decision=decision,
            ttl_seconds=ttl,
        )
        code_nonce[code] = payload.nonce
        return code

    thread, out = _in_thread(run)
    p = wait_for_pending(title="replay-expiry", timeout=120)
    # A code past its expiry (signed to expire a minute ago) is refused.
    assert "approval code expired at" in submit(p, code_for(p, Decision.APPROVE, ttl=-60), Decision.APPROVE)
    p = _next_round("replay-expiry", p)
    # A code signed for "reject" cannot be turned into an approval by editing the form (nor the reverse).
    reason = submit(p, code_for(p, Decision.REJECT), Decision.APPROVE)
    assert reason == "the code was signed for reject but the form says approve"
    p = _next_round("replay-expiry", p)
    reason = submit(p, code_for(p, Decision.APPROVE), Decision.REJECT)
    assert reason == "the code was signed for approve but the form says reject"
    p = _next_round("replay-expiry", p)
    # A code made for an earlier round of the same request is refused too (even one never submitted).
    stale = code_for(p, Decision.APPROVE)
    assert "approval code expired at" in submit(p, code_for(p, Decision.APPROVE, ttl=-1), Decision.APPROVE)
    p = _next_round("replay-expiry", p)
    assert "earlier round" in submit(p, stale, Decision.APPROVE)
    p = _next_round("replay-expiry", p)
    assert submit(p, code_for(p, Decision.APPROVE), Decision.APPROVE) == "alice: approved 1 action(s)"
    thread.join(timeout=60)
    assert "error" not in out, out
    assert out["value"].approval.refused == 5
    assert executed == [tag.correlation_id]
