"""Per-device sub-resources: apps, profiles, compliance, network, security, event log, notes, custom
attributes, sensors, tags (docs/uem-api.md#device-details)."""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel, SnakeModel
from ws1ai.uem.schemas.common import EntityId, EntityRef

__all__ = [
    "BulkCustomAttributeDevice",
    "BulkCustomAttributeResult",
    "BulkCustomAttributeValue",
    "CustomAttribute",
    "CustomAttributeDevice",
    "CustomAttributeSearchResult",
    "DeviceApp",
    "DeviceAppsResult",
    "DeviceCompliance",
    "DeviceComplianceResult",
    "DeviceCustomAttributes",
    "DeviceEventLogEntry",
    "DeviceEventLogResult",
    "DeviceNetworkInfo",
    "DeviceNote",
    "DeviceNotesResult",
    "DeviceProfile",
    "DeviceProfilesResult",
    "DeviceSecurityInfo",
    "DeviceSensorValue",
    "DeviceSensorsResult",
    "DeviceTag",
    "DeviceTagsResult",
]


class DeviceApp(PascalModel):
    application_name: str | None = None
    version: str | None = None
    build_version: str | None = None
    status: int | None = None
    device_id: EntityRef | EntityId | None = None
    size: str | int | None = None
    application_identifier: str | None = None
    type: str | None = None
    is_managed: bool | None = None
    app_version: str | None = None
    app_store_vendable: bool | None = None
    device_based_vpp: bool | None = Field(None, alias="DeviceBasedVPP")
    beta_app: bool | None = None
    ad_hoc_code_signed: bool | None = None
    has_update_available: bool | None = None
    id: EntityId | None = None
    uuid: str | None = None


class DeviceAppsResult(PascalModel):
    device_apps: list[DeviceApp] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class DeviceProfile(PascalModel):
    status: int | None = None
    name: str | None = None
    description: str | None = None
    location_group_id: EntityRef | None = None
    current_version: int | None = None
    assignment_type: int | None = None
    installed_profile_version: int | None = None
    id: EntityId | None = None
    uuid: str | None = None


class DeviceProfilesResult(PascalModel):
    device_id: EntityRef | EntityId | None = None
    device_profiles: list[DeviceProfile] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class ActionTakenItem(PascalModel):
    action_type: int | None = None


class DeviceCompliance(PascalModel):
    id: EntityId | None = None
    uuid: str | None = None
    compliant_status: bool | None = None
    compliance_pending: bool | None = None
    policy_name: str | None = None
    policy_detail: str | None = None
    last_compliance_check: str | None = None
    next_compliance_check: str | None = None
    action_taken: list[ActionTakenItem] | None = None


class DeviceComplianceResult(PascalModel):
    device_compliance: list[DeviceCompliance] = Field(default_factory=list)
    overall_compliant_status: bool | None = None
    page: int = 0
    page_size: int = 0
    total: int = 0


class CellularNetworkInfo(PascalModel):
    cellular_technology: str | None = None
    current_operator: str | None = None
    subscriber_carrier_network: str | None = None
    current_sim: str | None = Field(None, alias="CurrentSIM")
    approved_sims: str | None = Field(None, alias="ApprovedSims")
    carrier_version: str | None = None
    signal_strength: str | int | None = None
    device_mcc: str | None = Field(None, alias="DeviceMCC")
    device_mnc: str | None = Field(None, alias="DeviceMNC")


class WifiInfo(PascalModel):
    wifi_mac_address: str | None = None
    signal_strength: str | int | None = None


class NetworkInterface(PascalModel):
    connection_type: str | None = None
    ip_address: str | None = Field(None, alias="IPAddress")
    mac_address: str | None = Field(None, alias="MACAddress")
    name: str | None = None
    vendor: str | None = None


class DeviceNetworkInfo(PascalModel):
    """`DeviceNetworkInfoEntityModel`."""

    phone_number: str | None = None
    roaming_status: bool | None = None
    data_roaming_enabled: bool | None = None
    voice_roaming_enabled: bool | None = None
    ip_address: dict[str, str] | None = Field(None, alias="IPAddress")
    cellular_network_info: CellularNetworkInfo | None = None
    wifi_info: WifiInfo | None = None
    public_ip_address: str | None = Field(None, alias="PublicIPAddress")
    device_network_info: list[NetworkInterface] | None = None
    service_subscription: list[dict[str, object]] | None = None


class DeviceSecurityInfo(PascalModel):
    """`DeviceSecurityInfo` (the reference lists the commonly used fields; the rest are kept as extras)."""

    is_compromised: bool | None = None
    data_protection_enabled: bool | None = None
    block_level_encryption: bool | None = None
    file_level_encryption: bool | None = None
    is_passcode_present: bool | None = None
    is_passcode_compliant: bool | None = None
    passcode_lock_grace_period: int | None = None
    encryption_status: str | int | bool | None = None
    is_encrypted: bool | None = None
    enrolled_via_dep: bool | None = Field(None, alias="EnrolledViaDEP")
    user_approved_enrollment: bool | None = None
    system_integrity_protection_enabled: bool | None = None
    secure_boot: bool | str | None = None
    is_recovery_lock_enabled: bool | None = None
    is_firewall_enabled: bool | None = None
    is_activation_lock_enabled: bool | None = None


class EventData(PascalModel):
    name: str | None = None
    value: str | None = None


class DeviceEventLogEntry(PascalModel):
    severity: str | None = None
    time_stamp: str | None = None
    source: str | None = None
    event: str | None = None
    admin_account: str | None = None
    event_data_list: list[EventData] | None = None
    id: EntityId | None = None
    uuid: str | None = None


class DeviceEventLogResult(PascalModel):
    device_event_log_entries: list[DeviceEventLogEntry] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class DeviceNote(PascalModel):
    id: int | None = None
    device_id: int | None = None
    note: str | None = None
    created_on: str | None = None
    modified_on: str | None = None


class DeviceNotesResult(PascalModel):
    device_id: int | EntityId | None = None
    device_notes: list[DeviceNote] = Field(default_factory=list)
    page: int | None = None
    page_size: int | None = None
    total: int | None = None


class CustomAttribute(PascalModel):
    """`{"Name","Value","ApplicationGroup"}` on writes; searches add `Source`, `Application`."""

    name: str
    value: str | None = None
    application_group: str | None = None
    source: str | None = None
    application: str | None = None


class DeviceCustomAttributes(PascalModel):
    """Body of `PUT/DELETE /mdm/devices/{id}/customattributes`."""

    custom_attributes: list[CustomAttribute] = Field(default_factory=list)


class CustomAttributeDevice(PascalModel):
    device_id: int | None = None
    udid: str | None = None
    serial_number: str | None = None
    enrollment_user_name: str | None = None
    asset_number: str | None = None
    custom_attributes: list[CustomAttribute] = Field(default_factory=list)


class CustomAttributeSearchResult(PascalModel):
    devices: list[CustomAttributeDevice] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class BulkCustomAttributeValue(SnakeModel):
    name: str
    application_group: str | None = Field(None, alias="applicationGroup")
    value: str | None = None


class BulkCustomAttributeDevice(SnakeModel):
    """Item of the bulk body of `PUT /mdm/devices/customattributes` (camelCase)."""

    serial_number: str | None = Field(None, alias="serialNumber")
    user_name: str | None = Field(None, alias="userName")
    device_custom_attributes: list[BulkCustomAttributeValue] = Field(alias="deviceCustomAttributes")


class BulkCustomAttributeResult(SnakeModel):
    total_items: int | None = Field(None, alias="totalItems")
    accepted_items: int | None = Field(None, alias="acceptedItems")
    failed_items: int | None = Field(None, alias="failedItems")
    activity_id: str | None = Field(None, alias="activityId")
    failed_devices: list[dict[str, object]] | None = Field(None, alias="failedDevices")


class DeviceSensorValue(SnakeModel):
    uuid: str | None = None
    name: str | None = None
    value: str | None = None
    last_executed_at: str | None = None


class DeviceSensorsResult(SnakeModel):
    """`GET /mdm/devices/{uuid}/sensors`: `{"total_results","results":[...]}` (limit/offset paging)."""

    total_results: int = 0
    results: list[DeviceSensorValue] = Field(default_factory=list)


class DeviceTag(SnakeModel):
    uuid: str | None = None
    name: str | None = None
    date_tagged: str | None = None


class DeviceTagsResult(SnakeModel):
    tags: list[DeviceTag] = Field(default_factory=list)
