"""What a flow run's parameters may ask for, checked before the run reads anything.

Anyone who can create a flow run chooses its parameters, so a parameter can narrow a run, never widen it
(ws1ai/governance/README.md, "Parameters narrow a run"): a path must lie in this worker's data directories
(ws1ai/paths.py), a payload must be one this worker allows (`WorkerSettings`), and a date that decides who
or what is due may only move back in time. A refused run ends `Failed` with the one-line reason, having read
and written nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import State, get_run_logger
from prefect.states import Failed

from ws1ai.paths import confine

__all__ = ["clock_today", "confined", "not_after_today", "refuse"]


def confined(value: str | None, parameter: str, *, model: bool = False) -> str | None:
    """The resolved path inside the data directories (None stays None); a model's sidecar is checked too."""
    if not value:
        return None
    return str(confine(value, parameter, companions=(".json",) if model else ()))


def clock_today() -> dt.date:
    """This worker's UTC date: the clock the HRIS and tenant dates are compared with, not the caller's."""
    return dt.datetime.now(dt.UTC).date()


def not_after_today(requested: dt.date | None, parameter: str) -> dt.date:
    """`requested`, when it is not after the clock's today; the clock's today when not given.

    A later date would make a run see leavers who have not left, or licences idle for days that have not
    passed: its plan, and the rationale an approver reads, would be false.
    """
    today = clock_today()
    if requested is None:
        return today
    if requested > today:
        raise ValueError(
            f"{parameter}={requested.isoformat()} is after today ({today.isoformat()} UTC): a run may look "
            "back in time, never ahead"
        )
    return requested


def refuse(exc: Exception) -> State[Any]:
    message = f"refused before reading anything: {exc}"
    get_run_logger().error("%s", message)
    return Failed(message=message)
