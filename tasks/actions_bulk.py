"""The executor's bulk paths: one call per batch of 500 devices instead of one per device.

Push and e-mail messages and the bulk commands (`LockDevice`, `EnterpriseWipe`) are addressed by serial number
(the bulk routes' `searchby` list has no DeviceId; docs/uem-api.md#bulk-operations), so `SerialBook` maps
device ids to serial numbers from the devices search — one sweep of 500-device pages per executor, taken only
when it costs fewer calls than sending to the missing devices one by one. Serial numbers stay in memory: they
are personal data, and what governance records is keyed by device id.

`bulk_outcome` maps every value's result back to its device id (the per-target contract of `tasks.actions`):
accepted → done; failed (`ErrorCode`, `Message`) → failed; unknown (the response did not account for it) →
in doubt. A bulk call that stopped part-way (`UEMBulkError`) keeps what its earlier batches did, puts the
lost batch in doubt (never re-sent) and the batches not sent in failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from ws1ai.governance.audit_records import TargetOutcome
from ws1ai.governance.execute_state import certainly_not_applied
from ws1ai.uem import UEMClient
from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult, BulkStatus, UEMBulkError
from ws1ai.uem.paging import Page, iter_pages
from ws1ai.uem.schemas.devices import DeviceV1

__all__ = ["ReadFailed", "SerialBook", "bulk_outcome", "merge_outcomes"]


class ReadFailed(RuntimeError):
    """A read the executor needs before writing (serial numbers, tag members) failed: nothing was sent."""

    sent = False  # governance records the targets failed (safe to retry), not in doubt


def _batches(n: int) -> int:
    return math.ceil(n / BULK_BATCH_SIZE)


class SerialBook:
    """Device id → serial number, read from `GET /mdm/devices/search` pages and kept for the executor's life
    (one governed batch), so several bulk actions share one sweep."""

    def __init__(self, uem: UEMClient) -> None:
        self.uem = uem
        self._serials: dict[int, str] = {}
        self._holders: dict[str, set[int]] = {}  # serial (case-folded) → device ids that report it
        self._pages: int | None = None  # pages of the whole fleet, known after page 0
        self._next = 0  # the next page to read
        self.calls = 0  # search pages read (the bench and tests count them)

    @property
    def complete(self) -> bool:
        return self._pages is not None and self._next >= self._pages

    def serials(self, device_ids: Sequence[int]) -> dict[int, str]:
        """The serial number of each device that has exactly one (devices without one, or sharing one with
        another record, are absent: they go one by one). Reads only as many pages as pay for themselves."""
        missing = [d for d in device_ids if d not in self._serials]
        try:
            # Page 0 plus one bulk call never beat one call per device for two devices or fewer.
            if missing and self._pages is None and len(missing) > 2:
                self._read(self._fetch(0))
            missing = [d for d in device_ids if d not in self._serials]
            if missing and not self.complete and self._pages is not None:
                left = self._pages - self._next
                # The rest of the sweep plus the batches must cost less than calling each missing device.
                if left + _batches(len(missing)) < len(missing):
                    for page in iter_pages(self._fetch, start_page=self._next):
                        self._read(page)
        except Exception as exc:  # a failed read wrote nothing: the action fails, and is safe to retry
            raise ReadFailed(
                f"reading serial numbers for a bulk call failed: {type(exc).__name__}: {exc}"
            ) from exc
        return {
            d: s
            for d in device_ids
            if (s := self._serials.get(d)) is not None and len(self._holders.get(s.lower(), ())) == 1
        }

    def _fetch(self, page: int, size: int = BULK_BATCH_SIZE) -> Page[DeviceV1]:
        self.calls += 1
        return self.uem.devices.search(page=page, page_size=size)

    def _read(self, page: Page[DeviceV1]) -> None:
        if self._pages is None:
            self._pages = max(1, math.ceil(page.total / max(1, page.page_size)))
        self._next = max(self._next, page.page + 1)
        if not page.items:  # an empty page ends the sweep whatever Total said
            self._next = self._pages
        for device in page.items:
            serial = (device.serial_number or "").strip()
            if device.device_id is None or not serial:
                continue
            self._serials[device.device_id] = serial
            self._holders.setdefault(serial.lower(), set()).add(device.device_id)


def bulk_outcome(
    targets_by_value: Mapping[str, str], send: Callable[[list[str]], BulkResult]
) -> tuple[TargetOutcome, str | None]:
    """Send every value through `send` (a client bulk method) and record each target's outcome.

    Returns the outcome and, when the bulk call stopped before accounting for every value, why (the caller
    sends nothing more after it: the tenant is refusing us or answering ambiguously)."""
    values = list(targets_by_value)
    try:
        result = send(values)
    except UEMBulkError as exc:
        # Name the failing request, never the values: `str(exc)` lists serial numbers (personal data).
        why = f"{exc.operation}: {type(exc.cause).__name__}: {exc.cause}"[:300]
        done = _from_result(targets_by_value, exc.done)
        lost = TargetOutcome(
            unknown={targets_by_value[v]: f"bulk response lost, not re-sent ({why})" for v in exc.in_doubt},
            failed={targets_by_value[v]: f"not sent after: {why}" for v in exc.not_sent},
        )
        return merge_outcomes(done, lost), why
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"[:300]
        targets = list(targets_by_value.values())
        if certainly_not_applied(exc):
            return TargetOutcome(failed=dict.fromkeys(targets, why)), why
        return TargetOutcome(unknown=dict.fromkeys(targets, why)), why
    return _from_result(targets_by_value, result), None


def _from_result(targets_by_value: Mapping[str, str], result: BulkResult) -> TargetOutcome:
    done: list[str] = []
    failed: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for value, item in result.items.items():
        target = targets_by_value[value]
        if item.status is BulkStatus.ACCEPTED:
            done.append(target)
        elif item.status is BulkStatus.FAILED:
            failed[target] = f"ErrorCode {item.error_code}: {item.message}"[:300]
        else:
            unknown[target] = (item.message or "the bulk response does not account for this device")[:300]
    return TargetOutcome(done=tuple(done), failed=failed, unknown=unknown)


def merge_outcomes(*outcomes: TargetOutcome) -> TargetOutcome:
    """Outcomes of disjoint target sets (a bulk part and a per-device part) as one."""
    return TargetOutcome(
        done=tuple(dict.fromkeys(t for o in outcomes for t in o.done)),
        failed={t: w for o in outcomes for t, w in o.failed.items()},
        unknown={t: w for o in outcomes for t, w in o.unknown.items()},
        note_failures={t: w for o in outcomes for t, w in o.note_failures.items()},
        skipped={t: w for o in outcomes for t, w in o.skipped.items()},
        info={k: v for o in outcomes for k, v in o.info.items()},
    )
