"""`client.sensors` — device sensors: list per OG, assign to smart groups (reference §8)."""

from __future__ import annotations

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.automation import SensorAssignment, SensorListResult

__all__ = ["Sensors"]


class Sensors(Resource):
    def list(self, og_uuid: str) -> SensorListResult:
        """`GET /mdm/devicesensors/list/{ogUuid}` → `{"total_results","result_set":[...]}`."""
        result = self._optional_model("GET", f"/mdm/devicesensors/list/{og_uuid}", SensorListResult)
        return result or SensorListResult()

    def assign(self, assignment: SensorAssignment) -> None:
        self._send("POST", "/mdm/devicesensors/assign", json=assignment.to_wire())

    def sync_on_device(self, device_uuid: str) -> None:
        """Ask a device to re-run its sensors now (`SyncSensors`, v2 command by uuid)."""
        self._send("POST", f"/mdm/devices/{device_uuid}/commands/SyncSensors", version=2, json={})
