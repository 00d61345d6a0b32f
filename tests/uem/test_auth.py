"""Basic and OAuth against the sandbox: token caching, renewal before expiry and after a mid-sweep 401,
versioned Accept headers, and secrets that never show up in reprs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.uem.conftest import advance_clock, inject_fault, make_settings, sandbox_settings
from ws1ai.settings import AuthMode
from ws1ai.uem import UEMClient, UEMUnauthorized
from ws1ai.uem.auth import OAuthAuthenticator, _lifetime

TOKEN_LIFETIME = 600  # short-lived tokens: a sweep outlives several


def oauth_client(http: httpx.Client, **overrides: Any) -> UEMClient:
    return UEMClient(make_settings(auth_mode=AuthMode.OAUTH, **overrides), http=http)


def test_oauth_token_is_fetched_once_and_reused(http: httpx.Client) -> None:
    with oauth_client(http) as uem:
        for _ in range(5):
            uem.devices.search(page_size=10)
        assert isinstance(uem.transport.auth, OAuthAuthenticator)
        assert uem.transport.auth.tokens_fetched == 1


def test_token_renewed_after_server_side_expiry_mid_sweep(http: httpx.Client) -> None:
    """The tenant's clock jumps past the token's lifetime between pages: one 401, one renewal, no failure."""
    sandbox_settings(http, token_lifetime_seconds=TOKEN_LIFETIME)
    with oauth_client(http) as uem:
        seen = 0
        for page in uem.devices.search_pages(page_size=200):
            seen += len(page.items)
            if page.page == 1:
                advance_clock(http, TOKEN_LIFETIME + 60)
        assert seen == page.total
        assert uem.stats.token_renewals == 1
        assert uem.transport.auth.tokens_fetched == 2  # type: ignore[attr-defined]


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_renewed_a_margin_before_expires_in(http: httpx.Client) -> None:
    sandbox_settings(http, token_lifetime_seconds=TOKEN_LIFETIME)
    settings = make_settings(auth_mode=AuthMode.OAUTH)
    clock = StepClock()
    auth = OAuthAuthenticator(
        settings.client_id, settings.client_secret, settings.token_url, http, clock=clock
    )
    _, first = auth.headers()
    lifetime = float(TOKEN_LIFETIME)
    clock.now = lifetime - 301  # outside the 300 s margin: cached
    assert auth.headers()[1] == first
    clock.now = lifetime - 299  # inside the margin: renewed before the server would refuse it
    assert auth.headers()[1] != first
    assert auth.tokens_fetched == 2


def test_expires_in_may_be_a_string() -> None:
    assert _lifetime("3600") == 3600.0
    assert _lifetime(1800) == 1800.0
    assert _lifetime("soon") == 3600.0


def test_wrong_client_secret_is_401_and_not_retried(http: httpx.Client) -> None:
    with oauth_client(http, client_secret=SecretStr("wrong-secret")) as uem:
        with pytest.raises(UEMUnauthorized):
            uem.devices.search(page_size=1)
        assert uem.stats.requests == 0  # failed at the token endpoint; the API call was never sent


def test_accept_header_carries_the_operation_version(uem: UEMClient) -> None:
    for version in (1, 2, 3):
        response = uem.transport.request(
            "GET", "/mdm/devices/search", version=version, params={"pagesize": 1}
        )
        assert response.headers["x-api-version"] == f"v{version}"


def test_secrets_never_appear_in_reprs(uem: UEMClient) -> None:
    settings = uem.settings
    secrets = [
        settings.password.get_secret_value(),
        settings.tenant_code.get_secret_value(),
        settings.client_secret.get_secret_value(),
    ]
    text = " ".join([repr(uem), repr(uem.transport.auth), repr(settings), str(uem.limiter.stats)])
    for secret in secrets:
        assert secret not in text


def test_secrets_never_reach_the_logs(http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    import base64
    import logging

    caplog.set_level(logging.DEBUG)
    settings = make_settings(auth_mode=AuthMode.OAUTH)
    inject_fault(http, route="/api/mdm/devices/search", kind="5xx", status=503, retry_after=0, count=1)
    with UEMClient(settings, http=http) as uem:
        uem.devices.search(page_size=2)
    wrong = UEMClient(make_settings(password=SecretStr("not-the-password")), http=http)
    with wrong, pytest.raises(UEMUnauthorized):
        wrong.devices.search(page_size=2)
    text = caplog.text
    assert "503" in text  # the retry was logged...
    basic = base64.b64encode(f"{settings.username}:{settings.password.get_secret_value()}".encode()).decode()
    for secret in (
        settings.password.get_secret_value(),
        settings.tenant_code.get_secret_value(),
        settings.client_secret.get_secret_value(),
        "not-the-password",
        basic,
    ):
        assert secret not in text  # ...without any credential
