"""ServiceNow and HRIS connectors against the sandbox over HTTP (in-process ASGI)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ws1ai.connectors.hris import EMPLOYEE_SCHEMA, HRISClient
from ws1ai.connectors.http import ConnectorAPIError, ConnectorReadOnlyError
from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.settings import HRISSettings, ServiceNowSettings


@pytest.fixture(scope="module")
def http() -> TestClient:
    return TestClient(create_app(SandboxState.seeded(devices=300, seed=5, days=5)), base_url="http://sandbox")


def test_hris_pages_all_employees_into_the_contract_frame(http: TestClient) -> None:
    hris = HRISClient(HRISSettings(base_url="http://sandbox/hris"), http=http, page_size=40)
    frame = hris.employees_frame()
    assert frame.schema == pl.Schema(EMPLOYEE_SCHEMA)
    total = http.get("/hris/employees", headers={"X-API-Key": "sandbox-hris-key"}).json()["total"]
    assert total > 40 * 3  # the walk really crossed several pages
    assert frame.height == total
    assert frame["employee_id"].n_unique() == frame.height
    assert set(frame["status"].unique()) <= {"active", "pending_start", "terminated"}
    one = hris.employee(frame["employee_id"][0])
    assert one.email == frame["email"][0]


def test_hris_changes_and_bad_key(http: TestClient) -> None:
    hris = HRISClient(HRISSettings(base_url="http://sandbox/hris"), http=http)
    changes = hris.changes(date(2000, 1, 1))
    assert {c.change_type for c in changes} >= {"hire"}
    bad = HRISClient(HRISSettings(base_url="http://sandbox/hris", api_key=SecretStr("wrong")), http=http)
    with pytest.raises(ConnectorAPIError) as err:
        bad.employees_frame()
    assert err.value.status == 401


def test_servicenow_incident_round_trip_and_lookup_by_correlation_id(http: TestClient) -> None:
    sn = ServiceNowClient(ServiceNowSettings(base_url="http://sandbox"), http=http)
    created = sn.create_incident(
        {"short_description": "Battery failing", "description": "ctx", "correlation_id": "cid-123"}
    )
    assert created.number.startswith("INC")
    assert sn.get_incident(created.sys_id).short_description == "Battery failing"
    updated = sn.update_incident(created.sys_id, {"state": "2"})
    assert updated.state == "2"
    assert [i.sys_id for i in sn.find_incidents("correlation_id=cid-123")] == [created.sys_id]
    assert sn.find_incidents("correlation_id=nope") == []


def test_servicenow_auth_and_read_only(http: TestClient) -> None:
    bad = ServiceNowClient(
        ServiceNowSettings(base_url="http://sandbox", password=SecretStr("wrong")), http=http
    )
    with pytest.raises(ConnectorAPIError) as err:
        bad.find_incidents("active=true")
    assert err.value.status == 401
    ro = ServiceNowClient(ServiceNowSettings(base_url="http://sandbox"), http=http, read_only=True)
    with pytest.raises(ConnectorReadOnlyError):
        ro.create_incident({"short_description": "x"})
