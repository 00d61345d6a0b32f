"""Execute one governed `Action` through the APIs: `flow → governance → tasks.actions → ws1ai.uem`.

Nothing here decides anything: governance has already planned, approved and de-duplicated the action. This
module only maps an action kind to the API call that performs it, using bulk endpoints where the API has them
and bounded per-device calls where it does not (profiles, apps, `DeviceWipe`, sync; `tasks.actions_bulk`):

* push / e-mail messages, `LockDevice` and `EnterpriseWipe` go by serial number through the bulk routes, in
  batches of 500; the device id → serial map comes from the devices search (one sweep, taken only when it
  costs fewer calls than one call per device). Devices without a unique serial number go one by one;
* tag adds and removes read the tag's members first: a device already in the wanted state is done without a
  change (`info["unchanged"]`), and the inverse leaves it as it was (it reads its original's record when the
  executor is given the audit trail, `audit=`).

A device action whose tier asks for it (`GovernanceSettings.device_notes`; low tier leaves none by default)
also leaves a device note naming the correlation id, so an admin looking at the device in the UEM console can
find the run, the rationale and the approver. Every request, bulk or not, carries the correlation id
(`x-correlation-id`), and the audit trail records it with each target's outcome.

**Per-target result contract** (what governance records, see `ws1ai.governance.execute`): a handler returns
either a `TargetOutcome` — per target `done`, `failed` (certainly not applied: refused before sending or
rejected by the API) or `unknown` (timeout, lost response, 5xx after sending) — or a plain dict, which means
every target's write is done. A handler that raises has its exception classified for all its targets
(`execute_state.outcome_of_error`: `sent=False` or a 4xx → failed, anything else → unknown), so a handler that
makes one call per target must use `_each` rather than let the second target's error hide the first's write.
The device note is a follow-up after the writes: its failure is recorded in `note_failures`, never as a failed
write. `verify` reads a write back from the tenant (`tasks.verify`) for targets governance holds in doubt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from tasks.actions_bulk import ReadFailed, SerialBook, bulk_outcome, merge_outcomes
from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit_records import AuditStore, TargetOutcome
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.execute_state import certainly_not_applied
from ws1ai.uem import UEMClient
from ws1ai.uem.bulk import BulkResult
from ws1ai.uem.errors import UEMNotFound
from ws1ai.uem.schemas.automation import ScriptAssignment
from ws1ai.uem.schemas.device_details import CustomAttribute
from ws1ai.uem.schemas.mdm import DeviceInfo, EmailMessage, PushMessage, SmartGroupEdit
from ws1ai.uem.schemas.system import User

__all__ = [
    "ActionExecutor",
    "UnsupportedAction",
    "incident_sys_id",
    "open_executor",
    "user_id_by_external_id",
    "work_note_marker",
]

# Notes are how the console shows provenance; they are not themselves governed writes of their own. A deleted
# device has no record left to carry one.
_NOTE_KINDS_SKIPPED = {
    ActionKind.DEVICE_NOTE,
    ActionKind.ITSM_TICKET,
    ActionKind.ITSM_UPDATE,
    ActionKind.DEVICE_DELETE,
}


class UnsupportedAction(ValueError):
    """The action kind has no executor here (it must never silently succeed). Raised before any request."""

    sent = False  # nothing reached the tenant: governance records the action failed, not in doubt


class ActionExecutor:
    """Callable executor handed to `ws1ai.governance` (`executor(action) -> TargetOutcome`).

    `settings`: which tiers leave device notes (default: the environment's `GovernanceSettings`);
    `leave_device_notes=False` leaves none at all. `audit`: the trail an inverse reads its original's outcome
    from (the devices a tag change left unchanged, the user a creation made). `bulk=False` sends every write
    one device at a time and tags in one unbatched call (the executor before bulk execution: the benchmark's
    baseline)."""

    def __init__(
        self,
        uem: UEMClient,
        servicenow: ServiceNowClient | None = None,
        *,
        leave_device_notes: bool = True,
        settings: GovernanceSettings | None = None,
        audit: AuditStore | None = None,
        bulk: bool = True,
    ) -> None:
        self.uem = uem
        self.servicenow = servicenow
        self.leave_device_notes = leave_device_notes
        self.settings = settings or GovernanceSettings()
        self.audit = audit
        self.bulk = bulk
        self.serial_book = SerialBook(uem)
        self._handlers: dict[ActionKind, Callable[[Action], dict[str, Any] | TargetOutcome]] = {
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
            ActionKind.DEVICE_LOCK: self._command("LockDevice", lambda d: self.uem.commands.lock(d)),
            ActionKind.ENTERPRISE_WIPE: self._command(
                "EnterpriseWipe", lambda d: self.uem.commands.enterprise_wipe(d)
            ),
            ActionKind.DEVICE_WIPE: self._per_device(lambda d: self.uem.commands.device_wipe(d)),
            ActionKind.DEVICE_DELETE: self._device_delete,
            ActionKind.ITSM_TICKET: self._itsm_ticket,
            ActionKind.ITSM_UPDATE: self._itsm_update,
            ActionKind.SCRIPT_RUN: self._script_run,
            ActionKind.USER_DEACTIVATE: self._per_user(lambda u: self.uem.users.deactivate(u)),
            ActionKind.USER_ACTIVATE: self._per_user(lambda u: self.uem.users.activate(u)),
            ActionKind.USER_CREATE: self._user_create,
            ActionKind.SMART_GROUP_ADD: self._smart_group_members(add=True),
            ActionKind.SMART_GROUP_REMOVE: self._smart_group_members(add=False),
        }

    def __call__(self, action: Action) -> TargetOutcome:
        handler = self._handlers.get(action.kind)
        if handler is None:
            raise UnsupportedAction(f"no executor for {action.kind}")
        # Every request this action makes carries its correlation id (`x-correlation-id`), so the tenant's
        # own logs tie each write back to the audited action.
        with self.uem.correlation(action.correlation_id):
            result = handler(action)
            outcome = (
                result
                if isinstance(result, TargetOutcome)
                else TargetOutcome(done=action.targets, info=dict(result))
            )
            noted = action.target_type == "device" and action.kind not in _NOTE_KINDS_SKIPPED
            if self.leave_device_notes and noted and outcome.done and self._notes_for(action):
                outcome = self._notes(action, outcome)
        return outcome

    def verify(self, action: Action, targets: Sequence[str]) -> dict[str, bool | None]:
        """Was the write applied to these targets? (governance asks before retrying an in-doubt target)."""
        from tasks.verify import read_back

        with self.uem.correlation(action.correlation_id):
            return read_back(self.uem, self.servicenow, action, targets)

    def _notes_for(self, action: Action) -> bool:
        """Whether this action's tier leaves a note per device (`GovernanceSettings.device_notes`)."""
        return self.settings.device_note(action.tier(self.settings.tier_overrides))

    def _notes(self, action: Action, outcome: TargetOutcome) -> TargetOutcome:
        """The provenance note on each device whose write is done; a failed note is only that. A device
        left unchanged (already in the wanted state) was not written to, so it gets none."""
        note = f"ws1ai {action.kind} correlation-id={action.correlation_id}: {action.rationale}"[:900]
        failures: dict[str, str] = {}
        unchanged = set(outcome.info.get("unchanged", ()))
        for target in outcome.done:
            if target in unchanged:
                continue
            try:
                self.uem.devices.add_note(int(target), note)
            except Exception as exc:  # the write stands; the missing note is recorded beside it
                failures[target] = f"{type(exc).__name__}: {exc}"[:300]
        return outcome.model_copy(update={"note_failures": failures}) if failures else outcome

    def _each(self, action: Action, call: Callable[[int], object]) -> TargetOutcome:
        """One call per target, each target's result recorded: after an unknown outcome (or a refusal that is
        not about the target, like 401/429) the rest are not attempted, so they are certainly not applied."""
        return each_target([(t, int(t)) for t in _device_targets(action)], call)

    def _by_serial(
        self, action: Action, send: Callable[[list[str]], BulkResult], one: Callable[[int], object]
    ) -> TargetOutcome:
        """Devices with a serial number through the bulk call `send`, the others one by one with `one`."""
        ids = _device_ids(action)
        serials = self.serial_book.serials(ids) if self.bulk else {}
        if not serials:
            return self._each(action, one)
        outcome, stopped = bulk_outcome({s: str(d) for d, s in serials.items()}, send)
        rest = [(str(d), d) for d in ids if d not in serials]
        if not rest:
            return outcome
        if stopped is not None:  # the tenant refused us or went silent: the others are not sent either
            left = TargetOutcome(failed={t: f"not attempted after: {stopped}" for t, _ in rest})
            return merge_outcomes(outcome, left)
        return merge_outcomes(outcome, each_target(rest, one))

    # ---- handlers ------------------------------------------------------------------------------------------
    def _per_device(self, call: Callable[[int], None]) -> Callable[[Action], TargetOutcome]:
        def run(action: Action) -> TargetOutcome:
            return self._each(action, call)

        return run

    def _command(
        self, bulk_name: Literal["LockDevice", "EnterpriseWipe"], call: Callable[[int], None]
    ) -> Callable[[Action], TargetOutcome]:
        """A command with a bulk form (`POST /mdm/devices/commands/bulk`, by serial number)."""

        def run(action: Action) -> TargetOutcome:
            def send(serials: list[str]) -> BulkResult:
                return self.uem.commands.bulk_command(bulk_name, "Serialnumber", serials)

            return self._by_serial(action, send, call)

        return run

    def _per_user(self, call: Callable[[int], None]) -> Callable[[Action], TargetOutcome]:
        def run(action: Action) -> TargetOutcome:
            if action.target_type != "user":
                raise UnsupportedAction(f"{action.kind} targets users, not {action.target_type}s")
            return each_target(
                [(t, t) for t in action.targets], lambda t: call(self._user_id(action, str(t)))
            )

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

    def _profile_install(self, action: Action) -> TargetOutcome:
        profile_id = int(action.payload["profile_id"])
        return self._each(action, lambda d: self.uem.profiles.install(profile_id, DeviceInfo(device_id=d)))

    def _profile_remove(self, action: Action) -> TargetOutcome:
        profile_id = int(action.payload["profile_id"])
        return self._each(action, lambda d: self.uem.profiles.remove(profile_id, DeviceInfo(device_id=d)))

    def _app_install(self, action: Action) -> TargetOutcome:
        kind, app_id = action.payload.get("app_kind", "internal"), int(action.payload["app_id"])
        return self._each(action, lambda d: self.uem.apps.install(kind, app_id, DeviceInfo(device_id=d)))

    def _app_uninstall(self, action: Action) -> TargetOutcome:
        kind, app_id = action.payload.get("app_kind", "internal"), int(action.payload["app_id"])
        return self._each(action, lambda d: self.uem.apps.uninstall(kind, app_id, DeviceInfo(device_id=d)))

    def _tag_add(self, action: Action) -> TargetOutcome:
        return self._tag(action, add=True)

    def _tag_remove(self, action: Action) -> TargetOutcome:
        return self._tag(action, add=False)

    def _tag(self, action: Action, *, add: bool) -> TargetOutcome:
        """Read the tag's members, then add (remove) only the devices not yet (no longer) in the wanted state.

        A device already in the wanted state is done without a change and listed in `info["unchanged"]`; an
        inverse also leaves alone the devices its original left unchanged, so rolling back a tag add never
        takes the tag from a device that had it before."""
        tag_id = int(action.payload["tag_id"])
        ids = _device_ids(action)
        try:
            members = {d.device_id for d in self.uem.tags.devices(tag_id) if d.device_id is not None}
        except Exception as exc:
            raise ReadFailed(f"reading tag {tag_id}'s members failed: {type(exc).__name__}: {exc}") from exc
        as_before = self._unchanged_by_original(action)
        unchanged = [d for d in ids if (d in members) is add or str(d) in as_before]
        todo = [d for d in ids if d not in unchanged]
        kept = TargetOutcome(
            done=tuple(str(d) for d in unchanged),
            info={"unchanged": [str(d) for d in unchanged]} if unchanged else {},
        )
        if not todo:
            return kept
        many = self._tag_call(tag_id, add=add)
        sent, _ = bulk_outcome({str(d): str(d) for d in todo}, lambda values: many([int(v) for v in values]))
        return merge_outcomes(kept, sent)

    def _tag_call(self, tag_id: int, *, add: bool) -> Callable[[list[int]], BulkResult]:
        """Batches of 500; `bulk=False`: the one unbatched call the executor used to make."""
        if self.bulk:
            batched = self.uem.tags.bulk_add_devices if add else self.uem.tags.bulk_remove_devices
            return lambda ids: batched(tag_id, ids)
        single = self.uem.tags.add_devices if add else self.uem.tags.remove_devices

        def unbatched(ids: list[int]) -> BulkResult:
            result = BulkResult()
            result.add_batch([str(i) for i in ids], single(tag_id, ids))
            return result

        return unbatched

    def _unchanged_by_original(self, action: Action) -> set[str]:
        """Targets the action this one undoes left unchanged (read from the audit trail, if given one)."""
        if action.inverse_of is None or self.audit is None:
            return set()
        records = self.audit.read(correlation_ids={action.inverse_of})
        return {str(t) for r in records if r.outcome is not None for t in r.outcome.info.get("unchanged", ())}

    def _custom_attribute_set(self, action: Action) -> TargetOutcome:
        attribute = CustomAttribute(
            name=str(action.payload["name"]),
            value=str(action.payload["value"]),
            application_group=action.payload.get("application_group"),
        )
        return self._each(action, lambda d: self.uem.devices.set_custom_attributes(d, [attribute]))

    def _message_send(self, action: Action) -> TargetOutcome:
        body = str(action.payload["body"])
        email = action.payload.get("channel", "push") == "email"
        mail = EmailMessage(
            message_body=body,
            subject=action.payload.get("subject"),
            to_address=action.payload.get("to_address"),
        )
        push = PushMessage(message_body=body)

        def one(device_id: int) -> None:
            if email:
                self.uem.messages.email(device_id, mail)
            else:
                self.uem.messages.push(device_id, push)

        def many(serials: list[str]) -> BulkResult:
            if email:
                return self.uem.messages.bulk_email("Serialnumber", serials, mail)
            return self.uem.messages.bulk_push("Serialnumber", serials, push)

        return self._by_serial(action, many, one)

    def _user_id(self, action: Action, target: str) -> int:
        """A numeric target is the user id. Otherwise the target is the HRIS external id (the inverse of a
        USER_CREATE, planned before the user had an id, and read back from the audit trail, where the
        username is redacted): the user id the creation recorded, when the executor reads the trail, else
        the one UEM user whose ExternalId is the target."""
        if target.isdigit():
            return int(target)
        recorded = self._created_user_id(action, target)
        if recorded is not None:
            return recorded
        return user_id_by_external_id(self.uem, target)

    def _created_user_id(self, action: Action, target: str) -> int | None:
        if action.inverse_of is None or self.audit is None:
            return None
        for record in reversed(self.audit.read(correlation_ids={action.inverse_of})):
            original = record.action
            if original.kind is not ActionKind.USER_CREATE or target not in original.targets:
                continue
            user_id = record.outcome.info.get("user_id") if record.outcome is not None else None
            if isinstance(user_id, int) or (isinstance(user_id, str) and user_id.isdigit()):
                return int(user_id)
        return None

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

    def _device_note(self, action: Action) -> TargetOutcome:
        note = str(action.payload["note"])
        return self._each(action, lambda d: self.uem.devices.add_note(d, note))

    def _itsm_ticket(self, action: Action) -> dict[str, Any]:
        if self.servicenow is None:
            raise UnsupportedAction("an ITSM ticket action needs a ServiceNow client")
        # Idempotent across a crash between "created" and "recorded": look for our correlation id first.
        existing = self.servicenow.find_incidents(f"correlation_id={action.correlation_id}", limit=1)
        if existing:
            return {"sys_id": existing[0].sys_id, "number": existing[0].number, "reused": True}
        # The incident carries the action's correlation id (field and request header), never one of its own.
        fields = {k: v for k, v in action.payload.items() if k != "correlation_id"}
        incident = self.servicenow.create_incident(fields, correlation_id=action.correlation_id)
        return {"sys_id": incident.sys_id, "number": incident.number, "reused": False}

    def _itsm_update(self, action: Action) -> TargetOutcome:
        """PATCH each target incident (a sys_id or an INC number) with the payload's fields. A work note is
        append-only, so it carries the correlation id and is not written twice: a retry that finds it in the
        incident's journal counts the target done."""
        servicenow = self.servicenow
        if servicenow is None:
            raise UnsupportedAction("an ITSM update action needs a ServiceNow client")
        if action.target_type != "ticket":
            raise UnsupportedAction(f"{action.kind} targets tickets, not {action.target_type}s")
        fields = {k: v for k, v in action.payload.items() if k != "correlation_id"}
        if not fields:
            raise UnsupportedAction(f"{action.kind} has no fields to change")
        marker = work_note_marker(action)
        if fields.get("work_notes"):
            fields["work_notes"] = f"{fields['work_notes']}\n{marker}"

        def update(target: str) -> None:
            sys_id = incident_sys_id(servicenow, target)
            if fields.get("work_notes") and any(marker in e.value for e in servicenow.journal(sys_id)):
                return  # applied by an earlier attempt whose answer was lost
            servicenow.update_incident(sys_id, fields, correlation_id=action.correlation_id)

        return each_target([(t, t) for t in action.targets], update)

    def _device_delete(self, action: Action) -> TargetOutcome:
        """`DELETE /mdm/devices/{id}` per device. A 404 means the record is already gone (an earlier attempt
        whose answer was lost, or an admin): the end state the action asks for holds, so the target is done
        and the outcome names it."""
        absent: list[str] = []

        def delete(device_id: int) -> None:
            try:
                self.uem.devices.delete(device_id)
            except UEMNotFound:
                absent.append(str(device_id))

        outcome = self._each(action, delete)
        return outcome.model_copy(update={"info": {"already_absent": absent}}) if absent else outcome


def user_id_by_external_id(uem: UEMClient, external_id: str) -> int:
    """The one UEM user whose ExternalId is `external_id` (the user search has no such filter: one sweep of
    500-user pages). None or several: `UnsupportedAction`, before any write."""
    found = [
        int(u.id.value)
        for u in uem.users.iter_search()
        if u.external_id == external_id and u.id is not None and u.id.value
    ]
    if len(found) != 1:
        raise UnsupportedAction(
            f"{'no' if not found else len(found)} UEM user(s) with external id {external_id!r}: not changed"
        )
    return found[0]


def work_note_marker(action: Action) -> str:
    """Ends every work note an ITSM update writes: how a retry (or `tasks.verify`) finds the note again."""
    return f"[ws1ai correlation-id={action.correlation_id}]"


def incident_sys_id(servicenow: ServiceNowClient, target: str) -> str:
    """A ticket target is the incident's sys_id (32 hex digits) or its number (INC…)."""
    if re.fullmatch(r"[0-9a-f]{32}", target):
        return target
    incident = servicenow.find_by_number(target)
    if incident is None:
        raise UnsupportedAction(f"no ServiceNow incident {target!r}")
    return incident.sys_id


def _addition_id(item: dict[str, object]) -> int | None:
    raw = item.get("Id")
    if isinstance(raw, dict):
        raw = raw.get("Value")
    return int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None


@contextmanager
def open_executor() -> Iterator[ActionExecutor]:
    """Clients from the environment, closed afterwards (`ws1ai rollback` imports this by name)."""
    from ws1ai.governance.audit import PrefectAuditStore

    settings = GovernanceSettings()
    # The trail lets an inverse find what its original recorded (unchanged devices, the created user's id).
    with UEMClient() as uem, ServiceNowClient() as itsm:
        yield ActionExecutor(uem, itsm, settings=settings, audit=PrefectAuditStore(settings))


def _device_ids(action: Action) -> list[int]:
    return [int(t) for t in _device_targets(action)]


def _device_targets(action: Action) -> tuple[str, ...]:
    if action.target_type != "device":
        raise UnsupportedAction(f"{action.kind} targets {action.target_type}s, not devices")
    return action.targets


# Refusals about the one target (no such device/app, invalid for it): the next target may still succeed.
_TARGET_STATUSES = frozenset({400, 404, 409, 422})


def each_target(items: Sequence[tuple[str, Any]], call: Callable[[Any], object]) -> TargetOutcome:
    """Call `call(arg)` per (target, arg), recording each target's result (the per-target contract above)."""
    done: list[str] = []
    failed: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for i, (target, arg) in enumerate(items):
        try:
            call(arg)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
            if not certainly_not_applied(exc):
                unknown[target] = why
            else:
                failed[target] = why
                if getattr(exc, "status", None) in _TARGET_STATUSES or isinstance(exc, UnsupportedAction):
                    continue
            # The tenant is unreachable, refusing us or answering ambiguously: stop here rather than push
            # every other target into the same state; they were not sent.
            failed.update({t: f"not attempted after: {why}" for t, _ in items[i + 1 :]})
            break
        else:
            done.append(target)
    return TargetOutcome(done=tuple(done), failed=failed, unknown=unknown)
