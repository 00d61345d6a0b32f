"""Each resource against the sandbox with strict wire models; writes are checked in the tenant's ledger."""

from __future__ import annotations

import httpx
import pytest

from tests.uem.conftest import ledger
from ws1ai.uem import UEMClient, UEMNotFound
from ws1ai.uem.schemas import (
    BulkCustomAttributeDevice,
    BulkCustomAttributeValue,
    CommandsV2Body,
    CustomAttribute,
    DeviceInfo,
    DeviceV1,
    EmailMessage,
    EventNotification,
    OrganizationGroupCreate,
    PurchasedAppTarget,
    PushMessage,
    ScriptAssignment,
    ScriptCreate,
    Sensor,
    SensorAssignment,
    SmartGroupEdit,
    SmartGroupSummary,
    User,
)


@pytest.fixture
def device(uem: UEMClient) -> DeviceV1:
    return uem.devices.search(page_size=1, platform="Apple").items[0]


def _device_id(device: DeviceV1) -> int:
    assert device.device_id is not None
    return device.device_id


# ---- devices: reads ----
def test_device_by_id_uuid_and_serial_agree(uem: UEMClient, device: DeviceV1) -> None:
    by_id = uem.devices.get(_device_id(device))
    assert by_id.serial_number == device.serial_number
    assert by_id.eas_ids is None  # GET by id is `Device`, without the search-only fields
    assert uem.devices.get_by_serial(device.serial_number or "").device_id == device.device_id
    v2 = uem.devices.get_v2(device.uuid or "")
    v3 = uem.devices.get_v3(device.uuid or "")
    assert v2.serial_number == v3.serial_number == device.serial_number
    assert v3.enrollment_info is not None and v3.enrollment_info.user_name == device.user_name


def test_device_sub_resources(uem: UEMClient, device: DeviceV1) -> None:
    device_id = _device_id(device)
    uem.devices.profiles(device_id)
    compliance = uem.devices.compliance(device_id)
    assert compliance.overall_compliant_status is not None
    assert uem.devices.security(device_id).is_compromised is not None
    uem.devices.network(device_id)
    uem.devices.eventlog(device_id, page_size=50)
    sensors = uem.devices.sensors(device.uuid or "")
    assert sensors.total_results >= len(sensors.results)
    uem.devices.tags(device.uuid or "")


def test_device_apps(uem: UEMClient, device: DeviceV1) -> None:
    apps = uem.devices.apps(_device_id(device))
    assert apps.items and apps.total == len(apps.items)
    assert all(app.application_name for app in apps.items)


def test_notes_round_trip(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    device_id = _device_id(device)
    note_id = uem.devices.add_note(device_id, "checked by ws1ai")
    assert note_id is not None
    assert "checked by ws1ai" in [n.note for n in uem.devices.notes(device_id)]
    assert len(ledger(http)) == 1


def test_custom_attributes_single_and_bulk(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    device_id = _device_id(device)
    uem.devices.set_custom_attributes(device_id, [CustomAttribute(name="ws1ai.risk", value="high")])
    assert {a.name: a.value for a in uem.devices.custom_attributes(device_id)}["ws1ai.risk"] == "high"
    result = uem.devices.bulk_set_custom_attributes(
        [
            BulkCustomAttributeDevice(
                serial_number=device.serial_number,
                device_custom_attributes=[BulkCustomAttributeValue(name="ws1ai.risk", value="low")],
            )
        ]
    )
    assert result is not None and result.accepted_items == 1
    assert {a.name: a.value for a in uem.devices.custom_attributes(device_id)}["ws1ai.risk"] == "low"
    assert len(ledger(http)) == 2


# ---- commands and messages ----
def test_single_alt_id_and_bulk_commands(uem: UEMClient, http: httpx.Client) -> None:
    devices = uem.devices.search(page_size=4).items
    uem.commands.sync(_device_id(devices[0]))
    uem.commands.send_by("Serialnumber", devices[1].serial_number or "", "DeviceQuery")
    bulk = uem.commands.bulk_lock([d.serial_number or "" for d in devices[2:4]])
    assert bulk.accepted_items == 2
    assert len(ledger(http)) >= 3


def test_enterprise_wipe_changes_device_state(uem: UEMClient, device: DeviceV1) -> None:
    uem.commands.enterprise_wipe(_device_id(device))
    after = uem.devices.get(_device_id(device))
    assert after.enrollment_status in {"EnterpriseWipePending", "Unenrolled"}


def test_unknown_device_command_is_404(uem: UEMClient) -> None:
    with pytest.raises(UEMNotFound):
        uem.commands.lock(987_654_321)


def test_messages_push_email_bulk(uem: UEMClient, http: httpx.Client) -> None:
    devices = uem.devices.search(page_size=3).items
    uem.messages.push(_device_id(devices[0]), PushMessage(message_body="Please restart"))
    uem.messages.email(
        _device_id(devices[0]), EmailMessage(message_body="b", subject="s", to_address="a@b.c")
    )
    bulk = uem.messages.bulk_push(
        "Serialnumber", [d.serial_number or "" for d in devices], PushMessage(message_body="x")
    )
    assert bulk.accepted_items == 3
    assert len(ledger(http)) >= 3


# ---- profiles and apps ----
def test_profile_search_install_remove(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    profile = uem.profiles.search().items[0]
    assert profile.id is not None and profile.id.value is not None
    uem.profiles.install(profile.id.value, DeviceInfo(device_id=device.device_id))
    uem.profiles.remove(profile.id.value, DeviceInfo(serial_number=device.serial_number))
    assert len(ledger(http)) == 2


def test_app_search_and_uninstall(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    apps = list(uem.apps.iter_search())
    assert apps
    app = apps[0]
    assert app.id is not None and app.id.value is not None
    uem.apps.install("internal", app.id.value, DeviceInfo(device_id=device.device_id))
    uem.apps.uninstall("internal", app.id.value, DeviceInfo(device_id=device.device_id))
    assert len(ledger(http)) == 2


# ---- smart groups, tags ----
def test_smart_group_crud(uem: UEMClient, device: DeviceV1) -> None:
    existing = uem.smart_groups.search().items
    assert existing
    created = uem.smart_groups.create(
        SmartGroupEdit(name="ws1ai test group", device_additions=[{"Id": device.device_id}])
    )
    assert created.value is not None
    group = uem.smart_groups.get(created.value)
    assert group.name == "ws1ai test group"
    uem.smart_groups.update(created.value, SmartGroupEdit(name="ws1ai renamed"))
    assert uem.smart_groups.get(created.value).name == "ws1ai renamed"
    uem.smart_groups.devices(existing[0].smart_group_id or 0)
    uem.smart_groups.delete(created.value)
    with pytest.raises(UEMNotFound):
        uem.smart_groups.get(created.value)


def test_tags_add_and_remove_devices(uem: UEMClient, device: DeviceV1) -> None:
    tag = uem.tags.search().items[0]
    assert tag.id is not None and tag.id.value is not None
    assert uem.tags.add_devices(tag.id.value, [_device_id(device)]).accepted_items == 1
    assert _device_id(device) in [d.device_id for d in uem.tags.devices(tag.id.value)]
    assert uem.tags.remove_devices(tag.id.value, [_device_id(device)]).accepted_items == 1


# ---- users, organization groups ----
def test_users_search_create_update_deactivate(uem: UEMClient, http: httpx.Client) -> None:
    assert uem.users.search(page_size=5).items
    created = uem.users.create(
        User(
            user_name="ws1ai.test",
            first_name="Test",
            last_name="User",
            email="ws1ai.test@example.com",
            security_type=1,
            password="x-Pa55word",
        )
    )
    assert created.value is not None
    uem.users.update(created.value, User(first_name="Renamed"))
    assert uem.users.get(created.value).first_name == "Renamed"
    uem.users.deactivate(created.value)
    assert uem.users.get(created.value).status is False
    assert len(ledger(http)) == 3


def test_org_groups_search_get_create(uem: UEMClient) -> None:
    groups = uem.org_groups.search().items
    assert groups
    root = groups[0]
    assert root.id is not None and root.id.value is not None
    assert uem.org_groups.get(root.id.value).name == root.name
    created = uem.org_groups.create(
        root.id.value, OrganizationGroupCreate(group_id="ws1ai-test", name="ws1ai test")
    )
    assert created.value is not None
    assert uem.org_groups.search_v2().total > 0


# ---- scripts, sensors, event notifications, system ----
def test_sensors_and_scripts_lists(uem: UEMClient) -> None:
    og = uem.org_groups.search().items[0]
    assert og.uuid
    sensors = uem.sensors.list(og.uuid)
    assert sensors.total_results == len(sensors.result_set)
    scripts = uem.scripts.list(og.uuid)
    assert scripts.record_count == len(scripts.search_results)


def _group_with_members(uem: UEMClient) -> tuple[SmartGroupSummary, DeviceV1]:
    for group in uem.smart_groups.search().items:
        members = uem.smart_groups.devices(group.smart_group_id or 0)
        if members and members[0].id:
            return group, uem.devices.get(int(members[0].id))
    raise AssertionError("the seeded tenant has no smart group with members")


def test_sensor_create_assign_and_sync(uem: UEMClient, http: httpx.Client) -> None:
    og = uem.org_groups.search().items[0]
    group, member = _group_with_members(uem)
    uem.sensors.create(
        Sensor(
            name="ws1ai_battery_cycles",
            organization_group_uuid=og.uuid,
            platform=12,
            query_type=1,
            query_response_type=2,
            trigger_type=1,
            script_data="ZWNobyAx",
            timeout=30,
        )
    )
    created = next(s for s in uem.sensors.list(og.uuid or "").result_set if s.name == "ws1ai_battery_cycles")
    assert created.uuid
    uem.sensors.assign(
        SensorAssignment(
            name="ws1ai", sensor_uuids=[created.uuid], smart_group_uuids=[group.smart_group_uuid or ""]
        )
    )
    assigned = next(s for s in uem.sensors.list(og.uuid or "").result_set if s.uuid == created.uuid)
    assert [g["uuid"] for g in assigned.assigned_smart_groups or []] == [group.smart_group_uuid]
    uem.sensors.sync_on_device(member.uuid or "")
    assert len(ledger(http)) == 3


def test_script_create_assign_reaches_member_devices(uem: UEMClient) -> None:
    og = uem.org_groups.search().items[0]
    group, member = _group_with_members(uem)
    script_uuid = uem.scripts.create(
        og.uuid or "", ScriptCreate(name="ws1ai cleanup", script_data="ZWNobyAx")
    )
    assert script_uuid
    uem.scripts.assign(
        script_uuid,
        ScriptAssignment(name="ws1ai", memberships=[{"smart_group_uuid": group.smart_group_uuid}]),
    )
    assert uem.scripts.get(script_uuid).assignment_count == 1
    on_device = uem.scripts.for_device(member.uuid or "")
    assert script_uuid in [s.script_uuid for s in on_device.search_results]


def test_event_notification_configuration(uem: UEMClient) -> None:
    created = uem.event_notifications.create(
        EventNotification(
            target_name="ws1ai",
            target_url="http://127.0.0.1:9/hook",
            username="hook",
            password="hook-secret",
            format=1,
            is_active=True,
        )
    )
    assert created is not None and created.value is not None
    fetched = uem.event_notifications.get(created.value)
    assert fetched.target_url == "http://127.0.0.1:9/hook"
    assert "hook-secret" not in repr(fetched)
    uem.event_notifications.delete(created.value)


def test_system_info(uem: UEMClient) -> None:
    info = uem.system.info()
    assert info.product_name


def test_correlation_id_reaches_the_ledger(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    with uem.correlation("action-42"):
        uem.commands.sync(_device_id(device))
    uem.commands.sync(_device_id(device))
    first, second = ledger(http)
    assert first["correlation_id"] == "action-42"
    assert second["correlation_id"] != "action-42"


def test_v2_shapes_of_searches(uem: UEMClient) -> None:
    apps = uem.apps.search_v2(page_size=5)
    assert apps.items and apps.total >= len(apps.items)
    profiles = uem.profiles.search_v2()
    assert profiles.items and profiles.total >= len(profiles.items)
    groups = uem.org_groups.search_v2()
    assert groups.items and isinstance(groups.items[0].id, int)


def test_purchased_app_v2_install_by_uuid(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    purchased = [a for a in uem.apps.search_v2(page_size=500).items if a.uuid]
    assert purchased
    uem.apps.install_purchased_v2(purchased[0].uuid or "", PurchasedAppTarget(device_uuid=device.uuid))
    assert len(ledger(http)) == 1


def test_v2_bulk_lock_by_uuid(uem: UEMClient, http: httpx.Client) -> None:
    devices = uem.devices.search(page_size=2, platform="Apple").items
    uem.commands.bulk_v2("Lock", CommandsV2Body(device_uuids=[d.uuid or "" for d in devices]))
    assert len(ledger(http)) >= 1


def test_custom_attributes_by_serial_and_delete(uem: UEMClient, http: httpx.Client, device: DeviceV1) -> None:
    device_id = _device_id(device)
    uem.devices.set_custom_attributes_by_serial(
        device.serial_number or "", [CustomAttribute(name="ws1ai.owner", value="it")]
    )
    assert "ws1ai.owner" in {a.name for a in uem.devices.custom_attributes(device_id)}
    uem.devices.delete_custom_attributes(device_id, ["ws1ai.owner"])
    assert "ws1ai.owner" not in {a.name for a in uem.devices.custom_attributes(device_id)}
    assert len(ledger(http)) == 2


def test_alternate_ids_and_tag_creation(uem: UEMClient, device: DeviceV1) -> None:
    assert uem.devices.get_by("Udid", device.udid or "").device_id == device.device_id
    assert uem.devices.get_by("Macaddress", device.mac_address or "").device_id == device.device_id
    og = uem.org_groups.search().items[0]
    assert og.id is not None and og.id.value is not None
    created = uem.tags.create("ws1ai-at-risk", og.id.value)
    assert created.value is not None
    assert "ws1ai-at-risk" in [t.tag_name for t in uem.tags.iter_search(name="ws1ai-at-risk")]
