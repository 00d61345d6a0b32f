"""Event notifications delivered to a real local receiver; ServiceNow, HRIS and the report export."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import first_device
from ws1ai.settings import HRISSettings, ServiceNowSettings


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.calls.append((self.headers.get("Authorization", ""), body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _configure(client: httpx.Client, url: str, **events: bool) -> int:
    body = {
        "TargetName": "ws1ai",
        "TargetUrl": url,
        "Username": "hook",
        "Password": "hook-secret",
        "Format": 1,
        "IsActive": True,
        "DeviceEvents": events,
    }
    created = client.post("/api/system/eventnotifications", json=body)
    assert created.status_code == 200
    value: int = created.json()["Value"]
    return value


def test_compliance_change_posts_real_payload_with_basic_auth(
    client: httpx.Client, receiver: Receiver
) -> None:
    cfg = _configure(client, receiver.url, ComplianceStatusChange=True)
    assert "Password" not in client.get(f"/api/system/eventnotifications/{cfg}").json()
    dev = first_device(client, compliantstatus="true")
    receiver.fail_first = 1  # the first POST fails: the sandbox re-sends, like UEM
    r = client.post(
        f"/_sandbox/devices/{dev['Id']['Value']}/compliance", json={"ComplianceStatus": "NonCompliant"}
    )
    assert r.json()["changed"] is True
    assert client.post("/_sandbox/webhooks/drain").json()["drained"]
    ((auth, payload),) = receiver.calls
    assert auth == "Basic " + base64.b64encode(b"hook:hook-secret").decode()
    assert (
        payload["EventType"] == "Compliance Status Changed" and payload["ComplianceStatus"] == "NonCompliant"
    )
    assert payload["DeviceId"] == dev["Id"]["Value"] and payload["SerialNumber"] == dev["SerialNumber"]
    assert {"EventId", "EventTime", "Udid", "DeviceUUID", "EnrollmentStatus", "OrganizationGroupName"} <= set(
        payload
    )
    assert (
        client.get(
            "/api/mdm/devices/search", params={"compliantstatus": "false", "user": dev["UserName"]}
        ).status_code
        == 200
    )


def test_wipe_event_only_when_enabled(client: httpx.Client, receiver: Receiver) -> None:
    _configure(client, receiver.url, Wipe=True)
    dev = first_device(client)
    client.post(
        f"/_sandbox/devices/{dev['Id']['Value']}/compliance", json={"ComplianceStatus": "NonCompliant"}
    )
    client.post(f"/api/mdm/devices/{dev['Id']['Value']}/commands?command=DeviceWipe")
    client.post("/_sandbox/webhooks/drain")
    assert [p["EventType"] for _, p in receiver.calls] == ["Device Wipe"]
    assert receiver.calls[0][1]["EnrollmentStatus"] == "DeviceWipePending"


def test_servicenow_incident_lifecycle(client: httpx.Client) -> None:
    sn = ServiceNowSettings(_env_file=None)  # type: ignore[call-arg]
    auth = (sn.username, sn.password.get_secret_value())
    body = {
        "short_description": "Battery failing",
        "description": "predicted",
        "caller_id": "wei.rossi",
        "impact": "2",
        "urgency": "2",
        "correlation_id": "ws1ai-1",
    }
    assert client.post("/api/now/table/incident", json=body, auth=("x", "y")).status_code == 401
    created = client.post("/api/now/table/incident", json=body, auth=auth)
    assert created.status_code == 201
    result = created.json()["result"]
    assert result["number"].startswith("INC") and len(result["sys_id"]) == 32 and result["priority"] == "3"
    assert result["caller_id"]["value"] == "wei.rossi" and created.headers["Location"].endswith(
        result["sys_id"]
    )
    sys_id = result["sys_id"]
    assert client.get(f"/api/now/table/incident/{sys_id}", auth=auth).json()["result"]["state"] == "1"
    patched = client.patch(f"/api/now/table/incident/{sys_id}", json={"state": "6"}, auth=auth).json()[
        "result"
    ]
    assert patched["state"] == "6" and patched["resolved_at"]
    found = client.get(
        "/api/now/table/incident", params={"sysparm_query": "correlation_id=ws1ai-1"}, auth=auth
    )
    assert [i["sys_id"] for i in found.json()["result"]] == [sys_id] and found.headers["X-Total-Count"] == "1"
    slim = client.get(
        f"/api/now/table/incident/{sys_id}", params={"sysparm_fields": "number,state"}, auth=auth
    )
    assert slim.json()["result"] == {"number": result["number"], "state": "6"}
    missing = client.get("/api/now/table/incident/" + "0" * 32, auth=auth)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "No Record found"


def test_hris_employees_and_changes(client: httpx.Client) -> None:
    key = {"X-API-Key": HRISSettings(_env_file=None).api_key.get_secret_value()}  # type: ignore[call-arg]
    assert client.get("/hris/employees", headers={"X-API-Key": "nope"}).status_code == 401
    page = client.get("/hris/employees", params={"page": 1, "page_size": 5}, headers=key).json()
    assert (
        list(page) == ["employees", "page", "page_size", "total", "has_more"] and len(page["employees"]) == 5
    )
    assert {
        "employee_id",
        "name",
        "email",
        "department",
        "role",
        "location",
        "manager_email",
        "start_date",
        "end_date",
        "status",
    } == set(page["employees"][0])
    changes = client.get("/hris/employees/changes", params={"since": "2000-01-01"}, headers=key).json()
    assert changes["count"] == len(changes["changes"]) > 0
    assert {c["change_type"] for c in changes["changes"]} <= {"hire", "termination", "move"}
    assert client.get("/hris/employees/changes", headers=key).status_code == 400


def test_report_export_csv(client: httpx.Client) -> None:
    reports = client.get("/v1/reports").json()["data"]["results"]
    rid = next(r["id"] for r in reports if r["name"] == "Device Telemetry Daily")
    run = client.post(f"/v1/reports/{rid}/run").json()["data"]
    found = client.post(f"/v1/reports/{rid}/downloads/search", json={"offset": 0, "page_size": 200}).json()
    assert found["data"]["results"][0]["id"] == run["id"]
    download = client.get(f"/v1/reports/tracking/{run['id']}/download")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert list(rows[0]) == [
        "device_id",
        "date",
        "battery_health_pct",
        "battery_cycles",
        "storage_used_pct",
        "crash_count",
        "kernel_panic_count",
        "thermal_event_count",
    ]
    assert len(rows) > 300


def test_enrollment_adds_a_device_and_notifies(client: httpx.Client, receiver: Receiver) -> None:
    _configure(client, receiver.url, Enrollment=True)
    key = {"X-API-Key": HRISSettings(_env_file=None).api_key.get_secret_value()}  # type: ignore[call-arg]
    email = client.get("/hris/employees", params={"page_size": 1}, headers=key).json()["employees"][0][
        "email"
    ]
    total = client.get("/api/mdm/devices/search", params={"pagesize": 1}).json()["Total"]
    made = client.post("/_sandbox/devices/enroll", json={"user_email": email, "platform": "WinRT"})
    assert made.status_code == 201
    dev = client.get(f"/api/mdm/devices/{made.json()['DeviceId']}").json()
    assert (dev["UserEmailAddress"], dev["Platform"], dev["EnrollmentStatus"]) == (email, "WinRT", "Enrolled")
    assert client.get("/api/mdm/devices/search", params={"pagesize": 1}).json()["Total"] == total + 1
    client.post("/_sandbox/webhooks/drain")
    assert [p["EventType"] for _, p in receiver.calls] == ["Enrollment Complete"]
