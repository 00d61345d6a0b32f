"""Writes change the tenant for real and land in the action ledger."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import basic_headers, first_device


def _ledger(client: httpx.Client) -> list[dict]:  # type: ignore[type-arg]
    entries: list[dict] = client.get("/_sandbox/ledger").json()["entries"]  # type: ignore[type-arg]
    return entries


def test_single_command_is_202_empty_and_changes_state(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    r = client.post(
        f"/api/mdm/devices/{i}/commands",
        params={"command": "EnterpriseWipe"},
        headers={"x-correlation-id": "act-1"},
    )
    assert r.status_code == 202 and r.content == b""
    assert client.get(f"/api/mdm/devices/{i}").json()["EnrollmentStatus"] == "EnterpriseWipePending"
    pending = client.get("/api/mdm/devices/search", params={"pagesize": 500}).json()["Devices"]
    assert [d["EnrollmentStatus"] for d in pending if d["Id"]["Value"] == i] == ["EnterpriseWipePending"]
    (entry,) = _ledger(client)
    assert set(entry) >= {
        "seq",
        "time",
        "method",
        "path",
        "operation",
        "device_ids",
        "payload",
        "correlation_id",
    }
    assert (entry["operation"], entry["device_ids"], entry["correlation_id"]) == (
        "Command.EnterpriseWipe",
        [i],
        "act-1",
    )
    client.post("/_sandbox/clock", json={"advance_seconds": 200})
    assert client.get(f"/api/mdm/devices/{i}").json()["EnrollmentStatus"] == "Unenrolled"


def test_device_wipe_leaves_the_fleet(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    total = client.get("/api/mdm/devices/search", params={"pagesize": 1}).json()["Total"]
    assert client.post(f"/api/mdm/devices/{i}/commands?command=DeviceWipe").status_code == 202
    assert client.get(f"/api/mdm/devices/{i}").json()["EnrollmentStatus"] == "DeviceWipePending"
    client.post("/_sandbox/clock", json={"advance_seconds": 200})
    assert client.get(f"/api/mdm/devices/{i}").status_code == 404
    assert client.get("/api/mdm/devices/search", params={"pagesize": 1}).json()["Total"] == total - 1


def test_lock_sync_and_unknown_command(client: httpx.Client, state) -> None:  # type: ignore[no-untyped-def]
    dev = first_device(client)
    i = dev["Id"]["Value"]
    client.post(f"/api/mdm/devices/{i}/commands?command=lock")
    assert state.devices[i].locked
    client.post(f"/api/mdm/devices/{i}/commands?command=SyncDevice")
    assert client.get(f"/api/mdm/devices/{i}").json()["LastSeen"] > dev["LastSeen"]
    bad = client.post(f"/api/mdm/devices/{i}/commands?command=SelfDestruct")
    assert bad.status_code == 400 and bad.json()["errorCode"] == 1002
    missing = client.post("/api/mdm/devices/99999999/commands?command=Lock")
    assert missing.status_code == 404 and missing.json()["errorCode"] == 5061


def test_alt_id_bulk_and_v2_commands(client: httpx.Client) -> None:
    devs = client.get("/api/mdm/devices/search", params={"pagesize": 3}).json()["Devices"]
    sn = [d["SerialNumber"] for d in devs]
    r = client.post(
        "/api/mdm/devices/commands", params={"command": "SoftReset", "searchby": "Serialnumber", "id": sn[0]}
    )
    assert r.status_code == 202
    bulk = client.post(
        "/api/mdm/devices/commands/bulk",
        params={"command": "LockDevice", "searchby": "Serialnumber"},
        json={"BulkValues": {"Value": [*sn[1:], "NOPE"]}},
    )
    assert bulk.status_code == 200
    assert bulk.json() == {
        "TotalItems": 3,
        "AcceptedItems": 2,
        "FailedItems": 1,
        "Faults": {
            "Fault": [
                {"ErrorCode": 5061, "ItemValue": "NOPE", "Message": "Device not found for this request."}
            ]
        },
    }
    v2 = client.post(
        f"/api/mdm/devices/{devs[0]['Uuid']}/commands/SyncSensors", json={}, headers=basic_headers(2)
    )
    assert v2.status_code == 202
    ops = [(e["operation"], e["device_ids"]) for e in _ledger(client)]
    ids = [d["Id"]["Value"] for d in devs]
    assert ops == [
        ("Command.SoftReset", ids[:1]),
        ("Command.LockDevice", ids[1:]),
        ("Command.SyncSensors", ids[:1]),
    ]


def test_messages(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    push = {"MessageBody": "Please restart", "Application": "AirWatch Agent", "MessageType": "Apns"}
    assert client.post(f"/api/mdm/devices/{i}/messages/push", json=push).status_code == 202
    email = {
        "MessageBody": "hi",
        "ToAddress": dev["UserEmailAddress"],
        "Subject": "Battery",
        "IsHtmlBody": False,
    }
    assert client.post(f"/api/mdm/devices/{i}/messages/email", json=email).status_code == 202
    bulk = client.post(
        "/api/mdm/devices/messages/bulkpush",
        params={"searchBy": "Serialnumber"},
        json={**push, "BulkValues": {"Value": [dev["SerialNumber"]]}},
    )
    assert bulk.json()["AcceptedItems"] == 1
    assert client.post(f"/api/mdm/devices/{i}/messages/push", json={"MessageBody": "x"}).status_code == 400
    events = client.get(f"/api/mdm/devices/{i}/eventlog").json()["DeviceEventLogEntries"]
    assert any(e["Event"] == "PUSH message sent" for e in events)
    assert len(_ledger(client)) == 3


def test_profile_and_app_install_remove(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    profiles = client.get("/api/mdm/profiles/search").json()["Profiles"]
    have = {p["Id"]["Value"] for p in client.get(f"/api/mdm/devices/{i}/profiles").json()["DeviceProfiles"]}
    new = next(p for p in profiles if p["Id"]["Value"] not in have)["Id"]["Value"]
    assert client.post(f"/api/mdm/profiles/{new}/install", json={"DeviceId": i}).status_code == 200
    after = {p["Id"]["Value"] for p in client.get(f"/api/mdm/devices/{i}/profiles").json()["DeviceProfiles"]}
    assert after == have | {new}
    client.post(f"/api/mdm/profiles/{new}/remove", json={"SerialNumber": dev["SerialNumber"]})
    assert {
        p["Id"]["Value"] for p in client.get(f"/api/mdm/devices/{i}/profiles").json()["DeviceProfiles"]
    } == have
    apps = client.get(f"/api/mdm/devices/{i}/apps").json()["DeviceApps"]
    app_id = apps[0]["Id"]["Value"]
    before = client.get(f"/api/mam/apps/public/{app_id}").json()["InstalledDeviceCount"]
    assert client.post(f"/api/mam/apps/purchased/{app_id}/uninstall", json={"DeviceId": i}).status_code == 200
    assert app_id not in [
        a["Id"]["Value"] for a in client.get(f"/api/mdm/devices/{i}/apps").json()["DeviceApps"]
    ]
    assert client.get(f"/api/mam/apps/public/{app_id}").json()["InstalledDeviceCount"] == before - 1
    v2 = client.get("/api/mam/apps/search", params={"page_size": 2}, headers=basic_headers(2)).json()
    assert list(v2) == ["applications", "page", "page_size", "total"]


def test_custom_attributes_and_tags(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    body = {"CustomAttributes": [{"Name": "ws1ai.risk", "Value": "high", "ApplicationGroup": "ws1ai"}]}
    r = client.put(f"/api/mdm/devices/{i}/customattributes", json=body)
    assert r.json()["AcceptedItems"] == 1
    found = client.get(
        "/api/mdm/devices/customattribute/search", params={"customattributename": "ws1ai.risk"}
    )
    assert found.json()["Devices"][0]["CustomAttributes"] == [
        {"Name": "ws1ai.risk", "Value": "high", "Source": "API", "Application": "ws1ai"}
    ]
    client.request(
        "DELETE",
        f"/api/mdm/devices/{i}/customattributes",
        json={"CustomAttributes": [{"Name": "ws1ai.risk"}]},
    )
    gone = client.get("/api/mdm/devices/customattribute/search", params={"customattributename": "ws1ai.risk"})
    assert gone.status_code == 204
    tag = client.get("/api/mdm/tags/search").json()["Tags"][0]
    tag_id = tag["Id"]["Value"]
    add = client.post(f"/api/mdm/tags/{tag_id}/adddevices", json={"BulkValues": {"Value": [str(i)]}})
    assert add.json()["AcceptedItems"] == 1
    assert client.get(f"/api/mdm/tags/{tag_id}/devices").json()["Device"][0]["DeviceId"] == i
    assert client.get(f"/api/mdm/devices/{dev['Uuid']}/tags").json()["tags"][0]["name"] == tag["TagName"]
    client.post(f"/api/mdm/tags/{tag_id}/removedevices", json={"BulkValues": {"Value": [str(i)]}})
    assert client.get(f"/api/mdm/tags/{tag_id}/devices").json() == {"Device": []}


def test_smart_group_lifecycle(client: httpx.Client) -> None:
    dev = first_device(client)
    i = dev["Id"]["Value"]
    created = client.post(
        "/api/mdm/smartgroups",
        json={"Name": "ws1ai pilot", "CriteriaType": "All", "DeviceAdditions": [{"Id": i}]},
    )
    assert created.status_code == 201 and set(created.json()) == {"Value", "uuid"}
    sg = created.json()["Value"]
    assert client.get(f"/api/mdm/smartgroups/{sg}/devices").json()["Devices"][0]["Id"] == str(i)
    assert client.put(f"/api/mdm/smartgroups/{sg}", json={"Name": "ws1ai pilot 2"}).status_code == 204
    summary = client.get("/api/mdm/smartgroups/search", params={"name": "pilot 2"}).json()["SmartGroups"][0]
    assert summary["SmartGroupID"] == sg and isinstance(summary["ManagedByOrganizationGroupId"], str)
    assert client.delete(f"/api/mdm/smartgroups/{sg}").status_code == 204
    assert client.get(f"/api/mdm/smartgroups/{sg}").json()["errorCode"] == 5060


def test_users_and_org_groups(client: httpx.Client) -> None:
    users = client.get("/api/system/users/search", params={"pagesize": 2}).json()
    assert list(users) == ["Users", "Page", "PageSize", "Total"] and isinstance(
        users["Users"][0]["Id"]["Value"], int
    )
    made = client.post(
        "/api/system/users/adduser",
        json={"UserName": "new.hire", "SecurityType": 2, "Email": "new.hire@corp.example.com"},
    ).json()
    uid = made["Value"]
    assert client.post(f"/api/system/users/{uid}/deactivate").status_code == 204
    assert client.get(f"/api/system/users/{uid}").json()["Status"] is False
    groups = client.get("/api/system/groups/search").json()["LocationGroups"]
    root = groups[0]["Id"]["Value"]
    assert isinstance(client.get(f"/api/system/groups/{root}/children").json(), list)
    v2 = client.get("/api/system/groups/search", headers=basic_headers(2)).json()
    assert isinstance(v2["OrganizationGroups"][0]["Id"], int) and v2["TotalResults"] == len(groups)
    info = client.get("/api/system/info").json()
    assert {"ProductName", "ProductVersion", "Version", "Resources"} <= set(info)


def test_reset_and_seed(client: httpx.Client) -> None:
    dev = first_device(client)
    client.post(f"/api/mdm/devices/{dev['Id']['Value']}/commands?command=DeviceWipe")
    assert client.post("/_sandbox/reset").status_code == 200
    assert _ledger(client) == []
    assert client.get(f"/api/mdm/devices/{dev['Id']['Value']}").json()["EnrollmentStatus"] == "Enrolled"


def test_user_update_moves_devices_between_smart_groups(client: httpx.Client, state) -> None:  # type: ignore[no-untyped-def]
    dev = first_device(client)
    rec = state.devices[dev["Id"]["Value"]]
    target = next(
        sg
        for sg in state.smart_groups.values()
        if sg["departments"] and sg["departments"][0] != rec.department
    )
    user = client.get("/api/system/users/search", params={"email": dev["UserEmailAddress"]}).json()["Users"][
        0
    ]
    assert (user["Group"], user["CustomAttribute1"], user["CustomAttribute2"]) == (
        rec.department,
        rec.department,
        rec.role,
    )
    body = {"Group": target["departments"][0], "CustomAttribute2": (target["roles"] or [rec.role])[0]}
    assert client.post(f"/api/system/users/{user['Id']['Value']}/update", json=body).status_code == 204
    members = client.get(f"/api/mdm/smartgroups/{target['id']}/devices").json()["Devices"]
    assert str(rec.id) in [d["Id"] for d in members]


def test_change_organization_group(client: httpx.Client) -> None:
    dev = first_device(client)
    groups = client.get("/api/system/groups/search").json()["LocationGroups"]
    other = next(
        g for g in groups if g["LgLevel"] == 2 and g["Id"]["Value"] != dev["LocationGroupId"]["Id"]["Value"]
    )
    r = client.put(
        f"/api/mdm/devices/{dev['Id']['Value']}/commands/changeorganizationgroup/{other['Id']['Value']}"
    )
    assert r.status_code == 204
    moved = client.get(f"/api/mdm/devices/{dev['Id']['Value']}").json()
    assert (
        moved["LocationGroupId"]["Id"]["Value"] == other["Id"]["Value"]
        and moved["LocationGroupName"] == other["Name"]
    )


def test_seed_replaces_the_fleet(client: httpx.Client) -> None:
    r = client.post("/_sandbox/seed", json={"devices": 40, "seed": 3, "days": 5, "end": "2026-06-30"})
    assert r.json() == {"devices": 40, "seed": 3, "days": 5, "start": "2026-06-26", "end": "2026-06-30"}
    assert client.get("/api/mdm/devices/search", params={"pagesize": 1}).json()["Total"] == 40
