"""Typed errors of the UEM client (docs/design.md rule 2).

Every failure the client can meet surfaces as a `UEMError` subclass: HTTP answers become `UEMAPIError`
subclasses chosen by status, transport failures become `UEMConnectionError` / `UEMTimeout`, and no httpx
exception ever escapes. The error body of the real API is `{"errorCode", "message", "activityId"}`; unknown
routes answer with an HTML page instead, and some failures have an empty body — both are reported as such.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

__all__ = [
    "UEMAPIError",
    "UEMBadRequest",
    "UEMConflict",
    "UEMConnectionError",
    "UEMError",
    "UEMForbidden",
    "UEMNotFound",
    "UEMQuotaExhausted",
    "UEMRateLimited",
    "UEMReadOnlyError",
    "UEMRequestTimeout",
    "UEMResponseValidationError",
    "UEMServerError",
    "UEMSharedLimitError",
    "UEMTimeout",
    "UEMUnauthorized",
    "UEMUnprocessable",
    "error_from_response",
    "parse_retry_after",
]

# How much of a non-JSON body goes into the message: enough to recognise the page, never a whole document.
_BODY_EXCERPT_CHARS = 200


class UEMError(Exception):
    """Base of every error the UEM client raises.

    `sent` is False when the failing request certainly never reached the server (refused connection, token
    endpoint failure, read-only refusal, quota stop); the retry policy repeats a write only in that case or on
    an explicit 429/503 answer.
    """

    sent: bool = True


class UEMAPIError(UEMError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        error_code: int | None,
        message: str,
        activity_id: str | None,
        *,
        method: str = "",
        url: str = "",
        correlation_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.activity_id = activity_id
        self.method = method
        self.url = url
        self.correlation_id = correlation_id
        code = f" errorCode={error_code}" if error_code is not None else ""
        where = f" ({method} {url})" if method else ""
        super().__init__(f"HTTP {status}{code}: {message}{where}")


class UEMBadRequest(UEMAPIError):
    """400: the request was malformed (bad parameter, bad body)."""


class UEMUnauthorized(UEMAPIError):
    """401: wrong credentials or an expired/invalid token (errorCode 1005 on bad credentials)."""


class UEMForbidden(UEMAPIError):
    """403: bad tenant code (errorCode 1013) or missing permission."""


class UEMNotFound(UEMAPIError):
    """404: no such object (errorCode 5061 for devices) or, with an HTML body, no such route."""


class UEMRequestTimeout(UEMAPIError):
    """408: the server gave up waiting for the request; retried like a 5xx."""


class UEMConflict(UEMAPIError):
    """409: the object already exists or is in a conflicting state."""


class UEMUnprocessable(UEMAPIError):
    """422: syntactically valid but semantically rejected."""


class UEMRateLimited(UEMAPIError):
    """429: throttled. `retry_after` is the server's `Retry-After` in seconds, when it sent one."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class UEMServerError(UEMAPIError):
    """5xx: the service failed."""


class UEMConnectionError(UEMError):
    """The request failed in transport (refused, reset, dropped mid-response).

    `sent` says whether the request may have reached the server: False only when the connection could not be
    established at all, which is the one transport failure after which a write can safely be repeated.
    """

    def __init__(self, message: str, *, sent: bool, method: str = "", url: str = "") -> None:
        self.sent = sent
        self.method = method
        self.url = url
        super().__init__(f"{message} ({method} {url})" if method else message)


class UEMTimeout(UEMConnectionError):
    """The request timed out (connect, write, read or waiting for a pooled connection)."""


class UEMResponseValidationError(UEMError):
    """A 2xx body did not match the wire model (or was not JSON where JSON was promised)."""

    def __init__(self, message: str, *, method: str = "", url: str = "", body_excerpt: str = "") -> None:
        self.method = method
        self.url = url
        self.body_excerpt = body_excerpt
        super().__init__(f"{message} ({method} {url})" if method else message)


class UEMQuotaExhausted(UEMError):
    """Sending would take the daily quota below the configured reserve; nothing was sent."""

    def __init__(self, remaining: int, reserve: int, reset_epoch: float | None) -> None:
        self.remaining = remaining
        self.reserve = reserve
        self.reset_epoch = reset_epoch
        self.sent = False
        super().__init__(
            f"daily API quota: {remaining} calls left, reserve is {reserve}; "
            f"stopping until the quota resets (x-ratelimit-reset={reset_epoch})"
        )


class UEMSharedLimitError(UEMError):
    """The cross-process rate limit (a Prefect global rate limit) could not be used; nothing was sent."""

    def __init__(self, message: str) -> None:
        self.sent = False
        super().__init__(message)


class UEMReadOnlyError(UEMError):
    """The client is read-only and refused to send a write."""

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.sent = False
        super().__init__(f"read-only client refused {method} {path} (nothing was sent)")


_BY_STATUS: dict[int, type[UEMAPIError]] = {
    400: UEMBadRequest,
    401: UEMUnauthorized,
    403: UEMForbidden,
    404: UEMNotFound,
    408: UEMRequestTimeout,
    409: UEMConflict,
    422: UEMUnprocessable,
    429: UEMRateLimited,
}


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds; the HTTP-date form is rare on APIs and treated as absent."""
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def _describe_body(response: httpx.Response) -> tuple[int | None, str, str | None]:
    """(errorCode, message, activityId) from an error response, whatever its body looks like."""
    raw = response.content
    if not raw.strip():
        return None, f"empty response body ({response.reason_phrase or 'no reason phrase'})", None
    content_type = response.headers.get("content-type", "")
    try:
        data = json.loads(raw)
    except ValueError:
        kind = "HTML page" if "html" in content_type or raw.lstrip()[:1] == b"<" else "non-JSON body"
        excerpt = " ".join(response.text[:_BODY_EXCERPT_CHARS].split())
        return None, f"{kind} instead of a JSON error: {excerpt}", None
    if isinstance(data, dict):
        # The real body is camelCase; PascalCase variants appear in older modules, so accept both.
        code = data.get("errorCode", data.get("ErrorCode"))
        message = data.get("message", data.get("Message"))
        if message is None and "error" in data:
            # OAuth token endpoints answer RFC 6749 bodies: {"error": "invalid_client", "error_description"}.
            message = " — ".join(str(data[k]) for k in ("error", "error_description") if data.get(k))
        activity = data.get("activityId", data.get("ActivityId"))
        return (
            int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else None,
            str(message) if message is not None else json.dumps(data)[:_BODY_EXCERPT_CHARS],
            str(activity) if activity is not None else None,
        )
    return None, f"unexpected JSON error body: {json.dumps(data)[:_BODY_EXCERPT_CHARS]}", None


def error_from_response(response: httpx.Response) -> UEMAPIError:
    """The typed error for a non-2xx response (the body must already be read)."""
    status = response.status_code
    code, message, activity = _describe_body(response)
    # Error 1013 repeats the tenant code it was sent ("Tenant code … does not identify …"); the code is the
    # tenant's API key, so it never reaches a log, a run state or a ticket through this message.
    tenant_code = response.request.headers.get("aw-tenant-code")
    if tenant_code and len(tenant_code) >= 4:
        message = message.replace(tenant_code, "[tenant code redacted]")
    cls = _BY_STATUS.get(status) or (UEMServerError if status >= 500 else UEMAPIError)
    kwargs: dict[str, Any] = {
        "method": response.request.method,
        "url": str(response.request.url.copy_with(query=None)),
        "correlation_id": response.headers.get("x-correlation-id"),
    }
    if cls is UEMRateLimited:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(status, code, message, activity, **kwargs)
