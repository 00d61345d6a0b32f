"""System module shapes: users, organization groups, event notifications, service info.

Shapes: docs/uem-api.md#users-and-organization-groups and docs/uem-api.md#event-notifications.
"""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel
from ws1ai.uem.schemas.common import EntityId, EntityRef

__all__ = [
    "DeviceEventFlags",
    "EventNotification",
    "EventNotificationSearchResult",
    "OrganizationGroup",
    "OrganizationGroupCreate",
    "OrganizationGroupSearchResult",
    "OrganizationGroupSearchV2Result",
    "OrganizationGroupV2",
    "ServiceInfo",
    "User",
    "UserSearchResult",
]


class User(PascalModel):
    """`User` (search item, GET by id, create/update body). `Password` is only ever sent, never returned."""

    user_name: str | None = None
    password: str | None = Field(None, repr=False)  # sent on create, never returned; kept out of reprs
    first_name: str | None = None
    last_name: str | None = None
    status: bool | None = None
    email: str | None = None
    security_type: int | None = None
    contact_number: str | None = None
    display_name: str | None = None
    mobile_number: str | None = None
    message_type: int | None = None
    email_user_name: str | None = None
    group: str | None = None
    location_group_id: str | None = None
    organization_group_uuid: str | None = None
    role: str | None = None
    enrolled_devices_count: str | None = None
    message_template_id: int | None = None
    custom_attribute1: str | None = None
    custom_attribute2: str | None = None
    custom_attribute3: str | None = None
    custom_attribute4: str | None = None
    custom_attribute5: str | None = None
    external_id: str | None = None
    staging_mode: int | None = None
    device_staging_enabled: bool | None = None
    device_staging_type: int | None = None
    provisioning_sku: str | None = None
    id: EntityId | None = None
    uuid: str | None = None


class UserSearchResult(PascalModel):
    users: list[User] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class OrganizationGroup(PascalModel):
    """`LocationGroup` (v1). Counts arrive as strings; `CreatedOn` like `2/9/2026 7:59:49 PM`."""

    name: str | None = None
    group_id: str | None = None
    location_group_type: str | None = None
    country: str | None = None
    locale: str | None = None
    parent_location_group: EntityRef | None = None
    add_default_location: str | None = None
    created_on: str | None = None
    lg_level: int | None = None
    users: str | None = None
    admins: str | None = None
    devices: str | None = None
    id: EntityId | None = None
    uuid: str | None = None


class OrganizationGroupSearchResult(PascalModel):
    location_groups: list[OrganizationGroup] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class OrganizationGroupV2(PascalModel):
    """v2 search item: `Id` is a plain int here."""

    name: str | None = None
    group_id: str | None = None
    location_group_type: str | None = None
    country: str | None = None
    locale: str | None = None
    parent_location_group: EntityRef | None = None
    created_on: str | None = None
    lg_level: int | None = None
    users: str | None = None
    admins: str | None = None
    devices: str | None = None
    id: int | None = None
    uuid: str | None = None


class OrganizationGroupSearchV2Result(PascalModel):
    organization_groups: list[OrganizationGroupV2] = Field(default_factory=list)
    additional_info: dict[str, object] | None = None
    total_results: int = 0


class OrganizationGroupCreate(PascalModel):
    """`POST /system/groups/{parentId}` body."""

    group_id: str
    name: str
    location_group_type: str = "Container"
    country: str | None = None
    locale: str | None = None


class DeviceAttributeFlags(PascalModel):
    asset_number: bool | None = None
    friendly_name: bool | None = None
    organization_group: bool | None = None
    user_email_address: bool | None = None
    ownership: bool | None = None
    operating_system: bool | None = None
    phone_number: bool | None = None
    device_mcc: bool | None = Field(None, alias="DeviceMcc")


class DeviceEventFlags(PascalModel):
    enrollment: bool | None = None
    unenrolled_enterprise_wipe: bool | None = None
    wipe: bool | None = None
    compromised_status_change: bool | None = None
    delete: bool | None = None
    compliance_status_change: bool | None = None
    check_out_check_in: bool | None = None
    device_attributes: DeviceAttributeFlags | None = None


class EventNotification(PascalModel):
    """`EventNotificationModel`. `Format`: 0 XML, 1 JSON. Username/Password: Basic auth for TargetUrl."""

    target_name: str | None = None
    target_url: str | None = None
    username: str | None = None
    password: str | None = Field(None, repr=False)  # sent on create, never returned; kept out of reprs
    format: int | None = None
    is_active: bool | None = None
    device_events: DeviceEventFlags | None = None
    organization_group_id: int | str | None = Field(None, alias="organizationGroupId")
    organization_group_uuid: str | None = Field(None, alias="organizationGroupUuid")
    id: EntityId | int | None = None
    uuid: str | None = None


class EventNotificationSearchResult(PascalModel):
    event_notifications: list[EventNotification] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class ServiceInfo(PascalModel):
    """`GET /system/info` (`ServiceDocument`)."""

    product_name: str | None = None
    product_version: str | None = None
    version: str | None = None
    resources: dict[str, object] | list[object] | None = None
