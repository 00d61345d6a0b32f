"""`client.scripts` — list per OG / per device, get, assign (docs/uem-api.md#scripts-and-sensors).

The 2023 spec has no "run now on one device" route; a script runs through an assignment to a smart group.
"""

from __future__ import annotations

from collections.abc import Mapping

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.automation import (
    CreatedUuid,
    Script,
    ScriptAssignment,
    ScriptCreate,
    ScriptSearchResult,
)

__all__ = ["Scripts"]


class Scripts(Resource):
    def list(
        self,
        og_uuid: str,
        *,
        name: str | None = None,
        platform: str | None = None,
        page: int = 0,
        page_size: int = 500,
    ) -> ScriptSearchResult:
        params = {"name": name, "platform": platform, "page": page, "page_size": page_size}
        result = self._optional_model(
            "GET", f"/mdm/groups/{og_uuid}/scripts", ScriptSearchResult, params=params
        )
        return result or ScriptSearchResult()

    def for_device(self, device_uuid: str, *, page: int = 0, page_size: int = 500) -> ScriptSearchResult:
        params = {"page": page, "page_size": page_size}
        result = self._optional_model(
            "GET", f"/mdm/devices/{device_uuid}/scripts", ScriptSearchResult, params=params
        )
        return result or ScriptSearchResult()

    def get(self, script_uuid: str) -> Script:
        return self._model("GET", f"/mdm/scripts/{script_uuid}", Script)

    def create(self, og_uuid: str, script: ScriptCreate) -> str | None:
        """`POST /mdm/groups/{ogUuid}/scripts` → the new script's uuid (when the tenant returns one)."""
        created = self._optional_model(
            "POST", f"/mdm/groups/{og_uuid}/scripts", CreatedUuid, json=script.to_wire()
        )
        return created.uuid if created else None

    def update(self, script_uuid: str, changes: Mapping[str, object]) -> None:
        self._send("PUT", f"/mdm/scripts/{script_uuid}", json=dict(changes))

    def assign(self, script_uuid: str, assignment: ScriptAssignment) -> None:
        self._send("POST", f"/mdm/scripts/{script_uuid}/assignments", json=assignment.to_wire())
