"""Execute one governed `Action` through the APIs: `flow → governance → tasks.actions → ws1ai.uem`.

Nothing here decides anything: governance has already planned, approved and de-duplicated the action. This
module only maps an action kind to the API call that performs it, using bulk endpoints where the API has them
(tags, custom attributes) and bounded per-device calls where it does not (commands, profiles, apps).
Each executed device action also leaves a device note naming the correlation id, so an admin looking at the
device in the UEM console can find the run, the rationale and the approver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.uem import UEMClient
from ws1ai.uem.schemas.automation import ScriptAssignment
from ws1ai.uem.schemas.device_details import CustomAttribute
from ws1ai.uem.schemas.mdm import DeviceInfo, EmailMessage, PushMessage, SmartGroupEdit
from ws1ai.uem.schemas.system import User

__all__ = ["ActionExecutor", "UnsupportedAction", "open_executor"]

# Notes are how the console shows provenance; they are not themselves governed writes of their own.
_NOTE_KINDS_SKIPPED = {ActionKind.DEVICE_NOTE, ActionKind.ITSM_TICKET, ActionKind.ITSM_UPDATE}


class UnsupportedAction(ValueError):
    """The action kind has no executor here (it must never silently succeed)."""


class ActionExecutor:
    """Callable executor handed to `ws1ai.governance` (`executor(action) -> result dict`)."""

    def __init__(
        self, uem: UEMClient, servicenow: ServiceNowClient | None = None, *, leave_device_notes: bool = True
    ) -> None:
        self.uem = uem
        self.servicenow = servicenow
        self.leave_device_notes = leave_device_notes
        self._handlers: dict[ActionKind, Callable[[Action], dict[str, Any]]] = {
            ActionKind.PROFILE_INSTALL: self._profile_install,
            ActionKind.QUARANTINE_PROFILE: self._profile_install,
            ActionKind.PROFILE_REMOVE: self._profile_remove,
            ActionKind.APP_INSTALL: self._app_install,
            ActionKind.APP_UNINSTALL: self._app_uninstall,
            ActionKind.TAG_ADD: self._tag_add,
            ActionKind.TAG_REMOVE: self._tag_remove,
            ActionKind.CUSTOM_ATTRIBUTE_SET: self._custom_attribute_set,
            ActionKind.MESSAGE_SEND: self._message_send,
            ActionKind.DEVICE_NOTE: self._device_note,
            ActionKind.DEVICE_SYNC: self._per_device(lambda d: self.uem.commands.sync(d)),
            ActionKind.DEVICE_LOCK: self._per_device(lambda d: self.uem.commands.lock(d)),
            ActionKind.ENTERPRISE_WIPE: self._per_device(lambda d: self.uem.commands.enterprise_wipe(d)),
            ActionKind.DEVICE_WIPE: self._per_device(lambda d: self.uem.commands.device_wipe(d)),
            ActionKind.ITSM_TICKET: self._itsm_ticket,
            ActionKind.SCRIPT_RUN: self._script_run,
            ActionKind.USER_DEACTIVATE: self._per_user(lambda u: self.uem.users.deactivate(u)),
            ActionKind.USER_ACTIVATE: self._per_user(lambda u: self.uem.users.activate(u)),
            ActionKind.USER_CREATE: self._user_create,
            ActionKind.SMART_GROUP_ADD: self._smart_group_members(add=True),
            ActionKind.SMART_GROUP_REMOVE: self._smart_group_members(add=False),
        }

    def __call__(self, action: Action) -> dict[str, Any]:
        handler = self._handlers.get(action.kind)
        if handler is None:
            raise UnsupportedAction(f"no executor for {action.kind}")
        # Every request this action makes carries its correlation id (`x-correlation-id`), so the tenant's
        # own logs tie each write back to the audited action.
        with self.uem.correlation(action.correlation_id):
            result = handler(action)
            noted = action.target_type == "device" and action.kind not in _NOTE_KINDS_SKIPPED
            if self.leave_device_notes and noted:
                note = f"ws1ai {action.kind} correlation-id={action.correlation_id}: {action.rationale}"[:900]
                for device_id in _device_ids(action):
                    self.uem.devices.add_note(device_id, note)
        return result

    # ---- handlers ------------------------------------------------------------------------------------------
    def _per_device(self, call: Callable[[int], None]) -> Callable[[Action], dict[str, Any]]:
        def run(action: Action) -> dict[str, Any]:
            ids = _device_ids(action)
            for device_id in ids:
                call(device_id)
            return {"devices": len(ids)}

        return run

    def _per_user(self, call: Callable[[int], None]) -> Callable[[Action], dict[str, Any]]:
        def run(action: Action) -> dict[str, Any]:
            if action.target_type != "user":
                raise UnsupportedAction(f"{action.kind} targets users, not {action.target_type}s")
            for user_id in action.targets:
                call(self._user_id(action, user_id))
            return {"users": len(action.targets)}

        return run

    def _script_run(self, action: Action) -> dict[str, Any]:
        # The API runs a script only through an assignment to a smart group, so the action's devices become a
        # group of explicit additions named after the correlation id (found again, not duplicated, on retry).
        script_uuid = str(action.payload["script_uuid"])
        name = f"ws1ai script run {action.correlation_id}"
        group_uuid = next(
            (g.smart_group_uuid for g in self.uem.smart_groups.iter_search(name=name) if g.name == name), None
        )
        if group_uuid is None:
            additions: list[dict[str, object]] = [{"Id": d} for d in _device_ids(action)]
            group = SmartGroupEdit(name=name, device_additions=additions)
            group_uuid = self.uem.smart_groups.create(group).uuid
        if group_uuid is None:
            raise UnsupportedAction("the tenant did not return the new smart group's uuid")
        self.uem.scripts.assign(
            script_uuid, ScriptAssignment(name=name, memberships=[{"smart_group_uuid": group_uuid}])
        )
        return {"script_uuid": script_uuid, "smart_group_uuid": group_uuid, "devices": len(action.targets)}

    def _profile_install(self, action: Action) -> dict[str, Any]:
        profile_id = int(action.payload["profile_id"])
        for device_id in _device_ids(action):
            self.uem.profiles.install(profile_id, DeviceInfo(device_id=device_id))
        return {"profile_id": profile_id, "devices": len(action.targets)}

    def _profile_remove(self, action: Action) -> dict[str, Any]:
        profile_id = int(action.payload["profile_id"])
        for device_id in _device_ids(action):
            self.uem.profiles.remove(profile_id, DeviceInfo(device_id=device_id))
        return {"profile_id": profile_id, "devices": len(action.targets)}

    def _app_install(self, action: Action) -> dict[str, Any]:
        kind, app_id = action.payload.get("app_kind", "internal"), int(action.payload["app_id"])
        for device_id in _device_ids(action):
            self.uem.apps.install(kind, app_id, DeviceInfo(device_id=device_id))
        return {"app_id": app_id, "devices": len(action.targets)}

    def _app_uninstall(self, action: Action) -> dict[str, Any]:
        kind, app_id = action.payload.get("app_kind", "internal"), int(action.payload["app_id"])
        for device_id in _device_ids(action):
            self.uem.apps.uninstall(kind, app_id, DeviceInfo(device_id=device_id))
        return {"app_id": app_id, "devices": len(action.targets)}

    def _tag_add(self, action: Action) -> dict[str, Any]:
        bulk = self.uem.tags.add_devices(int(action.payload["tag_id"]), _device_ids(action))
        return {"accepted": bulk.accepted_items, "failed": bulk.failed_items}

    def _tag_remove(self, action: Action) -> dict[str, Any]:
        bulk = self.uem.tags.remove_devices(int(action.payload["tag_id"]), _device_ids(action))
        return {"accepted": bulk.accepted_items, "failed": bulk.failed_items}

    def _custom_attribute_set(self, action: Action) -> dict[str, Any]:
        attribute = CustomAttribute(
            name=str(action.payload["name"]),
            value=str(action.payload["value"]),
            application_group=action.payload.get("application_group"),
        )
        for device_id in _device_ids(action):
            self.uem.devices.set_custom_attributes(device_id, [attribute])
        return {"name": attribute.name, "devices": len(action.targets)}

    def _message_send(self, action: Action) -> dict[str, Any]:
        body = str(action.payload["body"])
        for device_id in _device_ids(action):
            if action.payload.get("channel", "push") == "email":
                self.uem.messages.email(
                    device_id,
                    EmailMessage(
                        message_body=body,
                        subject=action.payload.get("subject"),
                        to_address=action.payload.get("to_address"),
                    ),
                )
            else:
                self.uem.messages.push(device_id, PushMessage(message_body=body))
        return {"devices": len(action.targets)}

    def _user_id(self, action: Action, target: str) -> int:
        """A numeric target is the user id; otherwise (the inverse of a USER_CREATE, planned before the user
        had an id) the user is found by the payload's exact username."""
        if target.isdigit():
            return int(target)
        name = str(action.payload.get("user_name", ""))
        for user in self.uem.users.iter_search(username=name):
            if (user.user_name or "").lower() == name.lower() and user.id is not None and user.id.value:
                return int(user.id.value)
        raise UnsupportedAction(f"no UEM user {name!r} for target {target}")

    def _user_create(self, action: Action) -> dict[str, Any]:
        p = action.payload
        name = str(p["user_name"])
        # Idempotent across a crash between "created" and "recorded": an existing exact username is reused.
        for user in self.uem.users.iter_search(username=name):
            if (user.user_name or "").lower() == name.lower() and user.id is not None:
                return {"user_id": user.id.value, "reused": True}
        og = p.get("location_group_id")
        created = self.uem.users.create(
            User(
                user_name=name,
                email=p.get("email"),
                first_name=p.get("first_name"),
                last_name=p.get("last_name"),
                display_name=" ".join(x for x in (p.get("first_name"), p.get("last_name")) if x) or None,
                location_group_id=str(og) if og is not None else None,
                external_id=p.get("external_id"),
                security_type=2,  # directory user: no password is ever sent
                status=True,
            )
        )
        return {"user_id": created.value, "reused": False}

    def _smart_group_members(self, *, add: bool) -> Callable[[Action], dict[str, Any]]:
        """Explicit device additions of a smart group (the API has no membership call: read, merge, PUT)."""

        def run(action: Action) -> dict[str, Any]:
            sg_id = int(action.payload["smart_group_id"])
            group = self.uem.smart_groups.get(sg_id)
            current = [d for d in group.device_additions or [] if _addition_id(d) is not None]
            ids = {_addition_id(d) for d in current}
            wanted = set(_device_ids(action))
            if add:
                additions = current + [{"Id": d} for d in sorted(wanted - ids)]
            else:
                additions = [d for d in current if _addition_id(d) not in wanted]
            edit = SmartGroupEdit(
                name=group.name or f"smart group {sg_id}",
                criteria_type=group.criteria_type or "All",
                managed_by_organization_group_id=group.managed_by_organization_group_id,
                organization_groups=group.organization_groups or [],
                user_groups=group.user_groups or [],
                tags=group.tags or [],
                ownerships=group.ownerships or [],
                platforms=group.platforms or [],
                models=group.models or [],
                operating_systems=group.operating_systems or [],
                user_additions=group.user_additions or [],
                device_additions=additions,
                user_exclusions=group.user_exclusions or [],
                device_exclusions=group.device_exclusions or [],
                user_group_exclusions=group.user_group_exclusions or [],
                management_types=group.management_types or [],
                enrollment_categories=group.enrollment_categories or [],
            )
            self.uem.smart_groups.update(sg_id, edit)
            return {"smart_group_id": sg_id, "devices": len(wanted)}

        return run

    def _device_note(self, action: Action) -> dict[str, Any]:
        for device_id in _device_ids(action):
            self.uem.devices.add_note(device_id, str(action.payload["note"]))
        return {"devices": len(action.targets)}

    def _itsm_ticket(self, action: Action) -> dict[str, Any]:
        if self.servicenow is None:
            raise UnsupportedAction("an ITSM ticket action needs a ServiceNow client")
        # Idempotent across a crash between "created" and "recorded": look for our correlation id first.
        existing = self.servicenow.find_incidents(f"correlation_id={action.correlation_id}", limit=1)
        if existing:
            return {"sys_id": existing[0].sys_id, "number": existing[0].number, "reused": True}
        fields = {**action.payload, "correlation_id": action.correlation_id}
        incident = self.servicenow.create_incident(fields)
        return {"sys_id": incident.sys_id, "number": incident.number, "reused": False}


def _addition_id(item: dict[str, object]) -> int | None:
    raw = item.get("Id")
    if isinstance(raw, dict):
        raw = raw.get("Value")
    return int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None


@contextmanager
def open_executor() -> Iterator[ActionExecutor]:
    """Clients from the environment, closed afterwards (`ws1ai rollback` imports this by name)."""
    with UEMClient() as uem, ServiceNowClient() as itsm:
        yield ActionExecutor(uem, itsm)


def _device_ids(action: Action) -> list[int]:
    if action.target_type != "device":
        raise UnsupportedAction(f"{action.kind} targets {action.target_type}s, not devices")
    return [int(t) for t in action.targets]
