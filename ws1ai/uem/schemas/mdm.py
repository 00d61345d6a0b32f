"""MDM request/response shapes: messages, commands, profiles, smart groups, tags.

Shapes: docs/uem-api.md#endpoints.
"""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel, SnakeModel
from ws1ai.uem.schemas.common import BulkValues, EntityId

__all__ = [
    "CommandsV2Body",
    "DeviceInfo",
    "EmailMessage",
    "Profile",
    "ProfileSearchResult",
    "ProfileSearchV2Result",
    "ProfileV2",
    "PushMessage",
    "SmartGroup",
    "SmartGroupDevice",
    "SmartGroupDevices",
    "SmartGroupEdit",
    "SmartGroupSearchResult",
    "SmartGroupSummary",
    "Tag",
    "TagDevice",
    "TagDevices",
    "TagSearchResult",
]


class PushMessage(PascalModel):
    """`POST .../messages/push` body; `BulkValues` only on `bulkpush`."""

    message_body: str
    application: str = "AirWatch Agent"
    message_type: str = "Apns"
    bulk_values: BulkValues | None = None


class EmailMessage(PascalModel):
    message_body: str
    to_address: str | None = None
    subject: str | None = None
    is_html_body: bool = False
    bulk_values: BulkValues | None = None


class CommandsV2Body(SnakeModel):
    """`CommandsV2Model` (v2 commands by UUID); macOS Lock/DeviceWipe need `unlock_pin`."""

    device_uuids: list[str] | None = None
    unlock_pin: int | None = None
    message: str | None = None
    sensor_names: list[str] | None = None


class DeviceInfo(PascalModel):
    """Target of profile/app install and remove: exactly one of the identifiers."""

    device_id: int | None = None
    serial_number: str | None = None
    udid: str | None = None
    mac_address: str | None = None


class Profile(PascalModel):
    profile_name: str | None = None
    organization_group_id: int | str | None = None
    profile_status: str | None = None
    platform: str | None = None
    profile_scope: str | None = None
    operating_system: str | None = None
    model: str | None = None
    ownership: str | None = None
    managed_by: str | None = None
    type: str | None = None
    assigned_organization_groups: list[object] | None = None
    id: EntityId | None = None
    uuid: str | None = None


class ProfileSearchResult(PascalModel):
    profiles: list[Profile] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class ProfileV2(PascalModel):
    profile_id: int | None = None
    profile_uuid: str | None = None
    platform: str | None = None
    profile_type: str | None = None
    profile_status: str | None = None


class ProfileSearchV2Result(PascalModel):
    profile_list: list[ProfileV2] = Field(default_factory=list)
    total_results: int = 0


class SmartGroupSummary(PascalModel):
    """Search item. `ManagedByOrganizationGroupId` is a string, `SmartGroupID` an int with capital ID."""

    assignments: int | None = None
    devices: int | None = None
    exclusions: int | None = None
    managed_by_organization_group_id: str | None = None
    managed_by_organization_group_name: str | None = None
    managed_by_organization_group_uuid: str | None = None
    name: str | None = None
    smart_group_id: int | None = Field(None, alias="SmartGroupID")
    smart_group_uuid: str | None = None


class SmartGroupSearchResult(PascalModel):
    smart_groups: list[SmartGroupSummary] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class SmartGroupEdit(PascalModel):
    """`SmartGroupEditV1Model` — create/update body."""

    name: str
    criteria_type: str = "All"
    managed_by_organization_group_id: str | None = None
    organization_groups: list[dict[str, object]] = Field(default_factory=list)
    user_groups: list[dict[str, object]] = Field(default_factory=list)
    tags: list[dict[str, object]] = Field(default_factory=list)
    ownerships: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    operating_systems: list[dict[str, object]] = Field(default_factory=list)
    user_additions: list[dict[str, object]] = Field(default_factory=list)
    device_additions: list[dict[str, object]] = Field(default_factory=list)
    user_exclusions: list[dict[str, object]] = Field(default_factory=list)
    device_exclusions: list[dict[str, object]] = Field(default_factory=list)
    user_group_exclusions: list[dict[str, object]] = Field(default_factory=list)
    management_types: list[str] = Field(default_factory=list)
    enrollment_categories: list[str] = Field(default_factory=list)
    oem_and_models: list[dict[str, object]] = Field(default_factory=list, alias="OEMAndModels")
    cpu_architectures: list[str] = Field(default_factory=list, alias="CPUArchitectures")


class SmartGroup(SmartGroupSummary):
    """`GET /mdm/smartgroups/{id}`: the summary plus the criteria."""

    criteria_type: str | None = None
    organization_groups: list[dict[str, object]] | None = None
    user_groups: list[dict[str, object]] | None = None
    tags: list[dict[str, object]] | None = None
    ownerships: list[str] | None = None
    platforms: list[str] | None = None
    models: list[str] | None = None
    operating_systems: list[dict[str, object]] | None = None
    user_additions: list[dict[str, object]] | None = None
    device_additions: list[dict[str, object]] | None = None
    user_exclusions: list[dict[str, object]] | None = None
    device_exclusions: list[dict[str, object]] | None = None
    user_group_exclusions: list[dict[str, object]] | None = None
    management_types: list[str] | None = None
    enrollment_categories: list[str] | None = None
    oem_and_models: list[dict[str, object]] | None = Field(None, alias="OEMAndModels")
    cpu_architectures: list[str] | None = Field(None, alias="CpuArchitectures")


class SmartGroupDevice(PascalModel):
    id: str | None = None
    name: str | None = None
    model: str | None = None
    os_version: str | None = Field(None, alias="OSVersion")
    username: str | None = None
    platform: str | None = None
    ownership: str | None = None


class SmartGroupDevices(PascalModel):
    devices: list[SmartGroupDevice] = Field(default_factory=list)


class Tag(PascalModel):
    tag_name: str | None = None
    date_tagged: str | None = None
    tag_avatar: str | None = None
    tag_type: int | str | None = None
    location_group_id: int | None = None
    id: EntityId | None = None
    uuid: str | None = None


class TagSearchResult(PascalModel):
    tags: list[Tag] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class TagDevice(PascalModel):
    device_id: int | None = None
    friendly_name: str | None = None
    date_tagged: str | None = None
    device_uuid: str | None = None


class TagDevices(PascalModel):
    device: list[TagDevice] = Field(default_factory=list)
