"""Evaluation-only ground truth beyond the `failures` table: what the simulator knows and telemetry hides.

Both functions re-run only the cheap stages (people, hardware, lifecycles), so they are consistent with
`generate_fleet` for the same (devices, seed, days, end) and take well under a second for 100,000 devices.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from ws1ai.sandbox.fleet._time import day_number, days_to_series
from ws1ai.sandbox.fleet.generate import DEFAULT_END, core_stages
from ws1ai.sandbox.fleet.lifecycle import COMPONENTS

__all__ = ["failure_truth", "security_truth"]


def failure_truth(devices: int, seed: int, days: int, end: date = DEFAULT_END) -> pl.DataFrame:
    """When each failure's precursor starts (null: silent failure).

    Columns: device_id, failed_on, component, lead_days (0 = no precursor), precursor_from (date, nullable),
    in_window (False for failures up to 45 days after `end`: not in `failures`, but their precursors are
    already in telemetry), so an evaluation can tell "no signal yet" from "no signal ever" and report the
    achievable ceiling.
    """
    _, _, life, ids = core_stages(devices, seed, days, end)
    has = life.component >= 0
    lead = np.ceil(life.lead[has]).astype(np.int64)
    fail = life.fail_day[has]
    return pl.DataFrame({
        "device_id": ids[has],
        "failed_on": days_to_series("failed_on", fail),
        "component": pl.Series([COMPONENTS[c] for c in life.component[has]], dtype=pl.String),
        "lead_days": lead,
        "precursor_from": days_to_series("precursor_from", np.where(lead > 0, fail - lead, 0)),
    }).with_columns(
        pl.when(pl.col("lead_days") > 0).then(pl.col("precursor_from")).alias("precursor_from"),
        (pl.col("failed_on") <= end).alias("in_window"),
    ).sort("failed_on", "device_id")


def security_truth(devices: int, seed: int, days: int, end: date = DEFAULT_END) -> pl.DataFrame:
    """Per device: compromised (jailbroken; also a devices column) and the latent malware infection.

    Columns: device_id, compromised, infected (as of `end`), infected_on (date, nullable). Infected devices
    show up only indirectly: frequent high EDR scores, and about half are marked NonCompliant by the threat
    integration. A "truly high-risk" device in this simulator is one that is infected or compromised.
    """
    _, dev, _, ids = core_stages(devices, seed, days, end)
    infected = dev.infected_day <= day_number(end)
    return pl.DataFrame({
        "device_id": ids,
        "compromised": dev.compromised,
        "infected": infected,
        "infected_on": days_to_series("infected_on", np.where(infected, dev.infected_day, 0)),
    }).with_columns(
        pl.when(pl.col("infected")).then(pl.col("infected_on")).alias("infected_on")
    ).sort("device_id")


