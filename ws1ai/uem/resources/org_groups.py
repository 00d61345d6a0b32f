"""`client.org_groups` — organization groups (`LocationGroup`): search v1/v2, get, children, create.

Shapes: docs/uem-api.md#users-and-organization-groups.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import TypeAdapter

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import CreatedId
from ws1ai.uem.schemas.system import (
    OrganizationGroup,
    OrganizationGroupCreate,
    OrganizationGroupSearchResult,
    OrganizationGroupSearchV2Result,
    OrganizationGroupV2,
)
from ws1ai.uem.transport import json_body

__all__ = ["OrgGroups"]

_CHILDREN = TypeAdapter(list[OrganizationGroup])


class OrgGroups(Resource):
    def search(
        self,
        *,
        name: str | None = None,
        type: str | None = None,
        group_id: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[OrganizationGroup]:
        params = {"name": name, "type": type, "groupid": group_id}
        return self._page(
            "/system/groups/search",
            OrganizationGroupSearchResult,
            lambda r: r.location_groups,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | None) -> Iterator[OrganizationGroup]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))

    def search_v2(
        self, *, name: str | None = None, page: int = 0, page_size: int = MAX_PAGE_SIZE
    ) -> Page[OrganizationGroupV2]:
        """Accept v2: `{"OrganizationGroups": [...], "AdditionalInfo", "TotalResults"}`, `Id` a plain int."""
        return self._page(
            "/system/groups/search",
            OrganizationGroupSearchV2Result,
            lambda r: r.organization_groups,
            page=page,
            page_size=page_size,
            version=2,
            params={"name": name},
            counts=lambda r: (page, page_size, r.total_results),
        )

    def get(self, og_id: int) -> OrganizationGroup:
        return self._model("GET", f"/system/groups/{og_id}", OrganizationGroup)

    def children(self, og_id: int) -> list[OrganizationGroup]:
        """Bare JSON array."""
        data = json_body(self._send("GET", f"/system/groups/{og_id}/children"))
        return _CHILDREN.validate_python(data or [])

    def create(self, parent_id: int, group: OrganizationGroupCreate) -> CreatedId:
        return self._model("POST", f"/system/groups/{parent_id}", CreatedId, json=group.to_wire())
