"""Device search and reads: exact v1/v2/v3 shapes, paging math, clamping, 204, filters, alternate ids."""

from __future__ import annotations

import re

import httpx

from tests.sandbox.conftest import DEVICES, basic_headers, first_device

# DeviceExtended fields (docs/uem-api.md#devices); Device (by id) = same minus EasIds/TimeZone.
V1_FIELDS = [
    "EasIds",
    "TimeZone",
    "Udid",
    "SerialNumber",
    "MacAddress",
    "Imei",
    "EasId",
    "AssetNumber",
    "DeviceFriendlyName",
    "DeviceReportedName",
    "LocationGroupId",
    "LocationGroupName",
    "UserId",
    "UserName",
    "DataProtectionStatus",
    "UserEmailAddress",
    "Ownership",
    "PlatformId",
    "Platform",
    "ModelId",
    "Model",
    "OperatingSystem",
    "PhoneNumber",
    "LastSeen",
    "EnrollmentStatus",
    "ComplianceStatus",
    "CompromisedStatus",
    "LastEnrolledOn",
    "LastComplianceCheckOn",
    "LastCompromisedCheckOn",
    "ComplianceSummary",
    "IsSupervised",
    "DeviceMCC",
    "IsRemoteManagementEnabled",
    "DataEncryptionYN",
    "AcLineStatus",
    "VirtualMemory",
    "OEMInfo",
    "DeviceCapacity",
    "AvailableDeviceCapacity",
    "LastSystemSampleTime",
    "IsDeviceDNDEnabled",
    "IsDeviceLocatorEnabled",
    "IsCloudBackupEnabled",
    "IsActivationLockEnabled",
    "IsNetworkTethered",
    "BatteryLevel",
    "IsRoaming",
    "LastNetworkLANSampleTime",
    "LastBluetoothSampleTime",
    "SystemIntegrityProtectionEnabled",
    "ProcessorArchitecture",
    "UserApprovedEnrollment",
    "EnrolledViaDEP",
    "TotalPhysicalMemory",
    "AvailablePhysicalMemory",
    "OSBuildVersion",
    "HostName",
    "LocalHostName",
    "SecurityPatchDate",
    "SystemUpdateReceivedTime",
    "IsSecurityPatchUpdate",
    "DeviceManufacturerId",
    "DeviceNetworkInfo",
    "DeviceCellularNetworkInfo",
    "EnrollmentUserUuid",
    "ManagedBy",
    "WifiSsid",
    "DepTokenSource",
    "Id",
    "Uuid",
]
V3_FIELDS = [
    "udid",
    "serial_number",
    "mac_address",
    "imei",
    "friendly_name",
    "device_reported_name",
    "organization_group_name",
    "total_storage_bytes",
    "available_storage_bytes",
    "total_physical_memory_bytes",
    "available_physical_memory_bytes",
    "total_external_storage_bytes",
    "available_external_storage_bytes",
    "battery_level_percentage",
    "computer_name",
    "supervised",
    "data_encrypted",
    "platform_info",
    "carrier_info",
    "enrollment_info",
    "os_build_version",
    "wifi_ssid",
    "last_reboot",
    "security_patch_date",
    "system_update_received_time",
    "is_security_patch_update",
    "hardware_device_identifier",
    "processor_architecture_name",
    "Links",
    "uuid",
]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")  # no zone


def test_search_v1_exact_shape(client: httpx.Client) -> None:
    r = client.get("/API/mdm/devices/search", params={"pagesize": 3})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["Devices", "Page", "PageSize", "Total"]
    assert (body["Page"], body["PageSize"], body["Total"]) == (0, 3, DEVICES)
    dev = body["Devices"][0]
    assert list(dev) == V1_FIELDS
    assert isinstance(dev["Id"]["Value"], int) and isinstance(dev["BatteryLevel"], str)
    assert isinstance(dev["DeviceCapacity"], float) and isinstance(dev["AvailableDeviceCapacity"], float)
    assert TS.match(dev["LastSeen"]) and TS.match(dev["LastEnrolledOn"])
    assert set(dev["LocationGroupId"]) == {"Id", "Name", "Uuid"}
    assert dev["Ownership"] in {"CorporateDedicated", "EmployeeOwned", "CorporateShared"}


def test_paging_math_and_clamp(client: httpx.Client) -> None:
    seen: list[int] = []
    page = 0
    while True:
        r = client.get("/api/mdm/devices/search", params={"page": page, "pagesize": 128})
        if r.status_code == 204:
            break
        body = r.json()
        seen += [d["Id"]["Value"] for d in body["Devices"]]
        page += 1
        if (body["Page"] + 1) * body["PageSize"] >= body["Total"]:
            break
    assert len(seen) == DEVICES == len(set(seen)) and seen == sorted(seen)
    big = client.get("/api/mdm/devices/search", params={"pagesize": 5000}).json()
    assert big["PageSize"] == 500 and len(big["Devices"]) == min(500, DEVICES)
    beyond = client.get("/api/mdm/devices/search", params={"page": 99, "pagesize": 500})
    assert beyond.status_code == 204 and beyond.content == b""


def test_empty_search_is_204(client: httpx.Client) -> None:
    r = client.get("/api/mdm/devices/search", params={"user": "nobody-at-all"})
    assert r.status_code == 204 and r.content == b""


def test_filters(client: httpx.Client) -> None:
    dev = first_device(client)
    by_user = client.get("/api/mdm/devices/search", params={"user": dev["UserName"]}).json()["Devices"]
    assert dev["Id"] in [d["Id"] for d in by_user] and all(d["UserName"] == dev["UserName"] for d in by_user)
    plat = client.get("/api/mdm/devices/search", params={"platform": dev["Platform"]}).json()
    assert all(d["Platform"] == dev["Platform"] for d in plat["Devices"])
    nc = client.get("/api/mdm/devices/search", params={"compliantstatus": "false"})
    # The seeded fleet has non-compliant devices: a 204 here would mean the filter matched nothing.
    assert nc.status_code == 200, nc.status_code
    non_compliant = nc.json()["Devices"]
    assert non_compliant and all(d["ComplianceStatus"] == "NonCompliant" for d in non_compliant)
    own = client.get("/api/mdm/devices/search", params={"ownership": "C"}).json()["Devices"]
    assert all(d["Ownership"] == "CorporateDedicated" for d in own)
    desc = client.get(
        "/api/mdm/devices/search", params={"orderby": "lastseen", "sortorder": "DESC", "pagesize": 50}
    ).json()["Devices"]
    assert [d["LastSeen"] for d in desc] == sorted((d["LastSeen"] for d in desc), reverse=True)
    v2 = client.get(
        "/api/mdm/devices/search",
        params={"compliance_status": "true", "pagesize": 5},
        headers=basic_headers(2),
    ).json()
    assert all(d["ComplianceStatus"] == "Compliant" for d in v2["Devices"])


def test_search_v3_shape(client: httpx.Client) -> None:
    r = client.get("/api/mdm/devices/search", params={"page_size": 2}, headers=basic_headers(3))
    body = r.json()
    assert list(body) == ["devices", "page", "page_size", "total"] and body["page_size"] == 2
    assert list(body["devices"][0]) == V3_FIELDS
    assert r.headers["x-api-version"] == "v3"


def test_get_by_id_alt_id_and_uuid(client: httpx.Client) -> None:
    dev = first_device(client)
    dev_id = dev["Id"]["Value"]
    by_id = client.get(f"/api/mdm/devices/{dev_id}").json()
    assert list(by_id) == [f for f in V1_FIELDS if f not in ("EasIds", "TimeZone")]
    assert by_id["Uuid"] == dev["Uuid"]
    for searchby, value in (
        ("Serialnumber", dev["SerialNumber"]),
        ("Udid", dev["Udid"]),
        ("Macaddress", dev["MacAddress"]),
        ("DeviceId", str(dev_id)),
    ):
        r = client.get("/api/mdm/devices", params={"searchby": searchby, "id": value})
        assert r.status_code == 200 and r.json()["Id"]["Value"] == dev_id, searchby
    v2 = client.get(f"/api/mdm/devices/{dev['Uuid']}", headers=basic_headers(2)).json()
    assert v2["uuid"] == dev["Uuid"] and v2["serialNumber"] == dev["SerialNumber"]
    assert {"platformInfo", "enrollmentInfo", "carrierInfo", "batteryLevelPercentage"} <= set(v2)
    v3 = client.get(f"/api/mdm/devices/{dev['Uuid']}", headers=basic_headers(3)).json()
    assert list(v3) == V3_FIELDS


def test_device_not_found_exact_error(client: httpx.Client) -> None:
    r = client.get("/api/mdm/devices/987654321")
    assert r.status_code == 404
    body = r.json()
    assert list(body) == ["errorCode", "message", "activityId"]
    assert body["errorCode"] == 5061 and body["message"] == "Device not found for this request."
    miss = client.get("/api/mdm/devices", params={"searchby": "Serialnumber", "id": "NOPE"})
    assert miss.status_code == 404 and miss.json()["errorCode"] == 5061


def test_sub_resources(client: httpx.Client) -> None:
    dev = first_device(client)
    i, u = dev["Id"]["Value"], dev["Uuid"]
    apps = client.get(f"/api/mdm/devices/{i}/apps").json()
    assert list(apps) == ["DeviceApps", "Page", "PageSize", "Total"]
    prof = client.get(f"/api/mdm/devices/{i}/profiles").json()
    assert list(prof) == ["DeviceId", "DeviceProfiles", "Page", "PageSize", "Total"]
    comp = client.get(f"/api/mdm/devices/{i}/compliance").json()
    assert {"DeviceCompliance", "OverallCompliantStatus", "Total"} <= set(comp)
    assert {"IsCompromised", "IsEncrypted"} <= set(client.get(f"/api/mdm/devices/{i}/security").json())
    assert "WifiInfo" in client.get(f"/api/mdm/devices/{i}/network").json()
    log = client.get(f"/api/mdm/devices/{i}/eventlog").json()
    assert list(log) == ["DeviceEventLogEntries", "Page", "PageSize", "Total"]
    sensors = client.get(f"/api/mdm/devices/{u}/sensors").json()
    assert list(sensors) == ["total_results", "results"]
    assert all(set(s) == {"uuid", "name", "value", "last_executed_at"} for s in sensors["results"])
    assert client.get(f"/api/mdm/devices/{u}/tags").json() == {"tags": []}
    note = client.post(f"/api/mdm/devices/{i}/notes", json={"DeviceId": i, "Note": "battery swelling"})
    assert note.status_code == 200 and isinstance(note.json()["Value"], int)
    notes = client.get(f"/api/mdm/devices/{i}/notes").json()
    assert notes["DeviceNotes"][0]["Note"] == "battery swelling"
