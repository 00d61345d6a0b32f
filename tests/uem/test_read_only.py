"""A read-only client refuses every write before sending: nothing reaches the tenant's ledger."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.uem.conftest import ledger, make_settings, request_counts
from ws1ai.uem import UEMClient, UEMReadOnlyError
from ws1ai.uem.schemas import CustomAttribute, DeviceInfo, PushMessage, SmartGroupEdit, User


@pytest.fixture
def ro(http: httpx.Client) -> UEMClient:
    return UEMClient(make_settings(), http=http, read_only=True)


WRITES: dict[str, Callable[[UEMClient], object]] = {
    "command": lambda c: c.commands.enterprise_wipe(1),
    "bulk command": lambda c: c.commands.bulk_lock(["SN1"]),
    "push": lambda c: c.messages.push(1, PushMessage(message_body="hi")),
    "profile install": lambda c: c.profiles.install(1, DeviceInfo(device_id=1)),
    "app uninstall": lambda c: c.apps.uninstall("internal", 1, DeviceInfo(device_id=1)),
    "smart group create": lambda c: c.smart_groups.create(SmartGroupEdit(name="x")),
    "smart group delete": lambda c: c.smart_groups.delete(1),
    "tag add": lambda c: c.tags.add_devices(1, [1]),
    "custom attribute": lambda c: c.devices.set_custom_attributes(1, [CustomAttribute(name="a", value="b")]),
    "note": lambda c: c.devices.add_note(1, "note"),
    "user create": lambda c: c.users.create(User(user_name="u")),
    "user deactivate": lambda c: c.users.deactivate(1),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_is_refused_before_sending(ro: UEMClient, http: httpx.Client, name: str) -> None:
    with pytest.raises(UEMReadOnlyError) as info:
        WRITES[name](ro)
    assert info.value.sent is False
    assert ro.stats.requests == 0
    assert ledger(http) == []
    assert request_counts(http)["total"] == 0


def test_reads_still_work_and_settings_switch_read_only(http: httpx.Client) -> None:
    with UEMClient(make_settings(read_only=True), http=http) as uem:
        assert uem.read_only
        assert uem.devices.search(page_size=3).items
        with pytest.raises(UEMReadOnlyError):
            uem.commands.sync(1)
    with UEMClient(make_settings(read_only=True), http=http, read_only=False) as uem:
        assert not uem.read_only  # the explicit argument wins over settings
