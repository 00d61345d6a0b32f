"""What every request crosses: auth with the real error codes, headers, HTML 404, throttle, quota, faults."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.conftest import basic_headers
from ws1ai.sandbox import SandboxState
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import UEMSettings

SEARCH = "/API/mdm/devices/search?pagesize=1"


def test_every_response_has_rate_limit_and_correlation_headers(client: httpx.Client) -> None:
    first = client.get(SEARCH)
    second = client.get(SEARCH)
    for r in (first, second):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-correlation-id"} <= set(
            r.headers
        )
        assert r.headers["x-api-version"] == "v1"
    assert int(second.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    assert int(first.headers["x-ratelimit-reset"]) > 1_600_000_000  # epoch seconds
    assert (
        client.get("/API/mdm/devices/search", headers={"x-correlation-id": "abc-1"}).headers[
            "x-correlation-id"
        ]
        == "abc-1"
    )


def test_paths_are_case_insensitive(client: httpx.Client) -> None:
    assert client.get("/api/MDM/Devices/Search?pagesize=1").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (basic_headers(password="wrong"), 401, 1005),
        (basic_headers(user="someone"), 401, 1005),
        (basic_headers(tenant="XYZ"), 403, 1013),
        ({"Authorization": "Bearer not-a-token", "Accept": "application/json"}, 401, 1018),
    ],
)
def test_auth_failures_use_real_codes(
    client: httpx.Client, headers: dict[str, str], status: int, code: int
) -> None:
    client.headers.clear()
    r = client.get(SEARCH, headers=headers)
    assert r.status_code == status
    body = r.json()
    assert list(body) == ["errorCode", "message", "activityId"] and body["errorCode"] == code
    if code == 1013:
        assert body["message"] == "Tenant code XYZ does not identify an Organization Group."


def test_oauth_token_and_expiry(client: httpx.Client, state: SandboxState) -> None:
    cfg = UEMSettings(_env_file=None)  # type: ignore[call-arg]
    form = {
        "grant_type": "client_credentials",
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.get_secret_value(),
    }
    token = client.post("/connect/token", data=form).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {token['access_token']}", "aw-tenant-code": ""}
    client.headers.clear()
    assert client.get(SEARCH, headers=bearer).status_code == 200  # no tenant code needed with OAuth
    client.post("/_sandbox/clock", json={"advance_seconds": 3601})
    expired = client.get(SEARCH, headers=bearer)
    assert expired.status_code == 401 and expired.json()["errorCode"] == 1018
    bad = client.post("/connect/token", data={**form, "client_secret": "nope"})
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_client"}
    state.gate.token_lifetime_seconds = 5
    assert client.post("/connect/token", data=form).json()["expires_in"] == 5


def test_unknown_route_is_html_404(client: httpx.Client) -> None:
    r = client.get("/API/mdm/nothing/here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Server Error in '/API/mdm' Application." in r.text


def test_throttle_429_with_retry_after(client: httpx.Client, state: SandboxState) -> None:
    state.gate.throttle.limit = 3
    codes = [client.get(SEARCH).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get(SEARCH)
    assert r.status_code == 429 and r.json()["errorCode"] == 1021
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    client.post("/_sandbox/clock", json={"advance_seconds": 61})
    assert client.get(SEARCH).status_code == 200
    assert client.get("/_sandbox/requests").json()["throttled_429"] == 2


def test_daily_quota_exhaustion(client: httpx.Client, state: SandboxState) -> None:
    state.gate.daily_quota = 2
    assert [client.get(SEARCH).status_code for _ in range(3)] == [200, 200, 429]
    r = client.get(SEARCH)
    assert r.json()["errorCode"] == 1022 and r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["Retry-After"]) > 80_000  # the 24-hour window


def test_injected_faults_fire_count_times(client: httpx.Client) -> None:
    spec = {"route": r"/devices/search", "kind": "429", "count": 2, "retry_after": 7}
    assert client.post("/_sandbox/faults", json=spec).status_code == 201
    storm = [client.get(SEARCH) for _ in range(3)]
    assert [r.status_code for r in storm] == [429, 429, 200]
    assert storm[0].headers["Retry-After"] == "7"
    client.post(
        "/_sandbox/faults", json={"route": "devices/search", "kind": "5xx", "status": 502, "count": 1}
    )
    r = client.get(SEARCH)
    assert r.status_code == 502 and r.json()["errorCode"] == 9999
    client.post(
        "/_sandbox/faults", json={"route": "devices/search", "kind": "latency", "latency_seconds": 0.01}
    )
    assert client.get(SEARCH).status_code == 200
    assert client.get("/_sandbox/requests").json()["faults_served"] == 4
    assert client.post("/_sandbox/faults", json={"kind": "boom"}).status_code == 400


def test_drop_fault_closes_the_socket(state: SandboxState) -> None:
    with serve_in_background(state) as url, httpx.Client(base_url=url, headers=basic_headers()) as http:
        http.post("/_sandbox/faults", json={"route": "devices/search", "kind": "drop", "count": 1})
        with pytest.raises(httpx.TransportError):
            http.get(SEARCH)
        assert http.get(SEARCH).status_code == 200


def test_request_counts_per_route(client: httpx.Client) -> None:
    client.get(SEARCH)
    client.get(SEARCH)
    counts = client.get("/_sandbox/requests").json()
    assert counts["by_route"]["GET /api/mdm/devices/search"] == 2


def test_quota_headers_on_errors_and_other_apis_too(client: httpx.Client) -> None:
    for r in (
        client.get(SEARCH, headers={"aw-tenant-code": "bad"}),
        client.get("/api/mdm/nothing"),
        client.get("/hris/employees"),
        client.post("/connect/token", data={}),
    ):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-correlation-id"} <= set(
            r.headers
        ), r.url


def test_drop_after_processing_loses_the_response_not_the_write(state: SandboxState) -> None:
    with serve_in_background(state) as url, httpx.Client(base_url=url, headers=basic_headers()) as http:
        dev = http.get(SEARCH).json()["Devices"][0]["Id"]["Value"]
        http.post("/_sandbox/faults", json={"route": "/commands", "kind": "drop_after", "count": 1})
        with pytest.raises(httpx.TransportError):
            http.post(f"/api/mdm/devices/{dev}/commands?command=Lock")
        assert [e["operation"] for e in http.get("/_sandbox/ledger").json()["entries"]] == ["Command.Lock"]
