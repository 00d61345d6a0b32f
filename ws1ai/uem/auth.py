"""Authentication: Basic + `aw-tenant-code`, or OAuth2 client credentials with a cached, renewed token.

The OAuth token is fetched once, cached, and renewed under a lock a margin before `expires_in` runs out, so
concurrent threads of a long sweep share one token and only one of them renews it. A 401 answered to a request
made with the cached token invalidates it (once: a second 401 means the credential itself is wrong).
Secrets are `SecretStr` and appear in no repr or log line.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx
from pydantic import SecretStr

from ws1ai.settings import AuthMode, UEMSettings
from ws1ai.uem.errors import (
    UEMConnectionError,
    UEMResponseValidationError,
    UEMTimeout,
    UEMUnauthorized,
    error_from_response,
)

__all__ = [
    "Authenticator",
    "BasicAuthenticator",
    "OAuthAuthenticator",
    "accept_header",
    "authenticator_for",
]

log = logging.getLogger(__name__)

# Renew this long before expiry (Zentral renews 300 s early); short-lived tokens at most half their life.
TOKEN_RENEW_MARGIN_SECONDS = 300.0
TOKEN_RENEW_MARGIN_FRACTION = 0.5
# Used when the token response has no (parseable) expires_in: every known client assumes one hour.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600.0


def accept_header(version: int) -> str:
    """The API picks the response shape from this header; without it the API answers XML."""
    return f"application/json;version={version}"


class Authenticator(Protocol):
    """Adds credentials to a request's headers."""

    @property
    def identity(self) -> str:
        """Non-secret-revealing identity of the credential (input to the limiter registry key)."""
        ...

    def headers(self) -> tuple[dict[str, str], str | None]:
        """(auth headers, token used or None) — may fetch a token."""
        ...

    def invalidate(self, token: str | None) -> bool:
        """A request made with `token` got a 401: drop it if still current. True if a retry can help."""
        ...


class BasicAuthenticator:
    """`Authorization: Basic` + `aw-tenant-code` (docs/uem-api.md#basic-auth-and-tenant-code)."""

    def __init__(self, username: str, password: SecretStr, tenant_code: SecretStr) -> None:
        self._username = username
        self._password = password
        self._tenant_code = tenant_code

    def __repr__(self) -> str:
        return f"BasicAuthenticator(username={self._username!r})"

    @property
    def identity(self) -> str:
        return f"basic:{self._username}:{self._tenant_code.get_secret_value()}"

    def headers(self) -> tuple[dict[str, str], str | None]:
        raw = f"{self._username}:{self._password.get_secret_value()}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(raw).decode("ascii"),
            "aw-tenant-code": self._tenant_code.get_secret_value(),
        }, None

    def invalidate(self, token: str | None) -> bool:
        return False  # nothing to renew: a 401 on Basic is a wrong password


class OAuthAuthenticator:
    """OAuth2 client credentials; sends `aw-tenant-code` too when configured.

    See docs/uem-api.md#oauth-client-credentials.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: SecretStr,
        token_url: str,
        http: httpx.Client,
        *,
        tenant_code: SecretStr | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._http = http
        self._tenant_code = tenant_code
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"OAuthAuthenticator(client_id={self._client_id!r}, token_url={self._token_url!r})"

    @property
    def identity(self) -> str:
        return f"oauth:{self._client_id}"

    def headers(self) -> tuple[dict[str, str], str | None]:
        token = self._current_token()
        headers = {"Authorization": f"Bearer {token}"}
        if self._tenant_code is not None and self._tenant_code.get_secret_value():
            headers["aw-tenant-code"] = self._tenant_code.get_secret_value()
        return headers, token

    def invalidate(self, token: str | None) -> bool:
        with self._lock:
            if token is not None and token == self._token:
                self._token = None
        return True

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token, lifetime = self._fetch()
                margin = min(TOKEN_RENEW_MARGIN_SECONDS, lifetime * TOKEN_RENEW_MARGIN_FRACTION)
                self._renew_at = self._clock() + lifetime - margin
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        try:
            response = self._http.post(self._token_url, data=form, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise UEMTimeout(f"token request timed out: {type(exc).__name__}", sent=False) from None
        except httpx.HTTPError as exc:
            raise UEMConnectionError(f"token request failed: {type(exc).__name__}", sent=False) from None
        if response.status_code >= 400:
            error = error_from_response(response)
            if response.status_code == 400 and _oauth_error(response) in _CREDENTIAL_ERRORS:
                # RFC 6749 lets servers answer a bad client secret with 400: it is still an auth failure.
                raise UEMUnauthorized(
                    401, None, error.message, None, method="POST", url=self._token_url
                ) from None
            raise error
        try:
            body = response.json()
            token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise UEMResponseValidationError(
                "token response has no access_token", url=self._token_url
            ) from None
        self.tokens_fetched += 1
        log.debug("fetched OAuth token for client %s", self._client_id)
        return token, _lifetime(body.get("expires_in"))


_CREDENTIAL_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_grant"})


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def _lifetime(value: object) -> float:
    """`expires_in` may arrive as a number or a string."""
    try:
        seconds = float(str(value))
    except ValueError:
        return DEFAULT_TOKEN_LIFETIME_SECONDS
    return seconds if seconds > 0 else DEFAULT_TOKEN_LIFETIME_SECONDS


def authenticator_for(settings: UEMSettings, http: httpx.Client) -> Authenticator:
    if settings.auth_mode is AuthMode.OAUTH:
        return OAuthAuthenticator(
            settings.client_id,
            settings.client_secret,
            settings.token_url,
            http,
            tenant_code=settings.tenant_code,
        )
    return BasicAuthenticator(settings.username, settings.password, settings.tenant_code)
