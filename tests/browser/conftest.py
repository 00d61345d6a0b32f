"""Browser fixtures: a Prefect server that serves its UI, and headless Debian Chromium driven by Playwright.

`prefect_test_harness` (the session's `prefect_server` in tests/conftest.py) starts its server with
`PREFECT_UI_ENABLED=0`, so it cannot be opened in a browser. Here `prefect_server` is overridden for the
browser tests only: a real `python -m prefect server start` on 127.0.0.1 with the UI on, its own temporary
home and SQLite database, and the client settings pointed at it for as long as it runs. The flow fixtures
(`tenant` and the sandbox) are the ones from tests/flows/conftest.py, so they resolve to this server.

Chromium is Debian's (`/usr/bin/chromium`, installed by scripts/ci/chromium.sh); Playwright only drives it,
and no browser is ever downloaded (`playwright install` is never run).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# The flow fixtures, reused as they are (they resolve `prefect_server` to the override below).
from tests._wait import wait_for
from tests.flows.conftest import sandbox_state, sandbox_url, tenant
from ws1ai.net import free_port

__all__ = ["sandbox_state", "sandbox_url", "tenant"]

CHROMIUM = os.environ.get("WS1AI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} not installed (Debian package `chromium`; scripts/ci/chromium.sh installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the `playwright` Python package is not installed (pip install -e '.[dev]')"
    return None


_UNAVAILABLE = browser_unavailable()
# Every browser test module: `pytestmark = BROWSER_TEST` (marked; skipped with the reason if it cannot run).
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.prefect,
    pytest.mark.skipif(_UNAVAILABLE is not None, reason=_UNAVAILABLE or ""),
]


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(home: Path) -> str:
    return (home / "server.log").read_text(errors="replace")[-3000:]


# Module scope: the server (and the client settings pointing at it) end with the browser tests, so tests
# collected after them neither talk to it nor pay for it.
@pytest.fixture(scope="module")
def prefect_ui_url() -> Iterator[str]:
    """A real `prefect server start` with the UI enabled, on loopback; yields the UI's base URL."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    home = Path(tempfile.mkdtemp(prefix="ws1ai-prefect-ui-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_UI_ENABLED": "true",
        "PREFECT_SERVER_UI_ENABLED": "true",
        "PREFECT_UI_API_URL": f"{base}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-scheduler",
            "--no-late-runs",
            "--analytics-off",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        healthy = wait_for(lambda: proc.poll() is not None or _healthy(base), timeout=120, interval=0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{_tail(home)}")
        if not healthy:
            raise RuntimeError(f"prefect server not healthy after 120 s:\n{_tail(home)}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def prefect_server(prefect_ui_url: str) -> Iterator[str]:
    """Override of tests/conftest.py's `prefect_server` for browser tests: the UI-serving server's API URL."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = f"{prefect_ui_url}/api"
    with temporary_settings(updates={PREFECT_API_URL: api}):
        yield api
        _drain_prefect_workers()


def _drain_prefect_workers() -> None:
    """Send queued logs and events before the server stops (as `prefect_test_harness` does on exit)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):  # the log worker may never have started
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        drained = EventsWorker.drain_all()
        if inspect.isawaitable(drained):
            await drained

    run_coro_as_sync(drain())


# -- the approval form in the Prefect UI ------------------------------------------------------------------
# Shared by the browser tests. Both UIs Prefect 3.8 serves are supported: the default Vue UI ("v1", at /) and
# the React UI ("v2", at /v2). Selectors are by role and visible label text. In v1 the `<label for=…>` points
# at no element id, so `get_by_label` cannot find the inputs and each field is found inside its labelled
# property; in v2 the labels work, except for the JSON editor of `decisions`, which has no accessible name.

UIS = ("v1", "v2")


def approval_form_field(dialog: Any, label: str) -> Any:
    """v1: the property block of the generated form whose label reads `label` (e.g. "Approver (Optional)")."""
    return dialog.locator("div.p-label").filter(has=dialog.page.get_by_text(label, exact=True))


def open_approval_form(page: Any, ui: str, ui_url: str, pending: Any) -> Any:
    """Open the paused run (a `PendingApproval`) in UI `ui` and click Resume; return the form's dialog,
    checked to show the markdown description ws1ai wrote for this round (what the approver reads)."""
    from playwright.sync_api import expect

    if ui == "v1":
        page.goto(f"{ui_url}/runs/flow-run/{pending.flow_run_id}")
        expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
        page.get_by_role("button", name="Resume").first.click()
        # The modal's aria-labelledby points at no element, so it has no accessible name: match its text.
        dialog = page.get_by_role("dialog").filter(has_text="Resume Flow Run")
    elif ui == "v2":
        page.goto(f"{ui_url}/v2/runs/flow-run/{pending.flow_run_id}")
        expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
        page.get_by_role("button", name="Open menu").first.click()
        page.get_by_role("menuitem", name="Resume").click()
        dialog = page.get_by_role("dialog", name="Resume Flow Run")
    else:
        raise ValueError(f"unknown Prefect UI {ui!r}; one of {UIS}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text(f"ws1ai approval: {pending.request.title}", exact=True)).to_be_visible()
    return dialog


def approval_code(
    pending: Any, *, approver: str, token: str, decision: str = "approve", reject: tuple[str, ...] = ()
) -> str:
    """What a UI approver does first, on their own machine: `ws1ai approvals code <run> --approver <id>
    --decision <d> [--reject-action <id>]…` with their token, which prints the code (one line) to paste.

    From another thread: Playwright's sync API keeps an event loop running in the test's thread."""
    from typer.testing import CliRunner

    from ws1ai.governance.cli import approvals_app

    args = ["code", pending.flow_run_id, "--approver", approver, "--decision", decision]
    for cid in reject:
        args += ["--reject-action", cid]
    result: dict[str, Any] = {}

    def run() -> None:
        result["r"] = CliRunner().invoke(approvals_app, args, env={"WS1AI_APPROVER_TOKEN": token})

    worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    worker.start()
    worker.join(timeout=60)
    r = result["r"]
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == 1, lines  # the code and nothing else: it is meant to be copied
    return str(lines[0])


def fill_approval_form(
    page: Any,
    ui: str,
    dialog: Any,
    *,
    approver: str,
    code: str,
    decision: str = "approve",
    decisions: dict[str, str] | None = None,
    comment: str = "",
) -> tuple[Any, Any]:
    """Fill the form Prefect generated from `ApprovalInput` in an open dialog with a code from
    `approval_code`; return (code field, submit button). The decision select is checked to start at `reject`
    (a careless submit approves nothing)."""
    from playwright.sync_api import expect

    decisions_json = json.dumps(decisions) if decisions else None
    if ui == "v1":
        select = approval_form_field(dialog, "Decision (Optional)")
        expect(select.get_by_role("button", name="reject")).to_be_visible()
        if decision != "reject":
            # A mouse click on this select does not open its list in headless Chromium; the keyboard does
            # (ArrowDown opens it, as for a keyboard user), then the option is clicked by its role and name.
            current = select.get_by_role("button", name="reject")
            current.focus()
            current.press("ArrowDown")
            option = page.get_by_role("option", name=decision, exact=True)
            expect(option).to_be_visible()
            option.click()
            expect(select.get_by_role("button", name=decision)).to_be_visible()
        approval_form_field(dialog, "Approver (Optional)").get_by_role("textbox").fill(approver)
        # The code is a signed statement, not a secret: a plain text field is right for it.
        code_box = approval_form_field(dialog, "Approval Code").get_by_role("textbox")
        code_box.fill(code)
        if decisions_json is not None:
            # dict[str, Decision] renders as a JSON editor.
            approval_form_field(dialog, "Decisions (Optional)").get_by_role("textbox").fill(decisions_json)
        if comment:
            approval_form_field(dialog, "Comment (Optional)").get_by_role("textbox").fill(comment)
        approval_form_field(dialog, "Approver (Optional)").scroll_into_view_if_needed()
        return code_box, dialog.get_by_role("button", name="Submit")
    if ui != "v2":
        raise ValueError(f"unknown Prefect UI {ui!r}; one of {UIS}")
    select = dialog.get_by_role("button", name="Select Decision")
    expect(select).to_have_text("reject")
    if decision != "reject":
        select.click()
        page.get_by_role("option", name=decision, exact=True).click()
        expect(select).to_have_text(decision)
    dialog.get_by_label("Approver (Optional)").fill(approver)
    code_box = dialog.get_by_label("Approval Code")
    code_box.fill(code)
    if decisions_json is not None:
        # dict[str, Decision]: a JSON code editor (loaded lazily) with no accessible name; found by its label.
        editor = (
            dialog.locator("label", has_text="Decisions (Optional)")
            .locator("xpath=ancestor::div[.//fieldset][1]//fieldset")
            .locator("[contenteditable=true]")
        )
        expect(editor).to_be_visible()
        editor.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.insert_text(decisions_json)
    if comment:
        dialog.get_by_label("Comment (Optional)").fill(comment)
    dialog.get_by_label("Approver (Optional)").scroll_into_view_if_needed()
    return code_box, dialog.get_by_role("button", name="Resume")


def start_flow_in_thread(call: Callable[[], Any], name: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `call` (a flow call) in a daemon thread; returns the thread and a dict that receives "state" (its
    return value) or "error". The thread carries this context: the client settings point at the UI-serving
    server."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["state"] = call()
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True, name=name)
    thread.start()
    return thread, outcome


def await_flow_completed(page: Any, flow_thread: threading.Thread, outcome: dict[str, Any]) -> None:
    """After the last approval: the flow thread ends, its run is COMPLETED, and the UI says so too."""
    from playwright.sync_api import expect

    flow_thread.join(timeout=180)
    assert not flow_thread.is_alive(), "the flow did not finish after the last approval in the UI"
    assert "error" not in outcome, outcome.get("error")
    state = outcome["state"]
    assert state.is_completed(), state
    page.reload()
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()


def reject_paused_run(flow_run_id: str, *, approver: str, token: str, flow_thread: threading.Thread) -> None:
    """Never leave a paused run behind: reject it through the API so the flow (and its thread) ends.

    From another thread: Playwright's sync API keeps an event loop running in the test's thread."""
    from ws1ai.governance.approval import Decision
    from ws1ai.governance.resume import submit_decision

    def reject() -> None:
        with contextlib.suppress(Exception):
            submit_decision(flow_run_id, approver=approver, credential=token, decision=Decision.REJECT)

    rejecter = threading.Thread(target=contextvars.copy_context().run, args=(reject,), daemon=True)
    rejecter.start()
    rejecter.join(timeout=60)
    flow_thread.join(timeout=60)


@pytest.fixture
def chromium_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh headless Chromium page (new empty profile); on failure, a screenshot in tests/artifacts."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="ws1ai-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000},
            )
            context.set_default_timeout(30_000)
            page = context.pages[0] if context.pages else context.new_page()
            try:
                yield page
            finally:
                report = getattr(request.node, "rep_call", None)
                if report is not None and report.failed:
                    shot = ARTIFACTS / f"{request.node.name}-failure.png"
                    try:
                        page.screenshot(path=str(shot), full_page=True)
                        _attach(request, shot)
                    except Exception:  # a dead page must not hide the test's own failure
                        pass
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _attach(request: pytest.FixtureRequest, path: Path) -> None:
    """Name the screenshot in the test report (shown under -ra / in the junit properties)."""
    request.node.user_properties.append(("screenshot", str(path)))
    report = getattr(request.node, "rep_call", None)
    if report is not None:
        report.sections.append(("screenshot", str(path)))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
