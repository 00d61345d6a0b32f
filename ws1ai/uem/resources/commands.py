"""`client.commands` — MDM commands (docs/uem-api.md#commands). Fire-and-forget: 202 with an empty body.

These are writes: a read-only client refuses them before sending, and the retry policy never repeats one
that may have reached the server (see `ws1ai.uem.retry`). Governance decides whether to call them at all.
The bulk form goes in batches with a per-value outcome (`ws1ai.uem.bulk`, docs/uem-api.md#bulk-operations).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult, run_bulk
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import BulkResponse, BulkValues
from ws1ai.uem.schemas.mdm import CommandsV2Body

__all__ = ["BulkCommand", "BulkSearchBy", "Command", "CommandV2", "Commands", "check_search_by"]

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
# The spec's `searchby` values for bulk commands and messages; DeviceId is not one of them (docs/uem-api.md).
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

    def bulk_command(
        self,
        command: BulkCommand,
        search_by: BulkSearchBy,
        values: Iterable[str],
        *,
        batch_size: int = BULK_BATCH_SIZE,
    ) -> BulkResult:
        """`POST /mdm/devices/commands/bulk?command=X&searchby=S` with `{"BulkValues":{"Value":[...]}}`, in
        batches. Raises `UEMBulkError` (values in doubt / not sent) if a batch fails after an earlier one
        went through or its response is lost; a lost batch is never re-sent."""
        if command not in get_args(BulkCommand):
            raise ValueError(
                f"bulk command must be one of {', '.join(get_args(BulkCommand))}, got {command!r}"
            )
        check_search_by(search_by)

        def send(batch: list[str]) -> BulkResponse:
            return self._model(
                "POST",
                "/mdm/devices/commands/bulk",
                BulkResponse,
                params={"command": command, "searchby": search_by},
                json={"BulkValues": BulkValues(value=batch).to_wire()},
            )

        return run_bulk(f"bulk {command}", values, send, batch_size=batch_size)

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

    def bulk_lock(self, serial_numbers: Iterable[str]) -> BulkResult:
        return self.bulk_command("LockDevice", "Serialnumber", serial_numbers)

    def bulk_enterprise_wipe(self, serial_numbers: Iterable[str]) -> BulkResult:
        return self.bulk_command("EnterpriseWipe", "Serialnumber", serial_numbers)


def check_search_by(search_by: str) -> None:
    """A clear error before sending, for callers that pass a plain string past the type checker."""
    if search_by not in get_args(BulkSearchBy):
        raise ValueError(f"searchby must be one of {', '.join(get_args(BulkSearchBy))}, got {search_by!r}")
