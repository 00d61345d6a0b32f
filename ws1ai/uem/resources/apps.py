"""`client.apps` — application search and install/uninstall (docs/uem-api.md#apps)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page, PageStyle
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.mam import (
    Application,
    ApplicationV2,
    AppSearchResult,
    AppSearchV2Result,
    PurchasedAppTarget,
)
from ws1ai.uem.schemas.mdm import DeviceInfo

__all__ = ["AppKind", "Apps"]

AppKind = Literal["internal", "public", "purchased"]


class Apps(Resource):
    def search(
        self,
        *,
        application_name: str | None = None,
        application_type: str | None = None,
        bundle_id: str | None = None,
        platform: str | None = None,
        location_group_id: int | None = None,
        status: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[Application]:
        """`GET /mam/apps/search` (v1): `{"Application": [...], "Page", "PageSize", "Total"}`."""
        params = {
            "applicationname": application_name,
            "applicationtype": application_type,
            "bundleid": bundle_id,
            "platform": platform,
            "locationgroupid": location_group_id,
            "status": status,
        }
        return self._page(
            "/mam/apps/search",
            AppSearchResult,
            lambda r: r.application,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | int | None) -> Iterator[Application]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))  # type: ignore[arg-type]

    def search_v2(
        self, *, page: int = 0, page_size: int = MAX_PAGE_SIZE, **filters: str | None
    ) -> Page[ApplicationV2]:
        """Accept v2: snake params, `{"applications": [...], "page", "page_size", "total"}`."""
        return self._page(
            "/mam/apps/search",
            AppSearchV2Result,
            lambda r: r.applications,
            page=page,
            page_size=page_size,
            version=2,
            params=filters,
            style=PageStyle.SNAKE,
        )

    def get(self, kind: AppKind, app_id: int) -> Application:
        return self._model("GET", f"/mam/apps/{kind}/{app_id}", Application)

    def install(self, kind: AppKind, app_id: int, target: DeviceInfo) -> None:
        """`POST /mam/apps/{internal|public|purchased}/{id}/install` with a `DeviceInfo` body."""
        self._send("POST", f"/mam/apps/{kind}/{app_id}/install", json=target.to_wire())

    def uninstall(self, kind: AppKind, app_id: int, target: DeviceInfo) -> None:
        self._send("POST", f"/mam/apps/{kind}/{app_id}/uninstall", json=target.to_wire())

    def install_purchased_v2(self, app_uuid: str, target: PurchasedAppTarget) -> None:
        self._send("POST", f"/mam/apps/purchased/{app_uuid}/install", version=2, json=target.to_wire())

    def uninstall_purchased_v2(self, app_uuid: str, target: PurchasedAppTarget) -> None:
        self._send("POST", f"/mam/apps/purchased/{app_uuid}/uninstall", version=2, json=target.to_wire())
