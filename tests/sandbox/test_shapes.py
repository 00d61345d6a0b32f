"""Field names of the main resources, checked against the reference's field lists (ws1-uem-api.md)."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import basic_headers, first_device

# Exact JSON names: docs/uem-api.md#endpoints.
DEVICE_APP = set(
    [
        "ApplicationName",
        "Version",
        "BuildVersion",
        "Status",
        "DeviceId",
        "Size",
        "ApplicationIdentifier",
        "Type",
        "IsManaged",
        "AppVersion",
        "AppStoreVendable",
        "DeviceBasedVPP",
        "BetaApp",
        "AdHocCodeSigned",
        "HasUpdateAvailable",
        "Id",
        "Uuid",
    ]
)
DEVICE_PROFILE = set(
    [
        "Status",
        "Name",
        "Description",
        "LocationGroupId",
        "CurrentVersion",
        "AssignmentType",
        "InstalledProfileVersion",
        "Id",
        "Uuid",
    ]
)
COMPLIANCE = set(
    [
        "Id",
        "Uuid",
        "CompliantStatus",
        "CompliancePending",
        "PolicyName",
        "PolicyDetail",
        "LastComplianceCheck",
        "NextComplianceCheck",
        "ActionTaken",
    ]
)
EVENT = set(["Severity", "TimeStamp", "Source", "Event", "AdminAccount", "EventDataList", "Id", "Uuid"])
NOTE = set(["Id", "DeviceId", "Note", "CreatedOn", "ModifiedOn"])
PROFILE_V1 = set(
    [
        "ProfileName",
        "OrganizationGroupId",
        "ProfileStatus",
        "Platform",
        "ProfileScope",
        "OperatingSystem",
        "Model",
        "Ownership",
        "ManagedBy",
        "Type",
        "AssignedOrganizationGroups",
        "Id",
        "Uuid",
    ]
)
PROFILE_V2 = {"ProfileId", "ProfileUuid", "Platform", "ProfileType", "ProfileStatus"}
SMART_GROUP = set(
    [
        "Assignments",
        "Devices",
        "Exclusions",
        "ManagedByOrganizationGroupId",
        "ManagedByOrganizationGroupName",
        "ManagedByOrganizationGroupUuid",
        "Name",
        "SmartGroupID",
        "SmartGroupUuid",
    ]
)
SMART_GROUP_DETAIL = SMART_GROUP | set(
    [
        "CriteriaType",
        "OrganizationGroups",
        "UserGroups",
        "Tags",
        "Ownerships",
        "Platforms",
        "Models",
        "OperatingSystems",
        "UserAdditions",
        "DeviceAdditions",
        "UserExclusions",
        "DeviceExclusions",
        "UserGroupExclusions",
        "ManagementTypes",
        "EnrollmentCategories",
        "OEMAndModels",
        "CpuArchitectures",
    ]
)
TAG = {"TagName", "DateTagged", "TagAvatar", "Id", "Uuid"}
USER = set(
    [
        "UserName",
        "FirstName",
        "LastName",
        "Status",
        "Email",
        "SecurityType",
        "ContactNumber",
        "DisplayName",
        "MobileNumber",
        "MessageType",
        "EmailUserName",
        "Group",
        "LocationGroupId",
        "OrganizationGroupUuid",
        "Role",
        "EnrolledDevicesCount",
        "MessageTemplateId",
        "CustomAttribute1",
        "CustomAttribute2",
        "CustomAttribute3",
        "CustomAttribute4",
        "CustomAttribute5",
        "ExternalId",
        "StagingMode",
        "DeviceStagingEnabled",
        "DeviceStagingType",
        "ProvisioningSku",
        "Id",
        "Uuid",
    ]
)  # Password is write-only
OG = set(
    [
        "Name",
        "GroupId",
        "LocationGroupType",
        "Country",
        "Locale",
        "ParentLocationGroup",
        "AddDefaultLocation",
        "CreatedOn",
        "LgLevel",
        "Users",
        "Admins",
        "Devices",
        "Id",
        "Uuid",
    ]
)
SENSOR = set(
    [
        "name",
        "organization_group_name",
        "is_read_only",
        "organization_group_uuid",
        "platform",
        "query_type",
        "query_response_type",
        "trigger_type",
        "execution_context",
        "execution_architecture",
        "script_data",
        "timeout",
        "event_trigger",
        "schedule_trigger",
        "assigned_smart_groups",
        "uuid",
    ]
)
SCRIPT = set(
    [
        "script_uuid",
        "version",
        "name",
        "description",
        "platform",
        "script_type",
        "organization_group_uuid",
        "organization_group_name",
        "created_or_modified_by",
        "created_or_modified_on",
        "assignment_count",
    ]
)


def test_device_sub_resource_items(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    client.post(f"/api/mdm/devices/{i}/notes", json={"DeviceId": i, "Note": "x"})
    client.post(f"/api/mdm/devices/{i}/commands?command=Lock")
    assert set(client.get(f"/api/mdm/devices/{i}/apps").json()["DeviceApps"][0]) == DEVICE_APP
    assert set(client.get(f"/api/mdm/devices/{i}/profiles").json()["DeviceProfiles"][0]) == DEVICE_PROFILE
    assert set(client.get(f"/api/mdm/devices/{i}/compliance").json()["DeviceCompliance"][0]) == COMPLIANCE
    assert all(
        set(e) == EVENT for e in client.get(f"/api/mdm/devices/{i}/eventlog").json()["DeviceEventLogEntries"]
    )
    assert set(client.get(f"/api/mdm/devices/{i}/notes").json()["DeviceNotes"][0]) == NOTE
    summary = dev["ComplianceSummary"]["DeviceCompliance"][0]
    assert set(summary) == COMPLIANCE - {"CompliancePending"}


def test_catalogue_items(client: httpx.Client) -> None:
    assert set(client.get("/api/mdm/profiles/search").json()["Profiles"][0]) == PROFILE_V1
    v2 = client.get("/api/mdm/profiles/search", headers=basic_headers(2)).json()
    assert list(v2) == ["ProfileList", "TotalResults"] and set(v2["ProfileList"][0]) == PROFILE_V2
    sgs = client.get("/api/mdm/smartgroups/search").json()
    assert (
        list(sgs) == ["Page", "PageSize", "Total", "SmartGroups"]
        and set(sgs["SmartGroups"][0]) == SMART_GROUP
    )
    sg_id = sgs["SmartGroups"][0]["SmartGroupID"]
    assert set(client.get(f"/api/mdm/smartgroups/{sg_id}").json()) == SMART_GROUP_DETAIL
    member = client.get(f"/api/mdm/smartgroups/{sg_id}/devices").json()["Devices"]
    assert not member or set(member[0]) == {
        "Id",
        "Name",
        "Model",
        "OSVersion",
        "Username",
        "Platform",
        "Ownership",
    }
    tags = client.get("/api/mdm/tags/search").json()
    assert list(tags) == ["Tags", "Page", "PageSize", "Total"] and set(tags["Tags"][0]) == TAG
    assert set(client.get("/api/system/users/search").json()["Users"][0]) == USER
    assert set(client.get("/api/system/groups/search").json()["LocationGroups"][0]) == OG
    og_uuid = client.get("/api/system/groups/search").json()["LocationGroups"][1]["Uuid"]
    sensors = client.get(f"/api/mdm/devicesensors/list/{og_uuid}").json()
    assert list(sensors) == ["total_results", "result_set"] and set(sensors["result_set"][0]) >= SENSOR
    scripts = client.get(f"/api/mdm/groups/{og_uuid}/scripts").json()
    assert list(scripts) == ["SearchResults", "RecordCount"] and set(scripts["SearchResults"][0]) == SCRIPT
    apps = client.get("/api/mam/apps/search").json()
    assert list(apps) == ["Application", "Page", "PageSize", "Total"]


def test_bulk_response_shape(client: httpx.Client) -> None:
    tag = client.get("/api/mdm/tags/search").json()["Tags"][0]["Id"]["Value"]
    r = client.post(f"/api/mdm/tags/{tag}/adddevices", json={"BulkValues": {"Value": ["0"]}})
    body = r.json()
    assert list(body) == ["TotalItems", "AcceptedItems", "FailedItems", "Faults"]
    assert set(body["Faults"]["Fault"][0]) == {"ErrorCode", "ItemValue", "Message"}


def test_gps_is_a_bare_array_of_strings(client: httpx.Client) -> None:
    dev = first_device(client)
    gps = client.get(f"/api/mdm/devices/{dev['Id']['Value']}/gps", params={"dayRange": 3}).json()
    assert isinstance(gps, list) and len(gps) == 3
    assert set(gps[0]) == {
        "SampleTime",
        "Latitude",
        "Longitude",
        "Elevation",
        "Speed",
        "Note",
        "DeviceId",
        "Id",
        "Uuid",
    }
    assert all(isinstance(gps[0][k], str) for k in ("Latitude", "Longitude", "Speed"))
