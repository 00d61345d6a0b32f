"""Every error class, produced by the sandbox over HTTP (plus the body shapes a real tenant can send)."""

from __future__ import annotations

import socket

import httpx
import pytest
from pydantic import SecretStr

from tests.uem.conftest import inject_fault, make_settings, request_counts
from ws1ai.uem import (
    UEMAPIError,
    UEMBadRequest,
    UEMClient,
    UEMConflict,
    UEMConnectionError,
    UEMForbidden,
    UEMNotFound,
    UEMRateLimited,
    UEMRequestTimeout,
    UEMResponseValidationError,
    UEMServerError,
    UEMUnauthorized,
    UEMUnprocessable,
)
from ws1ai.uem.errors import error_from_response
from ws1ai.uem.schemas import DeviceV1
from ws1ai.uem.transport import parse_model


def test_wrong_password_is_401_with_the_real_error_code(http: httpx.Client) -> None:
    settings = make_settings(password=SecretStr("wrong"))
    with UEMClient(settings, http=http) as uem, pytest.raises(UEMUnauthorized) as info:
        uem.devices.search(page_size=1)
    assert info.value.status == 401
    assert info.value.error_code == 1005
    assert info.value.activity_id
    assert "wrong" not in str(info.value)
    assert uem.stats.requests == 1  # nothing to renew on Basic: a 401 is final


def test_wrong_tenant_code_is_403_1013(http: httpx.Client) -> None:
    uem = UEMClient(make_settings(tenant_code=SecretStr("nope")), http=http)
    with pytest.raises(UEMForbidden) as info:
        uem.devices.search(page_size=1)
    assert info.value.error_code == 1013


def test_unknown_device_is_404_5061(uem: UEMClient) -> None:
    with pytest.raises(UEMNotFound) as info:
        uem.devices.get(987_654_321)
    assert info.value.error_code == 5061
    assert info.value.message == "Device not found for this request."


def test_unknown_route_html_404_is_reported_as_such(uem: UEMClient) -> None:
    with pytest.raises(UEMNotFound) as info:
        uem.transport.request("GET", "/mdm/no-such-thing")
    assert info.value.error_code is None
    assert "HTML page" in info.value.message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, UEMBadRequest),
        (403, UEMForbidden),
        (404, UEMNotFound),
        (409, UEMConflict),
        (422, UEMUnprocessable),
    ],
)
def test_client_errors_are_typed_and_never_retried(
    http: httpx.Client, uem: UEMClient, status: int, cls: type[UEMAPIError]
) -> None:
    inject_fault(http, route="/api/system/info", kind="5xx", status=status, count=5)
    with pytest.raises(cls) as info:
        uem.system.info()
    assert info.value.status == status
    assert uem.stats.requests == 1
    assert uem.stats.retries == 0


@pytest.mark.parametrize(
    ("status", "cls"), [(408, UEMRequestTimeout), (500, UEMServerError), (502, UEMServerError)]
)
def test_retryable_statuses_are_retried_until_the_cap(
    http: httpx.Client, uem: UEMClient, status: int, cls: type[UEMAPIError]
) -> None:
    inject_fault(http, route="/api/system/info", kind="5xx", status=status, count=50)
    with pytest.raises(cls):
        uem.system.info()
    assert uem.stats.requests == uem.settings.max_retries + 1


def test_a_429_storm_longer_than_the_retry_count_is_waited_out(http: httpx.Client, uem: UEMClient) -> None:
    """Throttling is the server asking us to wait, not a failure: 50 429s (ten times the retry count, which
    failed the call before) delay it, and it then succeeds."""
    inject_fault(http, route="/api/system/info", kind="429", retry_after=0, count=50)
    assert uem.system.info() is not None
    assert uem.stats.rate_limited == 50
    assert request_counts(http)["throttled_429"] == 50


def test_a_429_storm_longer_than_the_wait_budget_surfaces_as_rate_limited(http: httpx.Client) -> None:
    inject_fault(http, route="/api/system/info", kind="429", retry_after=1, count=50)
    with UEMClient(make_settings(throttle_wait_seconds=1.5), http=http) as uem:
        with pytest.raises(UEMRateLimited) as info:
            uem.system.info()
        assert info.value.retry_after == 1
        # Each 429 pauses the credential 1 s: the budget of 1.5 s allows the first wait and then gives up.
        assert 2 <= uem.stats.rate_limited <= 3
    assert request_counts(http)["throttled_429"] == uem.stats.rate_limited


def test_connection_refused_is_a_typed_error_not_an_httpx_one() -> None:
    sock = socket.socket()  # a port that was free a moment ago: nobody listens on it
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    uem = UEMClient(make_settings(f"http://127.0.0.1:{port}", max_retries=1))
    with uem, pytest.raises(UEMConnectionError) as info:
        uem.system.info()
    assert info.value.sent is False
    assert uem.stats.requests == 2  # refused connections are retried (nothing reached a server)


def _response(status: int, content: bytes, content_type: str) -> httpx.Response:
    request = httpx.Request("GET", "https://as1234.example/API/mdm/devices/1")
    return httpx.Response(status, content=content, headers={"content-type": content_type}, request=request)


def test_empty_error_body_says_so() -> None:
    error = error_from_response(_response(503, b"", "text/plain"))
    assert isinstance(error, UEMServerError)
    assert "empty response body" in error.message


def test_pascal_case_error_body_is_understood() -> None:
    body = b'{"ErrorCode": 5061, "Message": "Device not found for this request.", "ActivityId": "a-1"}'
    error = error_from_response(_response(404, body, "application/json"))
    assert (error.error_code, error.activity_id) == (5061, "a-1")


def test_unknown_field_fails_validation_under_strict_models() -> None:
    response = _response(200, b"{}", "application/json")
    with pytest.raises(UEMResponseValidationError):
        parse_model(DeviceV1, {"SerialNumber": "X", "NotARealField": 1}, response)
