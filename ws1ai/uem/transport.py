"""One request, done right: read-only guard, auth headers, shared limiter, typed errors, retries, 401 renewal.

Resources never touch httpx; they call `UEMTransport.request` with an API path (e.g. `/mdm/devices/search`)
and the version of the operation, and get back a successful `httpx.Response` or a `UEMError`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ws1ai.settings import UEMSettings
from ws1ai.uem.auth import Authenticator, accept_header, authenticator_for
from ws1ai.uem.errors import (
    UEMConnectionError,
    UEMError,
    UEMRateLimited,
    UEMReadOnlyError,
    UEMResponseValidationError,
    UEMTimeout,
    error_from_response,
)
from ws1ai.uem.ratelimit import RateLimiter, credential_key, limiter_for
from ws1ai.uem.retry import (
    DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    REQUEST_ATTEMPT_CEILING,
    apply_testing_switch,
    retry_attempts,
    retry_hook,
)
from ws1ai.uem.shared_limit import PrefectRateLimit

__all__ = ["TransportStats", "UEMTransport", "correlation_id", "json_body", "parse_model", "parse_response"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | float | bool | None]


# Sent as `x-correlation-id` (UEM echoes it; the sandbox ledger records it), so an audited Action can be
# matched with the calls that carried it out. Context-local: threads started in the block do not inherit it.
_CORRELATION_ID: ContextVar[str | None] = ContextVar("uem_correlation_id", default=None)


@contextmanager
def correlation_id(value: str) -> Iterator[None]:
    """Tag every request made in this block (and its retries) with one correlation id."""
    token = _CORRELATION_ID.set(value)
    try:
        yield
    finally:
        _CORRELATION_ID.reset(token)


@dataclass
class TransportStats:
    """What this client sent (benchmarks and tests read it)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    token_renewals: int = 0
    first_sent: float | None = None  # time.monotonic() of the first / latest send
    last_sent: float | None = None

    def send_rate_per_minute(self) -> float | None:
        """Requests/minute between the first and the latest send (what the limiter controls)."""
        if self.requests < 2 or self.first_sent is None or self.last_sent is None:
            return None
        span = self.last_sent - self.first_sent
        return (self.requests - 1) / span * 60.0 if span > 0 else None


class UEMTransport:
    def __init__(
        self,
        settings: UEMSettings,
        *,
        http: httpx.Client | None = None,
        read_only: bool | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        apply_testing_switch()
        self.settings = settings
        self._owns_http = http is None
        self.http = http if http is not None else httpx.Client(timeout=settings.timeout_seconds)
        self.auth: Authenticator = authenticator_for(settings, self.http)
        self.limiter = limiter or limiter_for(
            credential_key(settings.base_url, self.auth.identity),
            settings.rate_limit_per_minute,
            quota_reserve=settings.daily_quota_reserve,
        )
        self.shared_limit = (
            PrefectRateLimit(settings.shared_rate_limit) if settings.shared_rate_limit else None
        )
        self.read_only = settings.read_only if read_only is None else read_only
        self._api_root = settings.base_url.rstrip("/") + "/API"
        self.stats = TransportStats()
        self._stats_lock = threading.Lock()  # parallel page fetches share one client

    def _count(self, counter: str) -> None:
        with self._stats_lock:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        version: int = 1,
        params: Params | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send with retries; return the 2xx response or raise a `UEMError`."""
        method = method.upper()
        if self.read_only and method != "GET":
            raise UEMReadOnlyError(method, path)
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        first = True
        hook = retry_hook(
            method,
            max_retries=self.settings.max_retries,
            throttle_wait_seconds=self.settings.throttle_wait_seconds,
        )
        for attempt in retry_attempts(hook, REQUEST_ATTEMPT_CEILING):
            with attempt:
                if not first:
                    self._count("retries")
                first = False
                return self._send_authenticated(method, path, version, clean_params, json)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _send_authenticated(
        self, method: str, path: str, version: int, params: dict[str, str], json: Any
    ) -> httpx.Response:
        renewed = False
        while True:
            try:
                auth_headers, token = self.auth.headers()
            except UEMError as exc:
                exc.sent = False  # the token endpoint failed: the request itself never left
                raise
            headers = {"Accept": accept_header(version), **auth_headers}
            if (cid := _CORRELATION_ID.get()) is not None:
                headers["x-correlation-id"] = cid
            response = self._send_once(method, path, headers, params, json)
            if response.is_success:
                return response
            if response.status_code == 401 and not renewed and self.auth.invalidate(token):
                # A token can expire (or be revoked) between our check and the server's: renew once.
                renewed = True
                self._count("token_renewals")
                continue
            error = error_from_response(response)
            if isinstance(error, UEMRateLimited):
                self._count("rate_limited")
                pause = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER_SECONDS
                # A longer wait (e.g. the daily quota is gone until tomorrow) is not slept through silently:
                # the retry policy raises it to the caller instead of freezing every thread.
                if pause <= MAX_RETRY_AFTER_SECONDS:
                    self.limiter.pause(pause)
            log.info("UEM %s %s -> %s %s", method, path, response.status_code, error.error_code)
            raise error

    def _send_once(
        self, method: str, path: str, headers: dict[str, str], params: dict[str, str], json: Any
    ) -> httpx.Response:
        self.limiter.acquire()
        if self.shared_limit is not None:
            self.shared_limit.acquire()
        url = self._api_root + path
        now = time.monotonic()
        with self._stats_lock:
            self.stats.requests += 1
            if self.stats.first_sent is None:
                self.stats.first_sent = now
            self.stats.last_sent = now
        try:
            response = self.http.request(method, url, params=params, json=json, headers=headers)
            response.read()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            error = _transport_error(exc, method, url)
            log.warning("UEM %s %s failed in transport (sent=%s): %s", method, path, error.sent, error)
            raise error from None
        self.limiter.observe(response.headers)
        log.debug("UEM %s %s -> %s", method, path, response.status_code)
        return response


def _transport_error(exc: Exception, method: str, url: str) -> UEMConnectionError:
    """Classify an httpx failure; `sent=False` only when the request certainly never reached the server."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return UEMTimeout(_describe(exc), sent=False, method=method, url=url)
    if isinstance(exc, httpx.TimeoutException):
        return UEMTimeout(_describe(exc), sent=True, method=method, url=url)
    if isinstance(exc, httpx.ConnectError):
        return UEMConnectionError(_describe(exc), sent=False, method=method, url=url)
    # Dropped mid-request/response (or anything else): the server may have acted on it.
    return UEMConnectionError(_describe(exc), sent=True, method=method, url=url)


def _describe(exc: Exception) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_body(response: httpx.Response) -> Any:
    """Decoded JSON, or None for 204 / an empty body (empty searches and fire-and-forget commands)."""
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return jsonlib.loads(response.content)
    except ValueError:
        raise UEMResponseValidationError(
            "response is not JSON",
            method=response.request.method,
            url=str(response.request.url),
            body_excerpt=response.text[:200],
        ) from None


def parse_model(model: type[M], data: Any, response: httpx.Response) -> M:
    """Validate a decoded body against a wire model; drift becomes `UEMResponseValidationError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UEMResponseValidationError(
            f"{model.__name__} does not match the response: {exc}",
            method=response.request.method,
            url=str(response.request.url.copy_with(query=None)),
            body_excerpt=str(data)[:200],
        ) from None


def parse_response(model: type[M], response: httpx.Response) -> M | None:
    """Validate the raw body straight from bytes (pydantic-core parses the JSON: no intermediate dicts,
    which matters for 500-device pages); None for 204 / an empty body."""
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise UEMResponseValidationError(
            f"{model.__name__} does not match the response: {exc}",
            method=response.request.method,
            url=str(response.request.url.copy_with(query=None)),
            body_excerpt=response.text[:200],
        ) from None
