"""`client.devices` — inventory reads (search v1/v3, by id/uuid/serial) and per-device sub-resources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page, PageStyle, iter_items, iter_pages, iter_pages_parallel
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import BulkResponse, CreatedId
from ws1ai.uem.schemas.device_details import (
    BulkCustomAttributeDevice,
    BulkCustomAttributeResult,
    CustomAttribute,
    CustomAttributeDevice,
    CustomAttributeSearchResult,
    DeviceApp,
    DeviceAppsResult,
    DeviceComplianceResult,
    DeviceCustomAttributes,
    DeviceEventLogEntry,
    DeviceEventLogResult,
    DeviceNetworkInfo,
    DeviceNote,
    DeviceNotesResult,
    DeviceProfile,
    DeviceProfilesResult,
    DeviceSecurityInfo,
    DeviceSensorsResult,
    DeviceTag,
    DeviceTagsResult,
)
from ws1ai.uem.schemas.devices import DeviceSearchResult, DeviceSearchV3Result, DeviceV1, DeviceV2, DeviceV3

__all__ = ["Devices", "SearchBy"]

SearchBy = Literal["Macaddress", "Udid", "Serialnumber", "ImeiNumber", "EasId", "DeviceId"]


class Devices(Resource):
    # ---- search -------------------------------------------------------------------------------------------
    def search(
        self,
        *,
        user: str | None = None,
        model: str | None = None,
        platform: str | None = None,
        last_seen: str | None = None,
        ownership: str | None = None,
        lgid: int | None = None,
        compliant_status: bool | None = None,
        seen_since: str | None = None,
        order_by: str | None = None,
        sort_order: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[DeviceV1]:
        """`GET /mdm/devices/search` (v1): one page; 204 (no match) is an empty page."""
        params = {
            "user": user,
            "model": model,
            "platform": platform,
            "lastseen": last_seen,
            "ownership": ownership,
            "lgid": lgid,
            "compliantstatus": compliant_status,
            "seensince": seen_since,
            "orderby": order_by,
            "sortorder": sort_order,
        }
        return self._page(
            "/mdm/devices/search",
            DeviceSearchResult,
            lambda r: r.devices,
            page=page,
            page_size=page_size,
            params=params,
        )

    def search_pages(
        self, *, page_size: int = MAX_PAGE_SIZE, workers: int = 1, **filters: str | int | bool | None
    ) -> Iterator[Page[DeviceV1]]:
        """Every page of a v1 search; `workers > 1` fetches pages concurrently (the limiter still paces)."""

        def fetch(page: int, size: int) -> Page[DeviceV1]:
            return self.search(page=page, page_size=size, **filters)  # type: ignore[arg-type]

        if workers > 1:
            return iter_pages_parallel(fetch, page_size=page_size, workers=workers)
        return iter_pages(fetch, page_size=page_size)

    def iter_search(
        self, *, page_size: int = MAX_PAGE_SIZE, workers: int = 1, **filters: str | int | bool | None
    ) -> Iterator[DeviceV1]:
        return iter_items(self.search_pages(page_size=page_size, workers=workers, **filters))

    def search_v3(
        self,
        *,
        user: str | None = None,
        model_identifier: str | None = None,
        device_type: str | None = None,
        last_seen: str | None = None,
        ownership: str | None = None,
        organization_group_uuid: str | None = None,
        compliance_status: str | None = None,
        seen_since: str | None = None,
        order_by: str | None = None,
        sort_order: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[DeviceV3]:
        """`GET /mdm/devices/search` with Accept v3: snake_case params and `devices/page/page_size/total`."""
        params = {
            "user": user,
            "model_identifier": model_identifier,
            "device_type": device_type,
            "last_seen": last_seen,
            "ownership": ownership,
            "organization_group_uuid": organization_group_uuid,
            "compliance_status": compliance_status,
            "seen_since": seen_since,
            "order_by": order_by,
            "sort_order": sort_order,
        }
        return self._page(
            "/mdm/devices/search",
            DeviceSearchV3Result,
            lambda r: r.devices,
            page=page,
            page_size=page_size,
            version=3,
            params=params,
            style=PageStyle.SNAKE,
        )

    def iter_search_v3(self, *, page_size: int = MAX_PAGE_SIZE, **filters: str | None) -> Iterator[DeviceV3]:
        return self._iter(lambda p, s: self.search_v3(page=p, page_size=s, **filters), page_size)

    # ---- single device ------------------------------------------------------------------------------------
    def delete(self, device_id: int) -> None:
        """`DELETE /mdm/devices/{id}` → 204: the device record is gone (re-enrolment makes a new one)."""
        self._send("DELETE", f"/mdm/devices/{device_id}")

    def get(self, device_id: int) -> DeviceV1:
        return self._model("GET", f"/mdm/devices/{device_id}", DeviceV1)

    def get_by(self, search_by: SearchBy, value: str) -> DeviceV1:
        """`GET /mdm/devices?searchby=X&id=V`."""
        return self._model("GET", "/mdm/devices", DeviceV1, params={"searchby": search_by, "id": value})

    def get_by_serial(self, serial_number: str) -> DeviceV1:
        return self.get_by("Serialnumber", serial_number)

    def get_v2(self, uuid: str) -> DeviceV2:
        return self._model("GET", f"/mdm/devices/{uuid}", DeviceV2, version=2)

    def get_v3(self, uuid: str) -> DeviceV3:
        return self._model("GET", f"/mdm/devices/{uuid}", DeviceV3, version=3)

    # ---- sub-resources ------------------------------------------------------------------------------------
    def apps(self, device_id: int, *, page: int = 0, page_size: int = MAX_PAGE_SIZE) -> Page[DeviceApp]:
        return self._page(
            f"/mdm/devices/{device_id}/apps",
            DeviceAppsResult,
            lambda r: r.device_apps,
            page=page,
            page_size=page_size,
        )

    def iter_apps(self, device_id: int) -> Iterator[DeviceApp]:
        return self._iter(lambda p, s: self.apps(device_id, page=p, page_size=s))

    def profiles(
        self, device_id: int, *, page: int = 0, page_size: int = MAX_PAGE_SIZE
    ) -> Page[DeviceProfile]:
        return self._page(
            f"/mdm/devices/{device_id}/profiles",
            DeviceProfilesResult,
            lambda r: r.device_profiles,
            page=page,
            page_size=page_size,
        )

    def compliance(
        self, device_id: int, *, page: int = 0, page_size: int = MAX_PAGE_SIZE
    ) -> DeviceComplianceResult:
        result = self._optional_model(
            "GET",
            f"/mdm/devices/{device_id}/compliance",
            DeviceComplianceResult,
            params={"page": page, "pagesize": page_size},
        )
        return result or DeviceComplianceResult()

    def security(self, device_id: int) -> DeviceSecurityInfo:
        return self._model("GET", f"/mdm/devices/{device_id}/security", DeviceSecurityInfo)

    def network(self, device_id: int) -> DeviceNetworkInfo:
        return self._model("GET", f"/mdm/devices/{device_id}/network", DeviceNetworkInfo)

    def eventlog(
        self,
        device_id: int,
        *,
        severity: str | None = None,
        day_range: int | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[DeviceEventLogEntry]:
        return self._page(
            f"/mdm/devices/{device_id}/eventlog",
            DeviceEventLogResult,
            lambda r: r.device_event_log_entries,
            page=page,
            page_size=page_size,
            params={"severity": severity, "dayrange": day_range},
        )

    def sensors(
        self, uuid: str, *, search_text: str | None = None, limit: int = 50, offset: int = 0
    ) -> DeviceSensorsResult:
        """`GET /mdm/devices/{uuid}/sensors` — limit/offset paging (limit 1-2000)."""
        params = {"search_text": search_text, "limit": limit, "offset": offset}
        result = self._optional_model(
            "GET", f"/mdm/devices/{uuid}/sensors", DeviceSensorsResult, params=params
        )
        return result or DeviceSensorsResult()

    def tags(self, uuid: str) -> list[DeviceTag]:
        result = self._optional_model("GET", f"/mdm/devices/{uuid}/tags", DeviceTagsResult)
        return result.tags if result else []

    def notes(self, device_id: int) -> list[DeviceNote]:
        result = self._optional_model("GET", f"/mdm/devices/{device_id}/notes", DeviceNotesResult)
        return result.device_notes if result else []

    def add_note(self, device_id: int, note: str) -> int | None:
        """`POST /mdm/devices/{id}/notes` → the new note's id."""
        body = {"DeviceId": device_id, "Note": note}
        created = self._optional_model("POST", f"/mdm/devices/{device_id}/notes", CreatedId, json=body)
        return created.value if created else None

    # ---- custom attributes --------------------------------------------------------------------------------
    def search_custom_attributes(
        self,
        *,
        device_id: int | None = None,
        serial_number: str | None = None,
        organization_group_id: int | None = None,
        custom_attribute_name: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[CustomAttributeDevice]:
        params = {
            "deviceid": device_id,
            "serialnumber": serial_number,
            "organizationgroupid": organization_group_id,
            "customattributename": custom_attribute_name,
        }
        return self._page(
            "/mdm/devices/customattribute/search",
            CustomAttributeSearchResult,
            lambda r: r.devices,
            page=page,
            page_size=page_size,
            params=params,
        )

    def custom_attributes(self, device_id: int) -> list[CustomAttribute]:
        page = self.search_custom_attributes(device_id=device_id)
        return [attr for device in page.items for attr in device.custom_attributes]

    def set_custom_attributes(
        self, device_id: int, attributes: Sequence[CustomAttribute]
    ) -> BulkResponse | None:
        body = DeviceCustomAttributes(custom_attributes=list(attributes)).to_wire()
        return self._optional_model(
            "PUT", f"/mdm/devices/{device_id}/customattributes", BulkResponse, json=body
        )

    def set_custom_attributes_by_serial(
        self, serial_number: str, attributes: Sequence[CustomAttribute]
    ) -> BulkResponse | None:
        body = DeviceCustomAttributes(custom_attributes=list(attributes)).to_wire()
        path = f"/mdm/devices/serialnumber/{serial_number}/customattributes"
        return self._optional_model("PUT", path, BulkResponse, json=body)

    def delete_custom_attributes(self, device_id: int, names: Sequence[str]) -> None:
        body = {"CustomAttributes": [{"Name": name} for name in names]}
        self._send("DELETE", f"/mdm/devices/{device_id}/customattributes", json=body)

    def bulk_set_custom_attributes(
        self, devices: Sequence[BulkCustomAttributeDevice]
    ) -> BulkCustomAttributeResult | None:
        """`PUT /mdm/devices/customattributes` — many devices in one call (rule 4: bulk over per-device)."""
        body = [device.to_wire() for device in devices]
        return self._optional_model(
            "PUT", "/mdm/devices/customattributes", BulkCustomAttributeResult, json=body
        )
