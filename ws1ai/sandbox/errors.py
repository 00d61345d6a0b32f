"""Every error body the sandbox sends, in one place (moto style).

UEM errors are `{"errorCode": int, "message": str, "activityId": "<guid>"}` (docs/uem-api.md#errors).
Codes marked "real" were seen in recorded traffic; the others are the sandbox's documented choice, because the
public material does not name a code for that case.

| code | HTTP | when | origin |
|---|---|---|---|
| 1005 | 401 | bad/missing Basic credentials | real |
| 1013 | 403 | missing/unknown `aw-tenant-code` | real |
| 1018 | 401 | Bearer token unknown or expired | sandbox choice |
| 5061 | 404 | device not found | real ("Device not found for this request.") |
| 5060 | 404 | another resource (profile, app, group, tag, user...) not found | sandbox choice |
| 1002 | 400 | invalid parameter or body | sandbox choice |
| 1021 | 429 | per-minute server throttle exceeded | sandbox choice |
| 1022 | 429 | daily quota exhausted | sandbox choice |
| 5070 | — | bulk item: the device's state does not allow the operation (a `Fault`) | sandbox choice |
| 9999 | 5xx | injected server fault | sandbox choice |

Unknown routes answer with IIS/ASP.NET's HTML 404 page, as the real API does. The OAuth token endpoint
answers RFC 6749 errors (`{"error":"invalid_client"}`, 400). ServiceNow and the HRIS have their own shapes.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import HTMLResponse, Response

__all__ = [
    "BAD_CREDENTIALS",
    "BAD_REQUEST",
    "BAD_TENANT_CODE",
    "DEVICE_NOT_FOUND",
    "INJECTED_FAULT",
    "NOT_APPLICABLE",
    "NOT_FOUND",
    "QUOTA_EXHAUSTED",
    "THROTTLED",
    "TOKEN_INVALID",
    "ApiError",
    "error_body",
    "error_response",
    "html_not_found",
    "json_response",
    "method_not_allowed",
    "new_activity_id",
    "oauth_error",
    "servicenow_error",
]

BAD_CREDENTIALS = 1005
BAD_TENANT_CODE = 1013
TOKEN_INVALID = 1018
DEVICE_NOT_FOUND = 5061
NOT_FOUND = 5060
BAD_REQUEST = 1002
THROTTLED = 1021
QUOTA_EXHAUSTED = 1022
INJECTED_FAULT = 9999
NOT_APPLICABLE = 5070

_DEFAULT_STATUS = {
    BAD_CREDENTIALS: 401,
    BAD_TENANT_CODE: 403,
    TOKEN_INVALID: 401,
    DEVICE_NOT_FOUND: 404,
    NOT_FOUND: 404,
    BAD_REQUEST: 400,
    THROTTLED: 429,
    QUOTA_EXHAUSTED: 429,
    INJECTED_FAULT: 500,
}


def new_activity_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """Raised anywhere in a route or the state; the app turns it into the exact UEM error response."""

    def __init__(
        self, code: int, message: str, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else _DEFAULT_STATUS.get(code, 400)
        self.headers = headers or {}

    @classmethod
    def device_not_found(cls) -> ApiError:
        return cls(DEVICE_NOT_FOUND, "Device not found for this request.")

    @classmethod
    def not_found(cls, what: str) -> ApiError:
        return cls(NOT_FOUND, f"{what} not found for this request.")

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(BAD_REQUEST, message)


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"errorCode": code, "message": message, "activityId": new_activity_id()}


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded response: device pages of 500 are large, and the stdlib encoder is the bottleneck."""
    return Response(
        orjson.dumps(content),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


def error_response(err: ApiError) -> Response:
    return json_response(error_body(err.code, err.message), err.status, err.headers)


_HTML_404 = """<!DOCTYPE html>
<html>
    <head>
        <title>The resource cannot be found.</title>
        <meta name="viewport" content="width=device-width" />
    </head>
    <body bgcolor="white">
            <span><H1>Server Error in '{app}' Application.<hr width=100% size=1 color=silver></H1>
            <h2> <i>The resource cannot be found.</i> </h2></span>
            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">
            <b> Description: </b>HTTP 404. The resource you are looking for (or one of its dependencies) \
could have been removed, had its name changed, or is temporarily unavailable. Please review the following \
URL and make sure that it is spelled correctly.
            <br><br>
            <b> Requested URL: </b>{path}<br><br>
    </body>
</html>
"""


def html_not_found(path: str) -> Response:
    """ASP.NET's 404 page; the application name is `/API/<module>` as on a real API host."""
    parts = [p for p in path.split("/") if p]
    module = parts[1] if len(parts) > 1 and parts[0].lower() == "api" else "API"
    app = f"/API/{module}" if module != "API" else "/API"
    return HTMLResponse(_HTML_404.format(app=app, path=path), status_code=404)


def method_not_allowed(method: str) -> Response:
    # ASP.NET Web API's own wording for a known path with the wrong verb.
    return json_response({"Message": f"The requested resource does not support http method '{method}'."}, 405)


def oauth_error(error: str, status: int = 400) -> Response:
    return json_response({"error": error}, status)


def servicenow_error(message: str, detail: str, status: int) -> Response:
    return json_response({"error": {"message": message, "detail": detail}, "status": "failure"}, status)
