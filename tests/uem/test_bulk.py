"""The client's bulk methods against the sandbox over HTTP: batches of BULK_BATCH_SIZE, an outcome per value,
and a lost batch reported as in doubt, never re-sent (counted in the sandbox's ledger)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.uem.conftest import inject_fault, ledger
from ws1ai.uem import UEMClient, UEMNotFound
from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult, BulkStatus, UEMBulkError, run_bulk
from ws1ai.uem.schemas import BulkResponse, DeviceV1, PushMessage

REMINDER = PushMessage(message_body="Please update your device")


def _fleet(uem: UEMClient, n: int) -> list[DeviceV1]:
    devices = [d for _, d in zip(range(n), uem.devices.iter_search(), strict=False)]
    assert len(devices) == n
    return devices


def _serials(devices: list[DeviceV1]) -> list[str]:
    return [d.serial_number or "" for d in devices]


def _enrolled(devices: list[DeviceV1]) -> set[str]:
    return {d.serial_number or "" for d in devices if d.enrollment_status == "Enrolled"}


def _pushes(http: httpx.Client, base_url: str = "") -> list[dict[str, Any]]:
    return [e for e in ledger(http, base_url) if e["operation"] == "Message.push"]


def test_bulk_push_maps_every_value_to_its_outcome(uem: UEMClient, http: httpx.Client) -> None:
    a, b, c = [d for d in _fleet(uem, 20) if d.enrollment_status == "Enrolled"][:3]
    assert c.device_id is not None
    uem.commands.enterprise_wipe(c.device_id)
    http.post(
        "/_sandbox/bulk-faults", json={"value": b.serial_number, "error_code": 400, "message": "Push failed"}
    )

    result = uem.messages.bulk_push(
        "Serialnumber",
        [a.serial_number or "", b.serial_number or "", "NOPE", c.serial_number or ""],
        REMINDER,
    )

    assert result.calls == 1
    assert result.accepted == [a.serial_number]
    assert {i.value: i.error_code for i in result.failed} == {
        b.serial_number: 400,
        "NOPE": 5061,
        c.serial_number: 5070,
    }
    assert result.items[b.serial_number or ""].message == "Push failed"
    assert "EnterpriseWipePending" in (result.items[c.serial_number or ""].message or "")
    assert (result.total_items, result.accepted_items, result.failed_items) == (4, 1, 3)
    assert [e["device_ids"] for e in _pushes(http)] == [[a.device_id]]


def test_values_are_sent_in_batches_of_the_constant(uem: UEMClient, http: httpx.Client) -> None:
    devices = _fleet(uem, 2 * BULK_BATCH_SIZE + 1)
    serials = _serials(devices)
    result = uem.messages.bulk_push("Serialnumber", [*serials, *serials[:5]], REMINDER)  # duplicates dropped

    assert result.calls == 3
    sizes = [len(e["payload"]["BulkValues"]["Value"]) for e in _pushes(http)]
    assert sizes == [BULK_BATCH_SIZE, BULK_BATCH_SIZE, 1]
    assert list(result.items) == serials
    assert set(result.accepted) == _enrolled(devices)
    assert {i.value for i in result.failed} == set(serials) - _enrolled(devices)

    tag = uem.tags.search().items[0]
    assert tag.id is not None and tag.id.value is not None
    ids = [d.device_id for d in devices if d.device_id is not None]
    added = uem.tags.bulk_add_devices(tag.id.value, ids)
    assert added.calls == 3 and added.accepted_items == len(ids)
    assert {d.device_id for d in uem.tags.devices(tag.id.value)} >= set(ids)
    removed = uem.tags.bulk_remove_devices(tag.id.value, ids, batch_size=700)
    assert removed.calls == 2 and removed.accepted == [str(i) for i in ids]


def test_bulk_command_outcomes_and_state(uem: UEMClient, http: httpx.Client) -> None:
    devices = [d for d in _fleet(uem, 30) if d.enrollment_status == "Enrolled"][:4]
    serials = _serials(devices)
    result = uem.commands.bulk_command("LockDevice", "Serialnumber", serials, batch_size=3)
    assert result.calls == 2 and result.accepted == serials
    locks = [e for e in ledger(http) if e["operation"] == "Command.LockDevice"]
    assert sorted(i for e in locks for i in e["device_ids"]) == sorted(d.device_id or 0 for d in devices)


def test_a_lost_bulk_response_is_in_doubt_and_not_resent(live_uem: UEMClient, live_url: str) -> None:
    with httpx.Client(base_url=live_url) as control:
        serials = _serials(_fleet(live_uem, 2 * BULK_BATCH_SIZE + 1))
        inject_fault(control, route="bulkpush", kind="drop_after", count=1)

        with pytest.raises(UEMBulkError) as info:
            live_uem.messages.bulk_push("Serialnumber", serials, REMINDER)

        err = info.value
        assert err.in_doubt == serials[:BULK_BATCH_SIZE]
        assert err.not_sent == serials[BULK_BATCH_SIZE:]
        assert err.done.calls == 0 and err.sent
        assert serials[0] in str(err) and "outcome unknown for 500 value(s)" in str(err)
        # The tenant did act on the lost batch, exactly once: the client did not send it again.
        pushes = _pushes(control)
        assert len(pushes) == 1
        assert pushes[0]["payload"]["BulkValues"]["Value"] == serials[:BULK_BATCH_SIZE]


def test_a_failed_second_batch_keeps_the_first_batchs_outcomes(uem: UEMClient, http: httpx.Client) -> None:
    serials = _serials(_fleet(uem, 2 * BULK_BATCH_SIZE + 1))
    # The first bulk call takes a no-op fault; the second gets a 500, after which the write may have happened.
    inject_fault(http, route="bulkpush", kind="latency", latency_seconds=0, count=1)
    inject_fault(http, route="bulkpush", kind="5xx", status=500, count=1)

    with pytest.raises(UEMBulkError) as info:
        uem.messages.bulk_push("Serialnumber", serials, REMINDER)

    err = info.value
    assert list(err.done.items) == serials[:BULK_BATCH_SIZE]
    assert err.in_doubt == serials[BULK_BATCH_SIZE : 2 * BULK_BATCH_SIZE]
    assert err.not_sent == serials[2 * BULK_BATCH_SIZE :]
    assert len(_pushes(http)) == 1  # no retry of the 500


def test_refused_batches_are_retried_or_reported_not_sent(uem: UEMClient, http: httpx.Client) -> None:
    serials = _serials(_fleet(uem, BULK_BATCH_SIZE + 1))
    # 503 says the server did not act: the transport repeats that batch and the run completes.
    inject_fault(http, route="bulkpush", kind="5xx", status=503, count=1)
    assert uem.messages.bulk_push("Serialnumber", serials, REMINDER).calls == 2
    assert len(_pushes(http)) == 2
    # A refusal of the first batch (unknown tag) is the plain error: nothing happened, nothing in doubt.
    with pytest.raises(UEMNotFound):
        uem.tags.bulk_add_devices(987_654, [1, 2])


def test_bad_input_fails_before_sending(uem: UEMClient) -> None:
    with pytest.raises(ValueError, match="searchby must be one of"):
        uem.messages.bulk_push("DeviceId", ["1"], REMINDER)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bulk command must be one of"):
        uem.commands.bulk_command("Lock", "Serialnumber", ["SN1"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty strings"):
        uem.commands.bulk_lock(["SN1", ""])
    with pytest.raises(ValueError, match="batch_size"):
        uem.commands.bulk_command("LockDevice", "Serialnumber", ["SN1"], batch_size=0)
    assert uem.messages.bulk_push("Serialnumber", [], REMINDER).calls == 0
    assert uem.stats.requests == 0


def test_a_response_that_does_not_account_for_a_value_leaves_it_unknown() -> None:
    def send(batch: list[str]) -> BulkResponse:
        # A fault names a value that was not sent, and the counters do not add up.
        return BulkResponse.model_validate(
            {
                "TotalItems": 3,
                "AcceptedItems": 1,
                "FailedItems": 2,
                "Faults": {
                    "Fault": [
                        {"ErrorCode": 5061, "ItemValue": "sn-b", "Message": "x"},
                        {"ErrorCode": 1, "ItemValue": "other", "Message": "y"},
                    ]
                },
            }
        )

    result: BulkResult = run_bulk("test", ["SN-A", "SN-B", "SN-C"], send)
    assert result.items["SN-B"].status is BulkStatus.FAILED  # matched case-insensitively
    assert result.unknown == ["SN-A", "SN-C"]
    assert result.accepted == []
