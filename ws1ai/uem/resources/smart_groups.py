"""`client.smart_groups` — CRUD and membership (docs/uem-api.md#smart-groups).

Create → 201 `{"Value","uuid"}`; PUT/DELETE → 204.
"""

from __future__ import annotations

from collections.abc import Iterator

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import CreatedId
from ws1ai.uem.schemas.mdm import (
    SmartGroup,
    SmartGroupDevice,
    SmartGroupDevices,
    SmartGroupEdit,
    SmartGroupSearchResult,
    SmartGroupSummary,
)

__all__ = ["SmartGroups"]


class SmartGroups(Resource):
    def search(
        self,
        *,
        name: str | None = None,
        organization_group_id: int | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[SmartGroupSummary]:
        params = {"name": name, "organizationgroupid": organization_group_id}
        return self._page(
            "/mdm/smartgroups/search",
            SmartGroupSearchResult,
            lambda r: r.smart_groups,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | int | None) -> Iterator[SmartGroupSummary]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))  # type: ignore[arg-type]

    def get(self, smart_group_id: int) -> SmartGroup:
        return self._model("GET", f"/mdm/smartgroups/{smart_group_id}", SmartGroup)

    def create(self, group: SmartGroupEdit) -> CreatedId:
        return self._model("POST", "/mdm/smartgroups", CreatedId, json=group.to_wire())

    def update(self, smart_group_id: int, group: SmartGroupEdit) -> None:
        self._send("PUT", f"/mdm/smartgroups/{smart_group_id}", json=group.to_wire())

    def delete(self, smart_group_id: int) -> None:
        self._send("DELETE", f"/mdm/smartgroups/{smart_group_id}")

    def devices(
        self, smart_group_id: int, *, seen_since: str | None = None, seen_till: str | None = None
    ) -> list[SmartGroupDevice]:
        """Members (no paging on this route)."""
        result = self._optional_model(
            "GET",
            f"/mdm/smartgroups/{smart_group_id}/devices",
            SmartGroupDevices,
            params={"seensince": seen_since, "seentill": seen_till},
        )
        return result.devices if result else []
