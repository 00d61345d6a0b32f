"""The HTTP discipline shared by the ServiceNow and HRIS connectors (UEM has its own, richer transport).

Same rules as `ws1ai.uem`: typed errors instead of httpx exceptions, retries only for 408/429/5xx and
connection failures (with the backoff constants of `ws1ai.uem.retry`, so there is one set of numbers), and a
write is repeated only when it certainly did not reach the server or the server refused it (429/503).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from ws1ai.uem.retry import (
    WRITE_METHODS,
    apply_testing_switch,
    retry_attempts,
)

__all__ = ["ConnectorAPIError", "ConnectorError", "ConnectorHTTP", "ConnectorReadOnlyError"]

log = logging.getLogger(__name__)

_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_WRITE_SAFE_STATUSES = frozenset({429, 503})


class ConnectorError(Exception):
    """A connector call failed. `sent` says whether the request may have reached the server."""

    def __init__(self, service: str, message: str, *, sent: bool) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.sent = sent


class ConnectorAPIError(ConnectorError):
    def __init__(self, service: str, status: int, message: str) -> None:
        super().__init__(service, f"HTTP {status}: {message}", sent=True)
        self.status = status


class ConnectorReadOnlyError(ConnectorError):
    def __init__(self, service: str, method: str, path: str) -> None:
        super().__init__(service, f"read-only mode refused {method} {path} before sending", sent=False)


class ConnectorHTTP:
    """One service's HTTP session: base URL, auth, retries and typed errors."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        basic_auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
        read_only: bool = False,
        max_retries: int = 4,
        timeout: float = 30.0,
    ) -> None:
        apply_testing_switch()
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.read_only = read_only
        self.max_retries = max_retries
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._headers = {"Accept": "application/json", **(headers or {})}
        if basic_auth is not None:
            # Built by hand rather than httpx.BasicAuth so any httpx-compatible client can be injected.
            token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        method = method.upper()
        if self.read_only and method in WRITE_METHODS:
            raise ConnectorReadOnlyError(self.service, method, path)
        is_write = method in WRITE_METHODS

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, ConnectorAPIError):
                return exc.status in (_WRITE_SAFE_STATUSES if is_write else _RETRIED_STATUSES)
            return isinstance(exc, ConnectorError) and not (is_write and exc.sent)

        for attempt in retry_attempts(retryable, self.max_retries + 1):
            with attempt:
                return self._send(method, path, params, json, headers)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = self.base_url + path
        headers = {**self._headers, **(extra_headers or {})}
        try:
            response = self._http.request(method, url, params=params, json=json, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ConnectorError(self.service, f"cannot connect: {type(exc).__name__}", sent=False) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(
                self.service, f"{type(exc).__name__} during {method} {path}", sent=True
            ) from None
        if response.is_success:
            return response
        log.info("%s %s %s -> %s", self.service, method, path, response.status_code)
        raise ConnectorAPIError(self.service, response.status_code, _error_message(response))


def _error_message(response: httpx.Response) -> str:
    """ServiceNow says `{"error":{"message","detail"}}`; others differ: keep whatever is readable, briefly."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return " — ".join(str(error[k]) for k in ("message", "detail") if error.get(k))
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]
