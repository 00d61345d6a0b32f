"""`client.tags` — search, create, add/remove devices (docs/uem-api.md#tags).

`bulk_add_devices` / `bulk_remove_devices` send device ids in batches with a per-value outcome
(`ws1ai.uem.bulk`); `add_devices` / `remove_devices` are one unbatched call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult, run_bulk
from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import BulkResponse, BulkValues, CreatedId
from ws1ai.uem.schemas.mdm import Tag, TagDevice, TagDevices, TagSearchResult

__all__ = ["Tags"]


class Tags(Resource):
    def search(
        self,
        *,
        name: str | None = None,
        organization_group_id: int | None = None,
        tag_type: int | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[Tag]:
        params = {"name": name, "organizationgroupid": organization_group_id, "tagtype": tag_type}
        return self._page(
            "/mdm/tags/search",
            TagSearchResult,
            lambda r: r.tags,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | int | None) -> Iterator[Tag]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))  # type: ignore[arg-type]

    def create(self, name: str, location_group_id: int, *, tag_type: int = 1, avatar: str = "") -> CreatedId:
        body = {
            "TagName": name,
            "TagType": tag_type,
            "TagAvatar": avatar,
            "LocationGroupId": location_group_id,
        }
        return self._model("POST", "/mdm/tags/addtag", CreatedId, json=body)

    def devices(self, tag_id: int) -> list[TagDevice]:
        result = self._optional_model("GET", f"/mdm/tags/{tag_id}/devices", TagDevices)
        return result.device if result else []

    def add_devices(self, tag_id: int, device_ids: Sequence[int]) -> BulkResponse:
        """One call with every id (no batching): prefer `bulk_add_devices` for more than a few."""
        body = {"BulkValues": BulkValues(value=[str(d) for d in device_ids]).to_wire()}
        return self._model("POST", f"/mdm/tags/{tag_id}/adddevices", BulkResponse, json=body)

    def remove_devices(self, tag_id: int, device_ids: Sequence[int]) -> BulkResponse:
        """One call with every id (no batching): prefer `bulk_remove_devices` for more than a few."""
        body = {"BulkValues": BulkValues(value=[str(d) for d in device_ids]).to_wire()}
        return self._model("POST", f"/mdm/tags/{tag_id}/removedevices", BulkResponse, json=body)

    def bulk_add_devices(
        self, tag_id: int, device_ids: Iterable[int], *, batch_size: int = BULK_BATCH_SIZE
    ) -> BulkResult:
        """`POST /mdm/tags/{id}/adddevices` in batches; the result is keyed by `str(device_id)`.

        Raises `UEMBulkError` (values in doubt / not sent) if a batch fails after an earlier one went through
        or its response is lost; a lost batch is never re-sent."""
        return self._bulk_tag(tag_id, "adddevices", device_ids, batch_size)

    def bulk_remove_devices(
        self, tag_id: int, device_ids: Iterable[int], *, batch_size: int = BULK_BATCH_SIZE
    ) -> BulkResult:
        """`POST /mdm/tags/{id}/removedevices` in batches; the result is keyed by `str(device_id)`."""
        return self._bulk_tag(tag_id, "removedevices", device_ids, batch_size)

    def _bulk_tag(self, tag_id: int, verb: str, device_ids: Iterable[int], batch_size: int) -> BulkResult:
        def send(batch: list[str]) -> BulkResponse:
            body = {"BulkValues": BulkValues(value=batch).to_wire()}
            return self._model("POST", f"/mdm/tags/{tag_id}/{verb}", BulkResponse, json=body)

        return run_bulk(
            f"tag {tag_id} {verb}", (str(int(d)) for d in device_ids), send, batch_size=batch_size
        )
