"""The approval in a real browser: a paused compliance triage approved through the Prefect UI's own form.

Headless Debian Chromium (driven by Playwright, never a downloaded browser) opens the paused run in the UI of
a real Prefect server (tests/browser/conftest.py), clicks Resume, fills the form Prefect generated from
`ApprovalInput` (decision, approver, the approval code printed by `ws1ai approvals code`, per-action decisions
as JSON, comment) and submits it. The flow
then goes on: the sandbox's ledger shows the approved writes (and none for the action rejected in the same
form) and the audit trail names the approver with the comment.

Both UIs Prefect 3.8 serves are exercised: the default Vue UI ("v1", at /) and the React UI ("v2", at /v2).
The form is opened and filled by the helpers in tests/browser/conftest.py (selectors by role and label text).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    BROWSER_TEST,
    UIS,
    approval_code,
    await_flow_completed,
    fill_approval_form,
    open_approval_form,
    reject_paused_run,
    start_flow_in_thread,
)
from tests.flows.conftest import ledger, token_for

pytestmark = BROWSER_TEST

APPROVER = "alice"
COMMENT = "approved in the Prefect UI by the browser test"
FORM_SCREENSHOT = ARTIFACTS / "approval-form.png"


def _pick_devices() -> list[int]:
    """One non-compliant device of each kind the policy treats differently (facts read through the API)."""
    from ws1ai.uem import UEMClient

    picked: dict[str, int] = {}
    with UEMClient(read_only=True) as client:
        for d in client.devices.iter_search(compliant_status=False):
            assert d.id is not None and d.id.value is not None
            encrypted = (d.data_encryption_yn or "").upper() == "Y"
            if d.compromised_status:
                picked.setdefault("compromised", d.id.value)
            elif not encrypted and d.platform == "AppleOsX":
                picked.setdefault("unencrypted_mac", d.id.value)
            elif encrypted:
                picked.setdefault("plain", d.id.value)
    assert {"compromised", "unencrypted_mac", "plain"} <= set(picked), picked
    return sorted(picked.values())


@pytest.mark.parametrize("ui", UIS)
def test_paused_triage_is_approved_through_the_prefect_ui_form(
    ui: str, tenant: httpx.Client, prefect_ui_url: str, chromium_page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    from flows.compliance_triage import compliance_triage
    from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
    from ws1ai.governance.config import RolloutMode
    from ws1ai.governance.resume import wait_for_pending

    devices = _pick_devices()
    run_key = f"t-browser-{uuid.uuid4().hex[:8]}"

    flow_thread, outcome = start_flow_in_thread(
        lambda: compliance_triage(
            mode=RolloutMode.APPROVE,
            device_ids=devices,
            run_key=run_key,
            approval_timeout_seconds=600,
            return_state=True,
        ),
        name="triage-flow",
    )
    pending = None
    try:
        pending = wait_for_pending(timeout=180)
        items = pending.request.items
        assert len(items) >= 2, items  # one to approve and one to reject in the same form
        rejected_cid = items[0].correlation_id
        approved_cids = {i.correlation_id for i in items[1:]}

        page = chromium_page
        dialog = open_approval_form(page, ui, prefect_ui_url, pending)
        expect(dialog.get_by_text(rejected_cid[:12]).first).to_be_visible()
        # Approve the batch, but reject one action by a unique id prefix in the `decisions` JSON field: the
        # code is signed for exactly that (the form shows the command to run).
        expect(dialog.get_by_text(f"ws1ai approvals code {pending.flow_run_id}").first).to_be_visible()
        code = approval_code(
            pending, approver=APPROVER, token=token_for(APPROVER), reject=(rejected_cid[:12],)
        )
        _, submit = fill_approval_form(
            page,
            ui,
            dialog,
            approver=APPROVER,
            code=code,
            decisions={rejected_cid[:12]: "reject"},
            comment=COMMENT,
        )

        # The filled form, kept as an artifact (the code is no secret: good for this round and decision only).
        shot = FORM_SCREENSHOT if ui == "v1" else FORM_SCREENSHOT.with_name("approval-form-v2.png")
        page.screenshot(path=str(shot))
        request.node.user_properties.append(("screenshot", str(shot)))

        submit.click()
        expect(dialog).to_be_hidden()

        await_flow_completed(page, flow_thread, outcome)
    finally:
        if flow_thread.is_alive() and pending is not None:
            reject_paused_run(
                pending.flow_run_id, approver=APPROVER, token=token_for(APPROVER), flow_thread=flow_thread
            )

    # The audit trail: alice approved (with the comment) and the approved actions were executed; the one
    # rejected through the JSON field was rejected by her and never executed.
    records = PrefectAuditStore().read(run_keys=[run_key])
    by_cid: dict[str, dict[AuditStatus, Any]] = {}
    for r in records:
        by_cid.setdefault(r.correlation_id, {})[r.status] = r
    for cid in approved_cids:
        approved = by_cid[cid][AuditStatus.APPROVED]
        assert approved.approvers == (APPROVER,)
        assert approved.comment == COMMENT
        assert AuditStatus.EXECUTED in by_cid[cid], by_cid[cid]
    rejected = by_cid[rejected_cid][AuditStatus.REJECTED]
    assert rejected.approvers == (APPROVER,)
    assert AuditStatus.EXECUTED not in by_cid[rejected_cid]

    # The sandbox's ledger: writes for every approved action's devices, none for the rejected one's.
    writes = [e for e in ledger(tenant) if e["method"] != "GET"]
    written = {str(d) for e in writes for d in e["device_ids"]}
    approved_targets = {t for cid in approved_cids for t in by_cid[cid][AuditStatus.APPROVED].action.targets}
    rejected_targets = set(rejected.action.targets) - approved_targets
    assert approved_targets and approved_targets <= written, (approved_targets, writes)
    assert not (rejected_targets & written), (rejected_targets, writes)
    assert shot.stat().st_size > 0
