"""Bulk routes over HTTP: exact BulkResponse, one Fault per failed value, the per-device routes' side effects.

Also the spec's enums on the bulk command route, per-item faults injected through `/_sandbox/bulk-faults`, and
the request-level faults of `/_sandbox/faults` on bulk routes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import basic_headers
from ws1ai.sandbox.server import serve_in_background
from ws1ai.sandbox.state import SandboxState

PUSH = {"MessageBody": "Please restart", "Application": "AirWatch Agent", "MessageType": "Apns"}


def _devices(client: httpx.Client, n: int, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/mdm/devices/search", params={"pagesize": 500, **params})
    assert r.status_code == 200, r.text
    enrolled = [d for d in r.json()["Devices"] if d["EnrollmentStatus"] == "Enrolled"]
    assert len(enrolled) >= n
    return enrolled[:n]


def _ledger(client: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get("/_sandbox/ledger").json()["entries"]
    return entries


def _per_device(client: httpx.Client, operation: str) -> dict[int, int]:
    """How many times each device got `operation`, single and bulk calls alike."""
    counts: dict[int, int] = {}
    for entry in _ledger(client):
        if entry["operation"] == operation:
            for device_id in entry["device_ids"]:
                counts[device_id] = counts.get(device_id, 0) + 1
    return counts


def _events(client: httpx.Client, device_id: int) -> list[str]:
    body = client.get(f"/api/mdm/devices/{device_id}/eventlog").json()
    return [e["Event"] for e in body["DeviceEventLogEntries"]]


def test_bulkpush_reports_each_failed_value_and_pushes_the_rest(client: httpx.Client) -> None:
    ok, wiped, single = _devices(client, 3)
    assert (
        client.post(f"/api/mdm/devices/{wiped['Id']['Value']}/commands?command=EnterpriseWipe").status_code
        == 202
    )
    assert (
        client.post(f"/api/mdm/devices/{single['Id']['Value']}/messages/push", json=PUSH).status_code == 202
    )

    r = client.post(
        "/api/mdm/devices/messages/bulkpush",
        params={"searchBy": "Serialnumber"},  # capital B, as the spec spells it here
        json={
            **PUSH,
            "BulkValues": {
                "Value": [ok["SerialNumber"], wiped["SerialNumber"], "NOPE", single["SerialNumber"]]
            },
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["TotalItems", "AcceptedItems", "FailedItems", "Faults"]
    assert (body["TotalItems"], body["AcceptedItems"], body["FailedItems"]) == (4, 2, 2)
    faults = {f["ItemValue"]: f for f in body["Faults"]["Fault"]}
    assert set(faults) == {wiped["SerialNumber"], "NOPE"}
    assert faults["NOPE"] == {
        "ErrorCode": 5061,
        "ItemValue": "NOPE",
        "Message": "Device not found for this request.",
    }
    assert faults[wiped["SerialNumber"]]["ErrorCode"] == 5070
    assert "EnterpriseWipePending" in faults[wiped["SerialNumber"]]["Message"]

    # The same ledger and device log as single pushes: pushes per device count across both forms.
    assert _per_device(client, "Message.push") == {ok["Id"]["Value"]: 1, single["Id"]["Value"]: 2}
    assert _ledger(client)[-1]["failed"] == [wiped["SerialNumber"], "NOPE"]
    assert "PUSH message sent" in _events(client, ok["Id"]["Value"])
    assert "PUSH message sent" not in _events(client, wiped["Id"]["Value"])


def test_bulk_command_takes_only_the_specs_enums(client: httpx.Client) -> None:
    (dev,) = _devices(client, 1)
    body = {"BulkValues": {"Value": [dev["SerialNumber"]]}}
    url = "/api/mdm/devices/commands/bulk"
    lock = client.post(url, params={"command": "Lock", "searchby": "Serialnumber"}, json=body)
    assert lock.status_code == 400 and lock.json()["errorCode"] == 1002  # the bulk enum says LockDevice
    by_id = client.post(url, params={"command": "LockDevice", "searchby": "DeviceId"}, json=body)
    assert by_id.status_code == 400 and "searchby" in by_id.json()["message"]
    assert client.post(url, params={"command": "LockDevice"}, json=body).status_code == 400
    empty = client.post(
        url, params={"command": "LockDevice", "searchby": "Serialnumber"}, json={"BulkValues": {"Value": []}}
    )
    assert empty.status_code == 400
    ok = client.post(url, params={"command": "lockdevice", "searchby": "serialnumber"}, json=body)
    assert ok.status_code == 200 and ok.json()["AcceptedItems"] == 1
    assert [e["operation"] for e in _ledger(client)] == ["Command.LockDevice"]


def test_bulk_command_faults_devices_whose_state_does_not_allow_it(
    client: httpx.Client, state: SandboxState
) -> None:
    apple = _devices(client, 1, platform="Apple")[0]
    android = _devices(client, 1, platform="Android")[0]
    sns = [apple["SerialNumber"], android["SerialNumber"]]
    url = "/api/mdm/devices/commands/bulk"

    update = client.post(
        url,
        params={"command": "ScheduleOsUpdate", "searchby": "Serialnumber"},
        json={"BulkValues": {"Value": sns}},
    )
    assert update.json()["AcceptedItems"] == 1
    assert [(f["ItemValue"], f["ErrorCode"]) for f in update.json()["Faults"]["Fault"]] == [
        (android["SerialNumber"], 5070)
    ]

    first = client.post(
        url,
        params={"command": "EnterpriseWipe", "searchby": "Serialnumber"},
        json={"BulkValues": {"Value": sns}},
    )
    assert first.json()["AcceptedItems"] == 2
    again = client.post(
        url,
        params={"command": "EnterpriseWipe", "searchby": "Serialnumber"},
        json={"BulkValues": {"Value": sns}},
    )
    assert (again.json()["AcceptedItems"], again.json()["FailedItems"]) == (0, 2)  # already pending
    assert _per_device(client, "Command.EnterpriseWipe") == {
        apple["Id"]["Value"]: 1,
        android["Id"]["Value"]: 1,
    }
    assert state.devices[apple["Id"]["Value"]].enrollment_status == "EnterpriseWipePending"


def test_injected_item_fault_fails_that_value_only_then_is_used_up(client: httpx.Client) -> None:
    a, b = _devices(client, 2)
    tag = client.get("/api/mdm/tags/search").json()["Tags"][0]["Id"]["Value"]
    ids = [str(a["Id"]["Value"]), str(b["Id"]["Value"])]
    spec = {
        "value": ids[1],
        "route": "adddevices",
        "error_code": 400,
        "message": "Tag assignment failed",
        "count": 1,
    }
    assert client.post("/_sandbox/bulk-faults", json=spec).status_code == 201
    assert client.post("/_sandbox/bulk-faults", json={"route": "x"}).status_code == 400

    first = client.post(f"/api/mdm/tags/{tag}/adddevices", json={"BulkValues": {"Value": ids}}).json()
    assert first["Faults"]["Fault"] == [
        {"ErrorCode": 400, "ItemValue": ids[1], "Message": "Tag assignment failed"}
    ]
    tagged = {d["DeviceId"] for d in client.get(f"/api/mdm/tags/{tag}/devices").json()["Device"]}
    assert int(ids[0]) in tagged and int(ids[1]) not in tagged
    assert _ledger(client)[-1]["failed"] == [ids[1]]
    assert client.get("/_sandbox/bulk-faults").json()[0]["remaining"] == 0

    second = client.post(f"/api/mdm/tags/{tag}/adddevices", json={"BulkValues": {"Value": ids[1:]}}).json()
    assert second["AcceptedItems"] == 1

    client.post("/_sandbox/bulk-faults", json={"value": "anything"})
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/bulk-faults").json() == []  # a reset clears item faults like the others


@pytest.mark.parametrize("route", ["bulkpush", "commands/bulk", "adddevices"])
def test_request_faults_apply_to_bulk_routes(client: httpx.Client, route: str) -> None:
    (dev,) = _devices(client, 1)
    client.post("/_sandbox/faults", json={"route": route, "kind": "5xx", "status": 500, "count": 1})
    tag = client.get("/api/mdm/tags/search").json()["Tags"][0]["Id"]["Value"]
    calls = {
        "bulkpush": (
            "/api/mdm/devices/messages/bulkpush?searchBy=Serialnumber",
            {**PUSH, "BulkValues": {"Value": [dev["SerialNumber"]]}},
        ),
        "commands/bulk": (
            "/api/mdm/devices/commands/bulk?command=SoftReset&searchby=Serialnumber",
            {"BulkValues": {"Value": [dev["SerialNumber"]]}},
        ),
        "adddevices": (
            f"/api/mdm/tags/{tag}/adddevices",
            {"BulkValues": {"Value": [str(dev["Id"]["Value"])]}},
        ),
    }
    url, body = calls[route]
    assert client.post(url, json=body).status_code == 500
    assert _ledger(client) == []
    assert client.post(url, json=body).status_code == 200


def test_a_dropped_bulk_response_still_applied_the_write(state: SandboxState) -> None:
    with serve_in_background(state) as url, httpx.Client(base_url=url, headers=basic_headers()) as http:
        (dev,) = _devices(http, 1)
        http.post("/_sandbox/faults", json={"route": "bulkpush", "kind": "drop_after", "count": 1})
        with pytest.raises(httpx.TransportError):
            http.post(
                "/api/mdm/devices/messages/bulkpush",
                params={"searchBy": "Serialnumber"},
                json={**PUSH, "BulkValues": {"Value": [dev["SerialNumber"]]}},
            )
        assert _per_device(http, "Message.push") == {dev["Id"]["Value"]: 1}
