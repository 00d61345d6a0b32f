"""`client.commands` — MDM commands (docs/uem-api.md#commands). Fire-and-forget: 202 with an empty body.

These are writes: a read-only client refuses them before sending, and the retry policy never repeats one
that may have reached the server (see `ws1ai.uem.retry`). Governance decides whether to call them at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import BulkResponse, BulkValues
from ws1ai.uem.schemas.mdm import CommandsV2Body

__all__ = ["BulkCommand", "BulkSearchBy", "Command", "CommandV2", "Commands"]

Command = Literal[
    "Lock",
    "EnterpriseWipe",
    "DeviceWipe",
    "DeviceQuery",
    "ClearPasscode",
    "SyncDevice",
    "StopAirPlay",
    "ScheduleOsUpdate",
    "CustomMdmCommand",
    "InstallPackagedMacOSXAgent",
    "SoftReset",
    "Shutdown",
    "EnterpriseReset",
    "SyncSensors",
    "OsUpdateStatus",
    "RotateFileVaultKey",
    "RotateDEPAdminPassword",
    "ResetBiosPassword",
    "UserList",
    "SyncWorkflows",
    "InstallSeededScepProfile",
]
# The bulk route has its own, shorter enum — and calls lock `LockDevice`, not `Lock`.
BulkCommand = Literal["EnterpriseWipe", "LockDevice", "ScheduleOsUpdate", "SoftReset", "Shutdown"]
BulkSearchBy = Literal["Macaddress", "Udid", "Serialnumber", "ImeiNumber"]
CommandV2 = Literal[
    "Lock",
    "DeviceWipe",
    "logout-user",
    "delete-user",
    "user-list",
    "SyncSensors",
    "suspend-bitlocker",
    "resume-bitlocker",
]


class Commands(Resource):
    def send(
        self,
        device_id: int,
        command: Command,
        *,
        reason: str | None = None,
        keep_apps_on_device: bool | None = None,
        command_xml: str | None = None,
    ) -> None:
        """`POST /mdm/devices/{id}/commands?command=X`; body only for CustomMdmCommand."""
        params = {"command": command, "reason": reason, "keep_apps_on_device": keep_apps_on_device}
        body = {"CommandXml": command_xml} if command_xml is not None else None
        self._send("POST", f"/mdm/devices/{device_id}/commands", params=params, json=body)

    def send_by(self, search_by: BulkSearchBy, value: str, command: Command) -> None:
        """Alternate id: `POST /mdm/devices/commands?command=X&searchby=S&id=V`."""
        self._send(
            "POST", "/mdm/devices/commands", params={"command": command, "searchby": search_by, "id": value}
        )

    def bulk(self, command: BulkCommand, search_by: BulkSearchBy, values: Sequence[str]) -> BulkResponse:
        """`POST /mdm/devices/commands/bulk?command=X&searchby=S` with `{"BulkValues":{"Value":[...]}}`."""
        body = {"BulkValues": BulkValues(value=[str(v) for v in values]).to_wire()}
        return self._model(
            "POST",
            "/mdm/devices/commands/bulk",
            BulkResponse,
            params={"command": command, "searchby": search_by},
            json=body,
        )

    def send_v2(self, uuid: str, command: CommandV2, body: CommandsV2Body | None = None) -> None:
        """`POST /mdm/devices/{uuid}/commands/{commandName}` (Accept v2)."""
        payload = body.to_wire() if body is not None else {}
        self._send("POST", f"/mdm/devices/{uuid}/commands/{command}", version=2, json=payload)

    def bulk_v2(self, command: Literal["Lock", "DeviceWipe", "SyncSensors"], body: CommandsV2Body) -> None:
        """`POST /mdm/devices/commands/{commandName}` (Accept v2) with `device_uuids`."""
        self._send("POST", f"/mdm/devices/commands/{command}", version=2, json=body.to_wire())

    # ---- the commands flows use, by name ------------------------------------------------------------------
    def enterprise_wipe(self, device_id: int, *, keep_apps_on_device: bool | None = None) -> None:
        self.send(device_id, "EnterpriseWipe", keep_apps_on_device=keep_apps_on_device)

    def device_wipe(self, device_id: int) -> None:
        self.send(device_id, "DeviceWipe")

    def lock(self, device_id: int) -> None:
        self.send(device_id, "Lock")

    def sync(self, device_id: int) -> None:
        self.send(device_id, "SyncDevice")

    def query(self, device_id: int) -> None:
        self.send(device_id, "DeviceQuery")

    def clear_passcode(self, device_id: int) -> None:
        self.send(device_id, "ClearPasscode")

    def soft_reset(self, device_id: int) -> None:
        self.send(device_id, "SoftReset")

    def schedule_os_update(self, device_id: int) -> None:
        self.send(device_id, "ScheduleOsUpdate")

    def bulk_lock(self, serial_numbers: Sequence[str]) -> BulkResponse:
        return self.bulk("LockDevice", "Serialnumber", serial_numbers)

    def bulk_enterprise_wipe(self, serial_numbers: Sequence[str]) -> BulkResponse:
        return self.bulk("EnterpriseWipe", "Serialnumber", serial_numbers)
