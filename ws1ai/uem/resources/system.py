"""`client.system` — service information (`GET /system/info`)."""

from __future__ import annotations

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.system import ServiceInfo

__all__ = ["System"]


class System(Resource):
    def info(self) -> ServiceInfo:
        return self._model("GET", "/system/info", ServiceInfo)
