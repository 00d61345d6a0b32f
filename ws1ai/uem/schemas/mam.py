"""Application shapes (docs/uem-api.md#apps)."""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel, SnakeModel
from ws1ai.uem.schemas.common import EntityId

__all__ = ["AppSearchResult", "AppSearchV2Result", "Application", "ApplicationV2", "PurchasedAppTarget"]


class Application(PascalModel):
    """`ApplicationEntity` (v1 search item and app details)."""

    application_name: str | None = None
    bundle_id: str | None = None
    app_version: str | None = None
    actual_file_version: str | None = None
    build_version: str | None = None
    status: str | None = None
    platform: int | str | None = None
    supported_models: dict[str, object] | None = None
    assignment_status: str | None = None
    application_size: str | None = None
    category_list: dict[str, object] | None = None
    smart_groups: list[dict[str, object]] | None = None
    is_reimbursable: bool | None = None
    application_url: str | None = None
    location_group_id: int | None = None
    root_location_group_name: str | None = None
    organization_group_uuid: str | None = None
    large_icon_uri: str | None = None
    medium_icon_uri: str | None = None
    small_icon_uri: str | None = None
    push_mode: int | str | None = None
    app_rank: int | None = None
    assigned_device_count: int | None = None
    installed_device_count: int | None = None
    not_installed_device_count: int | None = None
    app_type: str | None = None
    application_source: int | None = None
    price: float | None = None
    is_paid: bool | None = None
    id: EntityId | None = None
    uuid: str | None = None


class AppSearchResult(PascalModel):
    """v1: `{"Application": [...], "Book": [...], "Page", "PageSize", "Total"}`."""

    application: list[Application] = Field(default_factory=list)
    book: list[dict[str, object]] | None = None
    page: int = 0
    page_size: int = 0
    total: int = 0


class ApplicationV2(SnakeModel):
    name: str | None = None
    bundle_id: str | None = None
    app_version: str | None = None
    platform: str | None = None
    application_type: str | None = None
    status: str | None = None
    organization_group_uuid: str | None = None
    uuid: str | None = None
    id: int | None = None


class AppSearchV2Result(SnakeModel):
    """v2/v4: `{"applications": [...], "page", "page_size", "total"}`."""

    applications: list[ApplicationV2] = Field(default_factory=list)
    page: int = 0
    page_size: int = 0
    total: int = 0


class PurchasedAppTarget(SnakeModel):
    """v2 purchased install/uninstall body: one of the identifiers."""

    device_uuid: str | None = None
    device_udid: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None
