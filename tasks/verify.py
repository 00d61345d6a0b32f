"""Read back from the tenant whether a write whose outcome is unknown was applied (governance asks before any
retry of an in-doubt target; see `ws1ai.governance.execute`).

`read_back(uem, servicenow, action, targets)` answers per target: True (applied), False (not applied) or None
(the tenant cannot tell). What is read, per kind:

* apps — the device's app list (installed ↔ app id present); profiles — the device's profile list;
* tags — the tag's device list; smart groups — the group's explicit device additions;
* custom attributes — the device's attribute value; users — the user's active flag (a target that is an HRIS
  external id: the one user carrying it), or (create) the exact username; notes — the device's notes;
* wipes — the device's enrolment status (a wipe pending or done, or a wiped device gone: applied);
* messages, locks, syncs — the device's event log of the last two days: an entry for the same command (or a
  message with the same body) means applied; none means not applied. The wording matched is the sandbox
  tenant's (`<Command> command requested`, `PUSH message sent`); a tenant that words it otherwise answers
  "not found", so for these kinds absence is reported as None (cannot tell) and only presence counts;
* tickets — ServiceNow incidents carrying the action's correlation id; ticket updates — the work note's
  marker in the incident's journal (or, without a note, the fields' values);
* scripts and anything else — None: nothing safe to read, the target stays in doubt for an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.uem import UEMClient
from ws1ai.uem.errors import UEMNotFound

__all__ = ["read_back"]

K = ActionKind
_WIPED = {"enterprisewipepending", "devicewipepending", "unenrolled", "unenrolledenterprisewipe", "retired"}
_EVENT_LOG_DAYS = 2
# A lock sent one by one is `Lock`; through the bulk route it is `LockDevice` (docs/uem-api.md#commands).
_COMMAND_EVENT = {K.DEVICE_LOCK: ("Lock", "LockDevice"), K.DEVICE_SYNC: ("SyncDevice",)}
# Payload fields a read-back compares with the tenant. The audit trail's copy of an action has personal data
# redacted (`audit_records.RedactedAction.redacted_fields`): such a copy cannot be compared, so "cannot tell".
_COMPARED = {
    K.USER_CREATE: {"user_name"},
    K.DEVICE_NOTE: {"note"},
    K.MESSAGE_SEND: {"body"},
    K.CUSTOM_ATTRIBUTE_SET: {"name", "value"},
}


def read_back(
    uem: UEMClient, servicenow: ServiceNowClient | None, action: Action, targets: Sequence[str]
) -> dict[str, bool | None]:
    """Per target of `action` in `targets`: was the write applied? (None: the tenant cannot tell)."""
    kind, p = action.kind, action.payload
    if _COMPARED.get(kind, set()) & set(getattr(action, "redacted_fields", ())):
        return dict.fromkeys(targets)
    if kind is K.ITSM_TICKET:
        if servicenow is None:
            return dict.fromkeys(targets)
        found = bool(servicenow.find_incidents(f"correlation_id={action.correlation_id}", limit=1))
        return dict.fromkeys(targets, found)
    if kind is K.ITSM_UPDATE:
        return _itsm_update_applied(servicenow, action, targets)
    if kind in (K.TAG_ADD, K.TAG_REMOVE):
        tagged = {str(d.device_id) for d in uem.tags.devices(int(p["tag_id"])) if d.device_id is not None}
        return {t: (t in tagged) == (kind is K.TAG_ADD) for t in targets}
    if kind in (K.SMART_GROUP_ADD, K.SMART_GROUP_REMOVE):
        group = uem.smart_groups.get(int(p["smart_group_id"]))
        members = {str(_addition_id(d)) for d in group.device_additions or []}
        return {t: (t in members) == (kind is K.SMART_GROUP_ADD) for t in targets}
    if kind is K.USER_CREATE:
        name = str(p.get("user_name", "")).lower()
        exists = any((u.user_name or "").lower() == name for u in uem.users.iter_search(username=name))
        return dict.fromkeys(targets, exists)
    check = _per_target(uem, action)
    if check is None:
        return dict.fromkeys(targets)
    return {t: check(t) for t in targets}


def _per_target(uem: UEMClient, action: Action) -> Callable[[str], bool | None] | None:
    kind, p = action.kind, action.payload
    if kind in (K.APP_INSTALL, K.APP_UNINSTALL):
        app_id = int(p["app_id"])

        def app(t: str) -> bool:
            present = any(a.id is not None and a.id.value == app_id for a in uem.devices.iter_apps(int(t)))
            return present == (kind is K.APP_INSTALL)

        return app
    if kind in (K.PROFILE_INSTALL, K.QUARANTINE_PROFILE, K.PROFILE_REMOVE):
        profile_id = int(p["profile_id"])

        def profile(t: str) -> bool:
            page = uem.devices.profiles(int(t))
            present = any(x.id is not None and x.id.value == profile_id for x in page.items)
            return present == (kind is not K.PROFILE_REMOVE)

        return profile
    if kind is K.CUSTOM_ATTRIBUTE_SET:
        name, value = str(p["name"]), str(p["value"])
        return lambda t: any(
            a.name == name and a.value == value for a in uem.devices.custom_attributes(int(t))
        )
    if kind in (K.USER_ACTIVATE, K.USER_DEACTIVATE):
        if not all(t.isdigit() for t in action.targets):
            return _user_by_external_id(uem, kind)
        return lambda t: uem.users.get(int(t)).status is (kind is K.USER_ACTIVATE)
    if kind is K.DEVICE_NOTE:
        note = str(p["note"])
        return lambda t: any(n.note == note for n in uem.devices.notes(int(t)))
    if kind in (K.ENTERPRISE_WIPE, K.DEVICE_WIPE, K.DEVICE_DELETE):
        return lambda t: _gone_or_wiped(uem, int(t), deleted=kind is K.DEVICE_DELETE)
    if kind is K.MESSAGE_SEND:
        channel = "EMAIL" if p.get("channel", "push") == "email" else "PUSH"
        body = str(p["body"])[:200]
        return lambda t: _logged(
            uem, int(t), [f"{channel} message sent"], lambda data: data.get("MessageBody") == body
        )
    if kind in _COMMAND_EVENT:
        texts = [f"{name} command requested" for name in _COMMAND_EVENT[kind]]
        return lambda t: _logged(uem, int(t), texts, lambda data: True)
    return None


def _itsm_update_applied(
    servicenow: ServiceNowClient | None, action: Action, targets: Sequence[str]
) -> dict[str, bool | None]:
    """A work note is found by its marker in the incident's journal; other fields by their values."""
    from tasks.actions import UnsupportedAction, incident_sys_id, work_note_marker

    if servicenow is None:
        return dict.fromkeys(targets)
    marker, fields = work_note_marker(action), dict(action.payload)
    out: dict[str, bool | None] = {}
    for t in targets:
        try:
            sys_id = incident_sys_id(servicenow, t)
        except UnsupportedAction:  # no such incident: nothing was updated
            out[t] = False
            continue
        if fields.get("work_notes"):
            out[t] = any(marker in e.value for e in servicenow.journal(sys_id))
        else:
            record = servicenow.get_incident(sys_id).model_dump()
            out[t] = all(str(record.get(k, "")) == str(v) for k, v in fields.items())
    return out


def _user_by_external_id(uem: UEMClient, kind: ActionKind) -> Callable[[str], bool | None]:
    """A user target that is an HRIS external id (the inverse of a creation): its one user's active flag."""

    def check(t: str) -> bool | None:
        users = [u for u in uem.users.iter_search() if u.external_id == t]
        if len(users) != 1:
            return None  # none or several: cannot tell which one the write was about
        return users[0].status is (kind is K.USER_ACTIVATE)

    return check


def _gone_or_wiped(uem: UEMClient, device_id: int, *, deleted: bool) -> bool:
    try:
        device = uem.devices.get(device_id)
    except UEMNotFound:
        return True  # a wiped (or deleted) device leaves the fleet
    if deleted:
        return False
    return (device.enrollment_status or "").replace(" ", "").lower() in _WIPED


def _logged(
    uem: UEMClient, device_id: int, events: Sequence[str], data_ok: Callable[[dict[str, str]], bool]
) -> bool | None:
    """True when the device's recent event log has one of the entries; None (cannot tell) when it has not."""
    page = uem.devices.eventlog(device_id, day_range=_EVENT_LOG_DAYS)
    wanted = {e.lower() for e in events}
    for entry in page.items:
        if (entry.event or "").lower() in wanted and data_ok(_data(entry.event_data_list or [])):
            return True
    return None


def _data(items: Iterable[object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, value = getattr(item, "name", None), getattr(item, "value", None)
        if name is not None:
            out[str(name)] = str(value)
    return out


def _addition_id(item: dict[str, object]) -> int | None:
    raw = item.get("Id")
    if isinstance(raw, dict):
        raw = raw.get("Value")
    return int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
