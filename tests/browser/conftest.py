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
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# The flow fixtures, reused as they are (they resolve `prefect_server` to the override below).
from tests.flows.conftest import sandbox_state, sandbox_url, tenant

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = _free_port()
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
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{_tail(home)}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not healthy after 120 s:\n{_tail(home)}")
            time.sleep(0.5)
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
