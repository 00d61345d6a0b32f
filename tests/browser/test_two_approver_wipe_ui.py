"""The two-person rule in a real browser: an offboarding's enterprise wipe, approved in the Prefect UI form.

A leaver's offboarding (tests/flows/test_offboarding.py's ACTIVE_LEAVER: one corporate device with paid apps)
runs in approve mode and pauses; every decision below is typed into the form Prefect generated from
`ApprovalInput`, in headless Debian Chromium, in the React UI at /v2, each with a fresh code printed by
`ws1ai approvals code` for that round:

1. alice approves → the run pauses again with only the wipe left, "1/2 (alice)", and the sandbox's ledger has
   no write at all (in approve mode nothing executes until the whole request is decided; above all, no wipe);
2. alice submits again → refused ("already approved"), the wipe still has one approval, still no write;
3. bob approves → the wipe executes exactly once, on the leaver's device, and its audit record names both.

One UI only: the offboarding's correlation ids are deterministic, so a second run on the same server would
find the wipe already executed. tests/browser/test_approval_ui.py covers both UIs' forms.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    BROWSER_TEST,
    approval_code,
    await_flow_completed,
    fill_approval_form,
    open_approval_form,
    reject_paused_run,
    start_flow_in_thread,
)
from tests.flows.conftest import tenant_writes, token_for
from tests.flows.test_offboarding import ACTIVE_LEAVER, _leaver_facts

pytestmark = BROWSER_TEST

UI = "v2"
FIRST, SECOND = "alice", "bob"
FIRST_COMMENT = "leaver confirmed by HR (first approver, in the browser)"
SECOND_COMMENT = "device not returned; wipe confirmed (second approver, in the browser)"
SCREENSHOT = ARTIFACTS / "two-approver-wipe-second-approval.png"


def _approve_as(page: Any, dialog: Any, pending: Any, approver: str, comment: str) -> tuple[Any, Any]:
    """Fill the open form: approve the batch as `approver` with a code signed for this round with their
    token; returns (code field, submit button), not yet clicked."""
    code = approval_code(pending, approver=approver, token=token_for(approver))
    return fill_approval_form(page, UI, dialog, approver=approver, code=code, comment=comment)


def _answer_follow_ups(wipe_request: Any, flow_thread: threading.Thread) -> None:
    """Offboarding asks once more after the wipe's outcome is known (its follow-up records). This test is
    about the wipe, so follow-up requests of the same run are approved through the API, by FIRST, until the
    flow ends. From another thread: Playwright's sync API keeps an event loop running in the test's thread."""
    from ws1ai.governance.approval import Decision
    from ws1ai.governance.resume import list_pending, submit_decision

    def answer() -> None:
        answered: set[str] = set()
        deadline = time.monotonic() + 180
        while flow_thread.is_alive() and time.monotonic() < deadline:
            try:
                waiting = [
                    p
                    for p in list_pending()
                    if p.flow_run_id == wipe_request.flow_run_id
                    and p.request.title != wipe_request.request.title
                    and p.request.pause_key not in answered
                ]
            except Exception:  # a busy server: look again
                waiting = []
            for p in waiting:
                answered.add(p.request.pause_key)
                submit_decision(
                    p.flow_run_id,
                    approver=FIRST,
                    credential=token_for(FIRST),
                    decision=Decision.APPROVE,
                    request=p.request,
                )
            time.sleep(0.5)

    worker = threading.Thread(target=contextvars.copy_context().run, args=(answer,), daemon=True)
    worker.start()
    worker.join(timeout=200)


def _submit_and_wait_for_wipe_alone(
    dialog: Any, submit: Any, pending: Any, flow_thread: Any, tenant: httpx.Client, wipe_cid: str
) -> Any:
    """Submit the form; the run must pause again with only the wipe left, approved by FIRST alone, and the
    tenant untouched (in approve mode nothing executes until the whole request is decided)."""
    from playwright.sync_api import expect

    from ws1ai.governance.resume import wait_for_pending

    submit.click()
    expect(dialog).to_be_hidden()
    pending = wait_for_pending(after_round=pending.request.round, timeout=120)
    assert flow_thread.is_alive()
    [item] = pending.request.items
    assert (item.correlation_id, item.approvals) == (wipe_cid, [FIRST]), pending.request
    assert tenant_writes(tenant) == []
    return pending


@pytest.mark.timeout(600)
def test_wipe_needs_two_distinct_approvers_through_the_ui_form(
    tenant: httpx.Client, prefect_ui_url: str, chromium_page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    from flows.offboarding import offboarding
    from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
    from ws1ai.governance.config import RolloutMode
    from ws1ai.governance.resume import wait_for_pending
    from ws1ai.policies.offboarding import run_key_for

    _, devices, apps = _leaver_facts(ACTIVE_LEAVER)
    assert len(devices) == 1 and apps, (devices, apps)
    [device_id] = devices
    assert tenant_writes(tenant) == []

    flow_thread, outcome = start_flow_in_thread(
        lambda: offboarding(
            employee_id=ACTIVE_LEAVER,
            mode=RolloutMode.APPROVE,
            approval_timeout_seconds=600,
            return_state=True,
        ),
        name="offboarding-flow",
    )
    page = chromium_page
    pending = None
    try:
        pending = wait_for_pending(timeout=180)
        items = pending.request.items
        wipes = [i for i in items if i.approvals_required == 2]
        assert len(wipes) == 1 and "enterprise_wipe" in wipes[0].summary, items
        wipe_cid = wipes[0].correlation_id
        others = {i.correlation_id for i in items} - {wipe_cid}
        assert others and all(i.approvals_required == 1 for i in items if i.correlation_id in others), items

        # Round 1: alice approves the whole batch in the browser.
        dialog = open_approval_form(page, UI, prefect_ui_url, pending)
        expect(dialog.get_by_text(wipe_cid).first).to_be_visible()
        expect(dialog.get_by_text("0/2").first).to_be_visible()
        _, submit = _approve_as(page, dialog, pending, FIRST, FIRST_COMMENT)
        # The run pauses again for the wipe alone; nothing has been written to the tenant, and no wipe.
        pending = _submit_and_wait_for_wipe_alone(dialog, submit, pending, flow_thread, tenant, wipe_cid)
        assert "waiting for a second, distinct approver" in pending.request.note

        # Round 2: the same approver again, through the browser: refused, and still one approval.
        dialog = open_approval_form(page, UI, prefect_ui_url, pending)
        # The note says so on opening, and the wipe's line shows who approved, on screen without scrolling
        # sideways (Playwright's "visible" ignores clipping by the dialog, "in viewport" does not).
        expect(dialog.get_by_text("waiting for a second, distinct approver").first).to_be_in_viewport()
        expect(dialog.get_by_text(f"1/2 ({FIRST})").first).to_be_in_viewport()
        _, submit = _approve_as(page, dialog, pending, FIRST, "me again")
        pending = _submit_and_wait_for_wipe_alone(dialog, submit, pending, flow_thread, tenant, wipe_cid)
        assert f"{FIRST} has already approved; a second, distinct approver is needed" in pending.request.note

        # Round 3: a second, distinct approver in the browser. The form says why it is asked again. (A taller
        # window, so that the screenshot holds the whole form: why it is asked, the wipe, the filled fields.)
        page.set_viewport_size({"width": 1400, "height": 2000})
        dialog = open_approval_form(page, UI, prefect_ui_url, pending)
        expect(dialog.get_by_text(f"{FIRST} has already approved").first).to_be_in_viewport()
        expect(dialog.get_by_text(f"1/2 ({FIRST})").first).to_be_in_viewport()
        _, submit = _approve_as(page, dialog, pending, SECOND, SECOND_COMMENT)
        # The second approval's form, kept as an artifact (the code shown is good for this round only).
        dialog.get_by_text(f"{FIRST} has already approved").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
        request.node.user_properties.append(("screenshot", str(SCREENSHOT)))
        submit.click()
        expect(dialog).to_be_hidden()

        _answer_follow_ups(pending, flow_thread)
        await_flow_completed(page, flow_thread, outcome)
    finally:
        if flow_thread.is_alive() and pending is not None:
            reject_paused_run(
                pending.flow_run_id, approver=FIRST, token=token_for(FIRST), flow_thread=flow_thread
            )

    # The ledger: exactly one enterprise wipe, on the leaver's device, under the wipe's correlation id.
    writes = tenant_writes(tenant)
    wipe_writes = [e for e in writes if e["operation"] == "Command.EnterpriseWipe"]
    assert len(wipe_writes) == 1, wipe_writes
    assert wipe_writes[0]["correlation_id"] == wipe_cid
    assert [str(d) for d in wipe_writes[0]["device_ids"]] == [str(device_id)]
    assert Counter(str(e["operation"]) for e in writes)["App.Uninstall"] == len(apps)

    # The audit trail: the wipe approved once, by both (sorted ids), with the second approver's comment, and
    # executed once; the one-approver actions were approved by alice alone in round 1.
    records = PrefectAuditStore().read(run_keys=[run_key_for(ACTIVE_LEAVER)])
    by_cid: dict[str, list[Any]] = {}
    for r in records:
        by_cid.setdefault(r.correlation_id, []).append(r)
    wipe_statuses = Counter(r.status for r in by_cid[wipe_cid])
    assert wipe_statuses[AuditStatus.APPROVED] == 1 and wipe_statuses[AuditStatus.EXECUTED] == 1, (
        wipe_statuses
    )
    assert AuditStatus.REJECTED not in wipe_statuses
    [approved] = [r for r in by_cid[wipe_cid] if r.status is AuditStatus.APPROVED]
    assert approved.approvers == (FIRST, SECOND)
    assert approved.comment == SECOND_COMMENT
    for cid in others:
        [first] = [r for r in by_cid[cid] if r.status is AuditStatus.APPROVED]
        assert (first.approvers, first.comment) == ((FIRST,), FIRST_COMMENT)
        assert AuditStatus.EXECUTED in {r.status for r in by_cid[cid]}
    assert SCREENSHOT.stat().st_size > 0
