"""The approval in a real browser: a paused compliance triage approved through the Prefect UI's own form.

Headless Debian Chromium (driven by Playwright, never a downloaded browser) opens the paused run in the UI of
a real Prefect server (tests/browser/conftest.py), clicks Resume, fills the form Prefect generated from
`ApprovalInput` (decision, approver, token, per-action decisions as JSON, comment) and submits it. The flow
then goes on: the sandbox's ledger shows the approved writes (and none for the action rejected in the same
form) and the audit trail names the approver with the comment.

Both UIs Prefect 3.8 serves are exercised: the default Vue UI ("v1", at /) and the React UI ("v2", at /v2).
Selectors are by role and visible label text. In v1 the `<label for=…>` points at no element id, so
`get_by_label` cannot find the inputs and each field is found inside its labelled property; in v2 the labels
work, except for the JSON editor of `decisions`, which has no accessible name.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import uuid
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, browser_unavailable
from tests.flows.conftest import ledger, token_for

UNAVAILABLE = browser_unavailable()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.prefect,
    pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or ""),
]

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


def _field(dialog: Any, label: str) -> Any:
    """The property block of the generated form whose label reads `label` (e.g. "Approver (Optional)")."""
    return dialog.locator("div.p-label").filter(has=dialog.page.get_by_text(label, exact=True))


def _fill_v1(page: Any, ui_url: str, pending: Any, rejected_cid: str) -> tuple[Any, Any, Any]:
    """Prefect's default (Vue) UI: Resume button in the run header, form in a modal; returns
    (dialog, token field, submit button)."""
    from playwright.sync_api import expect

    page.goto(f"{ui_url}/runs/flow-run/{pending.flow_run_id}")
    expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Resume").first.click()

    # The modal's aria-labelledby points at no element, so it has no accessible name: match its text.
    dialog = page.get_by_role("dialog").filter(has_text="Resume Flow Run")
    expect(dialog).to_be_visible()
    # The markdown description ws1ai wrote for this round is what the approver reads.
    expect(dialog.get_by_text(f"ws1ai approval: {pending.request.title}", exact=True)).to_be_visible()
    expect(dialog.get_by_text(rejected_cid[:12]).first).to_be_visible()

    # Decision: an enum select, defaulting to reject (a careless submit approves nothing).
    decision = _field(dialog, "Decision (Optional)").get_by_role("button", name="reject")
    expect(decision).to_be_visible()
    # A mouse click on this select does not open its list in headless Chromium; the keyboard does
    # (ArrowDown opens it, as for a keyboard user), then the option is clicked by its role and name.
    decision.focus()
    decision.press("ArrowDown")
    option = page.get_by_role("option", name="approve", exact=True)
    expect(option).to_be_visible()
    option.click()
    expect(_field(dialog, "Decision (Optional)").get_by_role("button", name="approve")).to_be_visible()

    _field(dialog, "Approver (Optional)").get_by_role("textbox").fill(APPROVER)
    # SecretStr: a plain textarea here (the token is shown in clear text while typed).
    token_box = _field(dialog, "Token").get_by_role("textbox")
    token_box.fill(token_for(APPROVER))
    # dict[str, Decision] renders as a JSON editor: reject one action by a unique id prefix.
    _field(dialog, "Decisions (Optional)").get_by_role("textbox").fill(f'{{"{rejected_cid[:12]}": "reject"}}')
    _field(dialog, "Comment (Optional)").get_by_role("textbox").fill(COMMENT)
    _field(dialog, "Approver (Optional)").scroll_into_view_if_needed()
    return dialog, token_box, dialog.get_by_role("button", name="Submit")


def _fill_v2(page: Any, ui_url: str, pending: Any, rejected_cid: str) -> tuple[Any, Any, Any]:
    """Prefect's new (React) UI under /v2: Resume in the run's menu; labelled fields, password token."""
    from playwright.sync_api import expect

    page.goto(f"{ui_url}/v2/runs/flow-run/{pending.flow_run_id}")
    expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Open menu").first.click()
    page.get_by_role("menuitem", name="Resume").click()

    dialog = page.get_by_role("dialog", name="Resume Flow Run")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text(f"ws1ai approval: {pending.request.title}", exact=True)).to_be_visible()
    expect(dialog.get_by_text(rejected_cid[:12]).first).to_be_visible()

    decision = dialog.get_by_role("button", name="Select Decision")
    expect(decision).to_have_text("reject")
    decision.click()
    page.get_by_role("option", name="approve", exact=True).click()
    expect(decision).to_have_text("approve")

    dialog.get_by_label("Approver (Optional)").fill(APPROVER)
    token_box = dialog.get_by_label("Token")
    expect(token_box).to_have_attribute("type", "password")
    token_box.fill(token_for(APPROVER))
    # dict[str, Decision]: a JSON code editor (loaded lazily) with no accessible name; found from its label.
    editor = (
        dialog.locator("label", has_text="Decisions (Optional)")
        .locator("xpath=ancestor::div[.//fieldset][1]//fieldset")
        .locator("[contenteditable=true]")
    )
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(f'{{"{rejected_cid[:12]}": "reject"}}')
    dialog.get_by_label("Comment (Optional)").fill(COMMENT)
    dialog.get_by_label("Approver (Optional)").scroll_into_view_if_needed()
    return dialog, token_box, dialog.get_by_role("button", name="Resume")


@pytest.mark.parametrize("ui", ["v1", "v2"])
def test_paused_triage_is_approved_through_the_prefect_ui_form(
    ui: str, tenant: httpx.Client, prefect_ui_url: str, chromium_page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    from flows.compliance_triage import compliance_triage
    from ws1ai.governance.approval import Decision
    from ws1ai.governance.audit import AuditStatus, PrefectAuditStore
    from ws1ai.governance.policy import RolloutMode
    from ws1ai.governance.resume import submit_decision, wait_for_pending

    devices = _pick_devices()
    run_key = f"t-browser-{uuid.uuid4().hex[:8]}"
    outcome: dict[str, Any] = {}

    def run_flow() -> None:
        try:
            outcome["state"] = compliance_triage(
                mode=RolloutMode.APPROVE,
                device_ids=devices,
                run_key=run_key,
                approval_timeout_seconds=600,
                return_state=True,
            )
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    # The thread carries this context: the client settings point at the UI-serving server.
    flow_thread = threading.Thread(
        target=contextvars.copy_context().run, args=(run_flow,), daemon=True, name="triage-flow"
    )
    flow_thread.start()
    pending = None
    try:
        pending = wait_for_pending(timeout=180)
        items = pending.request.items
        assert len(items) >= 2, items  # one to approve and one to reject in the same form
        rejected_cid = items[0].correlation_id
        approved_cids = {i.correlation_id for i in items[1:]}

        page = chromium_page
        fill = _fill_v1 if ui == "v1" else _fill_v2
        dialog, token_box, submit = fill(page, prefect_ui_url, pending, rejected_cid)

        # The filled form, kept as an artifact (the token masked: the v1 UI shows it in clear text).
        shot = FORM_SCREENSHOT if ui == "v1" else FORM_SCREENSHOT.with_name("approval-form-v2.png")
        page.screenshot(path=str(shot), mask=[token_box])
        request.node.user_properties.append(("screenshot", str(shot)))

        submit.click()
        expect(dialog).to_be_hidden()

        flow_thread.join(timeout=180)
        assert not flow_thread.is_alive(), "the flow did not finish after the UI approval"
        assert "error" not in outcome, outcome.get("error")
        state = outcome["state"]
        assert state.is_completed(), state
        # The UI shows the run finished, too.
        page.reload()
        expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
    finally:
        if flow_thread.is_alive() and pending is not None:
            # Never leave a paused run behind: reject through the API so the flow (and thread) ends.
            # (From another thread: Playwright's sync API keeps an event loop running in this one, and
            # Prefect's sync/async dispatch would then hand back an un-awaited coroutine.)
            flow_run_id = pending.flow_run_id

            def reject() -> None:
                with contextlib.suppress(Exception):
                    submit_decision(
                        flow_run_id, approver=APPROVER, token=token_for(APPROVER), decision=Decision.REJECT
                    )

            rejecter = threading.Thread(target=contextvars.copy_context().run, args=(reject,), daemon=True)
            rejecter.start()
            rejecter.join(timeout=60)
            flow_thread.join(timeout=60)

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
