"""The CLI, the generated coverage list, and building a state from a hand-made fleet."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.sandbox.conftest import basic_headers
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.cli import sandbox_app
from ws1ai.sandbox.fleet import Fleet

ROOT = Path(__file__).resolve().parents[2]


def test_serve_help_explains_options() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--devices", "--seed", "--days", "--rate-limit-per-minute"):
        assert option in result.output


def test_coverage_file_is_current() -> None:
    script = ROOT / "scripts" / "gen_sandbox_coverage.py"
    done = subprocess.run([sys.executable, str(script), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = (ROOT / "ws1ai" / "sandbox" / "COVERAGE.md").read_text()
    assert "| UEM mdm | GET | `/API/mdm/devices/search` |" in text


def _tiny() -> Fleet:
    seen = datetime(2026, 3, 1, 9, 30)
    devices = pl.DataFrame(
        {
            "device_id": [1, 2],
            "uuid": ["aaaaaaaa-0000-4000-a000-000000000001", "aaaaaaaa-0000-4000-a000-000000000002"],
            "serial_number": ["SN1", "SN2"],
            "platform": ["Apple", "WinRT"],
            "model": ["iPhone 15", "Latitude 7440"],
            "os_version": ["17.4", "10.0.22631"],
            "ownership": ["C", "E"],
            "user_name": ["ann", "bob"],
            "user_email": ["ann@x.test", "bob@x.test"],
            "department": ["Sales", "IT"],
            "role": ["AE", "Admin"],
            "location_group_id": [1201, 1202],
            "enrolled_on": [seen, seen],
            "last_seen": [seen, seen],
            "compliance_status": ["Compliant", "NonCompliant"],
            "compromised": [False, False],
            "encrypted": [True, False],
            "purchase_date": [date(2024, 1, 1)] * 2,
            "warranty_end": [date(2027, 1, 1)] * 2,
        }
    )
    telemetry = pl.DataFrame(
        {
            "device_id": [1, 2],
            "date": [date(2026, 3, 1)] * 2,
            "battery_health_pct": [91.0, None],
            "battery_cycles": [120, None],
            "storage_used_pct": [40.0, 75.0],
            "crash_count": [0, 2],
            "kernel_panic_count": [0, 1],
            "thermal_event_count": [0, 0],
        }
    )
    empty = pl.DataFrame()
    return Fleet(
        devices=devices,
        telemetry=telemetry,
        failures=empty,
        apps=pl.DataFrame(
            {
                "app_id": [7],
                "name": ["Slack"],
                "bundle_id": ["com.slack"],
                "platform": ["Apple"],
                "license_cost_usd": [8.0],
            }
        ),
        app_installs=pl.DataFrame({"device_id": [1], "app_id": [7], "installed_on": [date(2025, 1, 1)]}),
        app_usage=pl.DataFrame({"device_id": pl.Series([], dtype=pl.Int64)}),
        employees=pl.DataFrame(
            {
                "employee_id": ["E1"],
                "name": ["Ann Lee"],
                "email": ["ann@x.test"],
                "department": ["Sales"],
                "role": ["AE"],
                "location": ["Austin"],
                "manager_email": ["boss@x.test"],
                "start_date": [date(2020, 1, 1)],
                "end_date": pl.Series([None], dtype=pl.Date),
                "status": ["active"],
            }
        ),
        threat_signals=pl.DataFrame({"device_id": pl.Series([], dtype=pl.Int64)}),
        profiles=pl.DataFrame(
            {"profile_id": [3], "name": ["Wi-Fi"], "platform": ["Apple"], "kind": ["Device"]}
        ),
        device_profiles=pl.DataFrame({"device_id": [1], "profile_id": [3]}),
        smart_groups=pl.DataFrame(
            {
                "smart_group_id": [5],
                "name": ["Sales"],
                "department": ["Sales"],
                "role": pl.Series([None], dtype=pl.String),
            }
        ),
        start=date(2026, 3, 1),
        end=date(2026, 3, 1),
    )


def test_state_from_a_hand_built_fleet() -> None:
    state = SandboxState.from_fleet(_tiny())
    with TestClient(create_app(state)) as client:
        client.headers.update(basic_headers())
        body = client.get("/api/mdm/devices/search").json()
        assert [d["SerialNumber"] for d in body["Devices"]] == ["SN1", "SN2"]
        ann = body["Devices"][0]
        assert ann["LocationGroupName"] == "Austin" and ann["UserId"]["Name"] == "ann"
        assert ann["AvailableDeviceCapacity"] < ann["DeviceCapacity"] and ann["BatteryLevel"].endswith("%")
        assert body["Devices"][1]["BatteryLevel"] == ""  # no battery in the telemetry
        assert client.get("/api/mdm/smartgroups/5/devices").json()["Devices"][0]["Id"] == "1"
        app = client.get("/api/mam/apps/purchased/7").json()
        assert (app["AppType"], app["IsPaid"], app["InstalledDeviceCount"]) == ("Purchased", True, 1)
        r = client.get("/api/mdm/devices", params={"searchby": "ImeiNumber", "id": ann["Imei"]})
        assert r.json()["Id"]["Value"] == 1


def test_tenant_clock_starts_the_day_after_the_fleet() -> None:
    state = SandboxState.from_fleet(_tiny())
    with TestClient(create_app(state)) as client:
        client.headers.update(basic_headers())
        assert client.post("/api/mdm/devices/1/commands?command=SyncDevice").status_code == 202
        assert client.get("/api/mdm/devices/1").json()["LastSeen"].startswith("2026-03-02T00:0")
