"""`client.profiles` — search, install, remove (docs/uem-api.md#profiles)."""

from __future__ import annotations

from collections.abc import Iterator

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.mdm import DeviceInfo, Profile, ProfileSearchResult, ProfileSearchV2Result, ProfileV2

__all__ = ["Profiles"]


class Profiles(Resource):
    def search(
        self,
        *,
        profile_name: str | None = None,
        type: str | None = None,
        platform: str | None = None,
        status: str | None = None,
        organization_group_id: int | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[Profile]:
        params = {
            "profilename": profile_name,
            "type": type,
            "platform": platform,
            "status": status,
            "organizationgroupid": organization_group_id,
        }
        return self._page(
            "/mdm/profiles/search",
            ProfileSearchResult,
            lambda r: r.profiles,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | int | None) -> Iterator[Profile]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))  # type: ignore[arg-type]

    def search_v2(
        self, *, page: int = 0, page_size: int = MAX_PAGE_SIZE, **filters: str | None
    ) -> Page[ProfileV2]:
        """Accept v2: `{"ProfileList": [...], "TotalResults"}` (no page echo)."""
        return self._page(
            "/mdm/profiles/search",
            ProfileSearchV2Result,
            lambda r: r.profile_list,
            page=page,
            page_size=page_size,
            version=2,
            params=filters,
            counts=lambda r: (page, page_size, r.total_results),
        )

    def install(self, profile_id: int, target: DeviceInfo) -> None:
        """`POST /mdm/profiles/{id}/install` with one of DeviceId / SerialNumber / Udid / MacAddress."""
        self._send("POST", f"/mdm/profiles/{profile_id}/install", json=target.to_wire())

    def remove(self, profile_id: int, target: DeviceInfo) -> None:
        self._send("POST", f"/mdm/profiles/{profile_id}/remove", json=target.to_wire())
