"""Bulk writes in batches, with a per-value outcome (docs/uem-api.md#bulk-operations).

The bulk routes (`/mdm/devices/messages/bulkpush`, `/mdm/devices/commands/bulk`, `/mdm/tags/{id}/adddevices`
and `/removedevices`) take `{"BulkValues": {"Value": [...]}}` and answer 200 with a `BulkResponse` that
lists a `Fault` (`ErrorCode`, `ItemValue`, `Message`) for each value that did not go through.
`run_bulk` splits the values into batches of `BULK_BATCH_SIZE`, sends them one after the other and maps
every input value to its outcome: accepted, failed (with the fault), or unknown when a response does not
account for it.

A batch whose response is lost is not sent again (the transport never repeats a write that may have reached
the server: `ws1ai.uem.retry`). `run_bulk` then stops and raises `UEMBulkError`, which says which values
are in doubt (read the devices back before trying them again), which were never sent, and what the earlier
batches did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ws1ai.uem.errors import UEMAPIError, UEMError
from ws1ai.uem.schemas.common import BulkFault, BulkResponse

__all__ = [
    "BULK_BATCH_SIZE",
    "BulkItemResult",
    "BulkResult",
    "BulkStatus",
    "UEMBulkError",
    "run_bulk",
]

# Our choice, not the API's: the public material states no maximum number of values per bulk call, so we
# send at most as many as one search page returns (500), which keeps each request and response small.
BULK_BATCH_SIZE = 500
# How many in-doubt values an error message names (all of them are on the exception).
_NAMED_IN_MESSAGE = 10


class BulkStatus(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the response did not account for it: read the device back


@dataclass(frozen=True)
class BulkItemResult:
    value: str
    status: BulkStatus
    error_code: int | None = None
    message: str | None = None


@dataclass
class BulkResult:
    """Every value sent, in input order, with its outcome; `calls` = bulk requests made."""

    items: dict[str, BulkItemResult] = field(default_factory=dict)
    calls: int = 0

    def _with(self, status: BulkStatus) -> list[BulkItemResult]:
        return [i for i in self.items.values() if i.status is status]

    @property
    def accepted(self) -> list[str]:
        return [i.value for i in self._with(BulkStatus.ACCEPTED)]

    @property
    def failed(self) -> list[BulkItemResult]:
        return self._with(BulkStatus.FAILED)

    @property
    def unknown(self) -> list[str]:
        return [i.value for i in self._with(BulkStatus.UNKNOWN)]

    # The BulkResponse counters, summed over the batches (what a single-call caller used to read).
    @property
    def total_items(self) -> int:
        return len(self.items)

    @property
    def accepted_items(self) -> int:
        return len(self._with(BulkStatus.ACCEPTED))

    @property
    def failed_items(self) -> int:
        return len(self._with(BulkStatus.FAILED))

    def add_batch(self, batch: Sequence[str], response: BulkResponse) -> None:
        """Record one batch's answer: faulted values failed, the rest accepted if the counts add up."""
        self.calls += 1
        exact = {v: v for v in batch}
        # Lookups (serial numbers, UDIDs) are case-insensitive: a tenant may echo a value normalised.
        folded = {v.lower(): v for v in batch}
        faults: dict[str, BulkFault] = {}
        unmatched = 0
        for fault in response.faults.fault if response.faults else []:
            key = fault.item_value or ""
            value = exact.get(key) or folded.get(key.lower())
            if value is None or value in faults:
                unmatched += 1
                continue
            faults[value] = fault
        rest = [v for v in batch if v not in faults]
        # Accept the unfaulted values only when the response says exactly that many went through; anything
        # else (a fault naming a value we did not send, missing counters) leaves them unknown, not done.
        consistent = unmatched == 0 and response.accepted_items == len(rest)
        for value in batch:
            if value in faults:
                f = faults[value]
                self.items[value] = BulkItemResult(value, BulkStatus.FAILED, f.error_code, f.message)
            elif consistent:
                self.items[value] = BulkItemResult(value, BulkStatus.ACCEPTED)
            else:
                self.items[value] = BulkItemResult(
                    value,
                    BulkStatus.UNKNOWN,
                    message=(
                        f"the response does not account for this value (AcceptedItems="
                        f"{response.accepted_items}, {len(rest)} values without a fault)"
                    ),
                )


class UEMBulkError(UEMError):
    """A bulk operation stopped part-way. `done` holds the batches that answered; `in_doubt` the values of
    the batch whose outcome is unknown (the write may have happened: read back before retrying);
    `not_sent` the values certainly not acted on. `cause` is the error of the failing batch."""

    def __init__(
        self,
        operation: str,
        *,
        done: BulkResult,
        in_doubt: list[str],
        not_sent: list[str],
        cause: UEMError,
        batch: int,
        batches: int,
    ) -> None:
        self.operation = operation
        self.done = done
        self.in_doubt = in_doubt
        self.not_sent = not_sent
        self.cause = cause
        self.sent = bool(in_doubt) or done.calls > 0
        parts = [f"{operation}: batch {batch} of {batches} failed ({cause})"]
        if in_doubt:
            named = ", ".join(in_doubt[:_NAMED_IN_MESSAGE])
            more = (
                f" and {len(in_doubt) - _NAMED_IN_MESSAGE} more" if len(in_doubt) > _NAMED_IN_MESSAGE else ""
            )
            parts.append(f"outcome unknown for {len(in_doubt)} value(s): {named}{more} (not re-sent)")
        parts.append(f"{len(not_sent)} value(s) not sent")
        parts.append(f"before it {done.accepted_items} accepted, {done.failed_items} failed")
        super().__init__("; ".join(parts))


def _not_acted_on(exc: UEMError) -> bool:
    """True when the failing request certainly changed nothing: never sent, or refused by the server (any
    4xx, including 429, and 503, as in the retry policy). Other 5xx, timeouts and lost responses: in doubt."""
    if not exc.sent:
        return True
    return isinstance(exc, UEMAPIError) and (exc.status < 500 or exc.status == 503)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"bulk values must be non-empty strings, got {value!r}")
        seen.setdefault(value, None)
    return list(seen)


def run_bulk(
    operation: str,
    values: Iterable[str],
    send: Callable[[list[str]], BulkResponse],
    *,
    batch_size: int = BULK_BATCH_SIZE,
) -> BulkResult:
    """Send `values` (duplicates dropped, order kept) in batches through `send`, one call per batch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    unique = _unique(values)
    batches = [unique[i : i + batch_size] for i in range(0, len(unique), batch_size)]
    result = BulkResult()
    for index, batch in enumerate(batches):
        try:
            response = send(batch)
        except UEMError as exc:
            later = [v for b in batches[index + 1 :] for v in b]
            if _not_acted_on(exc):
                if index == 0:
                    raise  # nothing happened at all: the plain error says it best
                in_doubt, not_sent = [], [*batch, *later]
            else:
                in_doubt, not_sent = list(batch), later
            raise UEMBulkError(
                operation,
                done=result,
                in_doubt=in_doubt,
                not_sent=not_sent,
                cause=exc,
                batch=index + 1,
                batches=len(batches),
            ) from exc
        result.add_batch(batch, response)
    return result
