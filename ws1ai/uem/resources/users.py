"""`client.users` — enrollment users: search, get, create, update, activate/deactivate.

Shapes: docs/uem-api.md#users-and-organization-groups.
"""

from __future__ import annotations

from collections.abc import Iterator

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import CreatedId
from ws1ai.uem.schemas.system import User, UserSearchResult

__all__ = ["Users"]


class Users(Resource):
    def search(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        location_group_id: int | None = None,
        role: str | None = None,
        status: str | None = None,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[User]:
        # The spec spells the OG filter `locationgroupId` (camel) on this route.
        params = {
            "username": username,
            "email": email,
            "firstname": first_name,
            "lastname": last_name,
            "locationgroupId": location_group_id,
            "role": role,
            "status": status,
        }
        return self._page(
            "/system/users/search",
            UserSearchResult,
            lambda r: r.users,
            page=page,
            page_size=page_size,
            params=params,
        )

    def iter_search(self, **filters: str | int | None) -> Iterator[User]:
        return self._iter(lambda p, s: self.search(page=p, page_size=s, **filters))  # type: ignore[arg-type]

    def get(self, user_id: int) -> User:
        return self._model("GET", f"/system/users/{user_id}", User)

    def create(self, user: User) -> CreatedId:
        return self._model("POST", "/system/users/adduser", CreatedId, json=user.to_wire())

    def update(self, user_id: int, user: User) -> None:
        self._send("POST", f"/system/users/{user_id}/update", json=user.to_wire())

    def activate(self, user_id: int) -> None:
        self._send("POST", f"/system/users/{user_id}/activate")

    def deactivate(self, user_id: int) -> None:
        self._send("POST", f"/system/users/{user_id}/deactivate")
