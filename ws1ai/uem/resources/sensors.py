"""`client.sensors` — device sensors: list per OG, create/update/delete, assign to smart groups.

Shapes: docs/uem-api.md#scripts-and-sensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.automation import Sensor, SensorAssignment, SensorListResult

__all__ = ["Sensors"]


class Sensors(Resource):
    def list(self, og_uuid: str) -> SensorListResult:
        """`GET /mdm/devicesensors/list/{ogUuid}` → `{"total_results","result_set":[...]}`."""
        result = self._optional_model("GET", f"/mdm/devicesensors/list/{og_uuid}", SensorListResult)
        return result or SensorListResult()

    def create(self, sensor: Sensor) -> None:
        """`POST /mdm/devicesensors` → 201 with no body (find it again by name in `list`)."""
        self._send("POST", "/mdm/devicesensors", json=sensor.to_wire())

    def update(self, sensor_uuid: str, changes: Mapping[str, object]) -> None:
        """`PUT /mdm/devicesensors/{uuid}` → 204."""
        self._send("PUT", f"/mdm/devicesensors/{sensor_uuid}", json=dict(changes))

    def bulk_delete(self, sensor_uuids: Sequence[str]) -> None:
        self._send("POST", "/mdm/devicesensors/bulkdelete", json={"sensor_uuids": list(sensor_uuids)})

    def assign(self, assignment: SensorAssignment) -> None:
        self._send("POST", "/mdm/devicesensors/assign", json=assignment.to_wire())

    def sync_on_device(self, device_uuid: str) -> None:
        """Ask a device to re-run its sensors now (`SyncSensors`, v2 command by uuid)."""
        self._send("POST", f"/mdm/devices/{device_uuid}/commands/SyncSensors", version=2, json={})
