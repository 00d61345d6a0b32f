"""Fixtures for the UEM client tests: a sandbox tenant in-process (TestClient) or on a real socket (uvicorn).

Wire models are strict here (`WS1AI_STRICT_MODELS=1`): any field the sandbox sends that the models do not
know fails the test, so sandbox/model drift is loud. The sandbox is driven only through HTTP
(`/_sandbox/faults`, `/_sandbox/ledger`, `/_sandbox/requests`), as a test against a real tenant would be.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stamina

os.environ["WS1AI_STRICT_MODELS"] = "1"
os.environ.setdefault("WS1AI_TESTING", "1")

from ws1ai.settings import AuthMode, UEMSettings
from ws1ai.uem import UEMClient
from ws1ai.uem.ratelimit import clear_registry

FLEET_DEVICES = 1200
FLEET_SEED = 11
# Far above anything a test sends: throttling is switched on explicitly where a test is about it.
SANDBOX_THROTTLE_PER_MINUTE = 1_000_000
SANDBOX_DAILY_QUOTA = 1_000_000


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Limiters are shared per credential for the life of a process; tests must not inherit pauses/quota."""
    clear_registry()
    yield
    clear_registry()


@pytest.fixture(autouse=True)
def _retries_without_sleeps() -> Iterator[None]:
    """Backoff off, attempt counts as configured — whatever stamina test mode other suites left behind."""
    with stamina.set_testing(True, attempts=1_000, cap=True):
        yield


@pytest.fixture(scope="session")
def sandbox_state() -> Any:
    from ws1ai.sandbox import SandboxState

    return SandboxState.seeded(
        devices=FLEET_DEVICES, seed=FLEET_SEED, days=3, rate_limit_per_minute=SANDBOX_THROTTLE_PER_MINUTE
    )


@pytest.fixture
def state(sandbox_state: Any) -> Any:
    """The session's tenant, reset to the seeded fleet (ledger, faults, counters, quota) for each test."""
    sandbox_state.reset()
    sandbox_state.gate.throttle.limit = SANDBOX_THROTTLE_PER_MINUTE
    sandbox_state.gate.daily_quota = SANDBOX_DAILY_QUOTA
    return sandbox_state


@pytest.fixture
def app(state: Any) -> Any:
    from ws1ai.sandbox import create_app

    return create_app(state)


@pytest.fixture
def http(app: Any) -> Iterator[httpx.Client]:
    """In-process transport: FastAPI's TestClient is an httpx.Client."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    """The same app on a real loopback socket (timeouts and dropped connections need one)."""
    from ws1ai.sandbox.server import serve_in_background

    with serve_in_background(app) as url:
        yield url


def make_settings(base_url: str = "http://testserver", **overrides: Any) -> UEMSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "token_url": f"{base_url}/connect/token",
        "rate_limit_per_minute": 60_000,
        "daily_quota_reserve": 0,
        "max_retries": 3,
        "timeout_seconds": 5.0,
        "auth_mode": AuthMode.BASIC,
    }
    values.update(overrides)
    return UEMSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def uem(http: httpx.Client) -> Iterator[UEMClient]:
    with UEMClient(make_settings(), http=http) as client:
        yield client


@pytest.fixture
def live_uem(live_url: str) -> Iterator[UEMClient]:
    with UEMClient(make_settings(live_url, timeout_seconds=1.0)) as client:
        yield client


# ---- the sandbox's control plane, over HTTP ----
def inject_fault(http: httpx.Client, base_url: str = "", **spec: Any) -> dict[str, Any]:
    """`POST /_sandbox/faults`: kind (429, 5xx, latency, drop), route regex, count, status, retry_after."""
    response = http.post(f"{base_url}/_sandbox/faults", json=spec)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def ledger(http: httpx.Client, base_url: str = "") -> list[dict[str, Any]]:
    response = http.get(f"{base_url}/_sandbox/ledger")
    response.raise_for_status()
    body = response.json()
    entries = body if isinstance(body, list) else body.get("entries", body.get("ledger", []))
    return list(entries)


def request_counts(http: httpx.Client, base_url: str = "") -> dict[str, Any]:
    response = http.get(f"{base_url}/_sandbox/requests")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def sandbox_settings(http: httpx.Client, base_url: str = "", **knobs: Any) -> dict[str, Any]:
    """`POST /_sandbox/settings`: rate_limit_per_minute, daily_quota, token_lifetime_seconds, ..."""
    response = http.post(f"{base_url}/_sandbox/settings", json=knobs)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def advance_clock(http: httpx.Client, seconds: float, base_url: str = "") -> None:
    """`POST /_sandbox/clock`: the tenant's time jumps (tokens age, quota windows roll) without sleeping."""
    http.post(f"{base_url}/_sandbox/clock", json={"advance_seconds": seconds}).raise_for_status()
