"""Device shapes: v1 PascalCase (search items, GET by id), v2 camelCase, v3 snake_case.

Field lists: docs/uem-api.md#devices.
"""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import CamelModel, PascalModel, SnakeModel
from ws1ai.uem.schemas.common import EntityId, EntityRef, Link

__all__ = [
    "ComplianceSummary",
    "DeviceCellularNetworkInfo",
    "DeviceComplianceItem",
    "DeviceMCC",
    "DeviceNetworkInterface",
    "DeviceSearchResult",
    "DeviceSearchV3Result",
    "DeviceV1",
    "DeviceV2",
    "DeviceV3",
]


class DeviceMCC(PascalModel):
    simmcc: str | None = Field(None, alias="SIMMCC")
    current_mcc: str | None = Field(None, alias="CurrentMCC")


class ActionTaken(PascalModel):
    action_type: int | None = None


class DeviceComplianceItem(PascalModel):
    compliant_status: bool | None = None
    policy_name: str | None = None
    policy_detail: str | None = None
    last_compliance_check: str | None = None
    next_compliance_check: str | None = None
    action_taken: list[ActionTaken] | None = None
    id: EntityId | None = None
    uuid: str | None = None


class ComplianceSummary(PascalModel):
    device_compliance: list[DeviceComplianceItem] | None = None


class DeviceNetworkInterface(PascalModel):
    connection_type: str | None = None
    ip_address: str | None = Field(None, alias="IPAddress")
    mac_address: str | None = Field(None, alias="MACAddress")
    name: str | None = None
    vendor: str | None = None


class DeviceCellularNetworkInfo(PascalModel):
    carrier_name: str | None = None
    card_id: str | None = None
    phone_number: str | None = None
    device_mcc: DeviceMCC | None = Field(None, alias="DeviceMCC")
    is_roaming: bool | None = None


class DeviceV1(PascalModel):
    """`DeviceExtended` (search items) / `Device` (GET by id: same minus EasIds, TimeZone).

    Timestamps are ISO-8601 without zone (UTC); never-set is `0001-01-01T00:00:00.000`: kept as strings.
    """

    eas_ids: dict[str, object] | None = None
    time_zone: str | None = None
    udid: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None
    imei: str | None = None
    eas_id: str | None = None
    asset_number: str | None = None
    device_friendly_name: str | None = None
    device_reported_name: str | None = None
    location_group_id: EntityRef | None = None
    location_group_name: str | None = None
    user_id: EntityRef | None = None
    user_name: str | None = None
    data_protection_status: int | None = None
    user_email_address: str | None = None
    ownership: str | None = None
    platform_id: EntityRef | None = None
    platform: str | None = None
    model_id: EntityRef | None = None
    model: str | None = None
    operating_system: str | None = None
    phone_number: str | None = None
    last_seen: str | None = None
    enrollment_status: str | None = None
    compliance_status: str | None = None
    compromised_status: bool | None = None
    last_enrolled_on: str | None = None
    last_compliance_check_on: str | None = None
    last_compromised_check_on: str | None = None
    compliance_summary: ComplianceSummary | None = None
    is_supervised: bool | None = None
    device_mcc: DeviceMCC | None = Field(None, alias="DeviceMCC")
    is_remote_management_enabled: str | None = None
    data_encryption_yn: str | None = Field(None, alias="DataEncryptionYN")
    ac_line_status: int | None = None
    virtual_memory: int | None = None
    oem_info: str | None = Field(None, alias="OEMInfo")
    device_capacity: float | None = None
    available_device_capacity: float | None = None
    last_system_sample_time: str | None = None
    is_device_dnd_enabled: bool | None = Field(None, alias="IsDeviceDNDEnabled")
    is_device_locator_enabled: bool | None = None
    is_cloud_backup_enabled: bool | None = None
    is_activation_lock_enabled: bool | None = None
    is_network_tethered: bool | None = None
    battery_level: str | None = None
    is_roaming: bool | None = None
    last_network_lan_sample_time: str | None = Field(None, alias="LastNetworkLANSampleTime")
    last_bluetooth_sample_time: str | None = None
    system_integrity_protection_enabled: bool | None = None
    processor_architecture: int | None = None
    user_approved_enrollment: bool | None = None
    enrolled_via_dep: bool | None = Field(None, alias="EnrolledViaDEP")
    total_physical_memory: int | None = None
    available_physical_memory: int | None = None
    os_build_version: str | None = Field(None, alias="OSBuildVersion")
    host_name: str | None = None
    local_host_name: str | None = None
    security_patch_date: str | None = None
    system_update_received_time: str | None = None
    is_security_patch_update: bool | None = None
    device_manufacturer_id: int | None = None
    device_network_info: list[DeviceNetworkInterface] | None = None
    device_cellular_network_info: list[DeviceCellularNetworkInfo] | None = None
    enrollment_user_uuid: str | None = None
    managed_by: int | None = None
    wifi_ssid: str | None = None
    dep_token_source: int | None = None
    id: EntityId | None = None
    uuid: str | None = None

    @property
    def device_id(self) -> int | None:
        return self.id.value if self.id else None


class DeviceSearchResult(PascalModel):
    """v1/v2 search: `{"Devices": [...], "Page", "PageSize", "Total"}`."""

    devices: list[DeviceV1] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class PlatformInfoV2(CamelModel):
    device_type: str | None = None
    platform_name: str | None = None
    model_name: str | None = None
    os_version: str | None = None


class CarrierInfoV2(CamelModel):
    phone_number: str | None = None
    roaming_enabled: bool | None = None


class EnrollmentInfoV2(CamelModel):
    enrollment_status: str | None = None
    compliant: bool | None = None
    enrollment_timestamp: str | None = None
    last_seen_timestamp: str | None = None
    ownership: str | None = None
    organization_group_id: str | None = None
    organization_group_name: str | None = None
    user_name: str | None = None
    user_email_address: str | None = None
    enrollment_user_uuid: str | None = None
    managed_by: str | None = None


class DeviceV2(CamelModel):
    """`GET /mdm/devices/{uuid}` with Accept v2 (`GetDeviceResponseV2Model`)."""

    udid: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None
    imei: str | None = None
    friendly_name: str | None = None
    organization_group_name: str | None = None
    battery_level_percentage: str | None = None
    supervised: bool | None = None
    data_encrypted: bool | None = None
    platform_info: PlatformInfoV2 | None = None
    carrier_info: CarrierInfoV2 | None = None
    enrollment_info: EnrollmentInfoV2 | None = None
    total_storage_bytes: int | None = None
    available_storage_bytes: int | None = None
    computer_name: str | None = None
    wifi_ssid: str | None = Field(None, alias="WifiSsid")
    os_build_version: str | None = Field(None, alias="OSBuildVersion")
    links: list[Link] | None = Field(None, alias="Links")
    uuid: str | None = None


class PlatformInfoV3(SnakeModel):
    device_type: str | None = None
    platform_name: str | None = None
    model_name: str | None = None
    os_version: str | None = None


class CarrierInfoV3(SnakeModel):
    phone_number: str | None = None
    roaming_enabled: bool | None = None


class EnrollmentInfoV3(SnakeModel):
    enrollment_status: str | None = None
    compliant: bool | None = None
    enrollment_timestamp: str | None = None
    last_seen_timestamp: str | None = None
    ownership: str | None = None
    organization_group_uuid: str | None = None
    organization_group_name: str | None = None
    user_name: str | None = None
    user_email_address: str | None = None
    enrollment_user_uuid: str | None = None
    managed_by: str | None = None


class DeviceV3(SnakeModel):
    """`GET /mdm/devices/{uuid}` with Accept v3/v4 (`DeviceResponseV3Model`)."""

    udid: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None
    imei: str | None = None
    friendly_name: str | None = None
    device_reported_name: str | None = None
    organization_group_name: str | None = None
    total_storage_bytes: int | None = None
    available_storage_bytes: int | None = None
    total_physical_memory_bytes: int | None = None
    available_physical_memory_bytes: int | None = None
    total_external_storage_bytes: int | None = None
    available_external_storage_bytes: int | None = None
    battery_level_percentage: str | None = None
    computer_name: str | None = None
    supervised: bool | None = None
    data_encrypted: bool | None = None
    platform_info: PlatformInfoV3 | None = None
    carrier_info: CarrierInfoV3 | None = None
    enrollment_info: EnrollmentInfoV3 | None = None
    os_build_version: str | None = None
    wifi_ssid: str | None = None
    last_reboot: str | None = None
    security_patch_date: str | None = None
    system_update_received_time: str | None = None
    is_security_patch_update: bool | None = None
    hardware_device_identifier: str | None = None
    processor_architecture_name: str | None = None
    links: list[Link] | None = Field(None, alias="Links")
    uuid: str | None = None


class DeviceSearchV3Result(SnakeModel):
    """v3 search: `{"devices": [...], "page", "page_size", "total"}`."""

    devices: list[DeviceV3] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0
