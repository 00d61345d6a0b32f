"""EDR risk scores: sparse daily signals, high on infected devices, raised on jailbroken and non-compliant.

Healthy devices get occasional low scores and, now and then, a false-positive spike; an infected device
(latent: not a devices column) scores high and often from its infection day on, which may precede the window.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._time import days_to_series
from ws1ai.sandbox.fleet.catalog import MODELS
from ws1ai.sandbox.fleet.devices import NEVER, Devices
from ws1ai.sandbox.fleet.lifecycle import Lifecycle

__all__ = ["simulate_threats"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _sources(rng: np.random.Generator, dev: Devices) -> npt.NDArray[np.object_]:
    plat = np.array([MODELS[m].platform for m in dev.model], dtype=object)
    crowd = rng.random(len(plat)) < 0.3  # a third of Windows runs CrowdStrike, the rest Defender
    return np.select(
        [np.isin(plat, ["Apple", "Android"]), plat == "AppleOsX", crowd],
        ["Lookout Mobile Endpoint Security", "CrowdStrike Falcon", "CrowdStrike Falcon"],
        "Microsoft Defender for Endpoint",
    ).astype(object)


def simulate_threats(
    rng: np.random.Generator, dev: Devices, life: Lifecycle, noncompliant: BoolArray, start_day: int,
    end_day: int, device_ids: IntArray,
) -> pl.DataFrame:
    n = len(dev.model)
    src = _sources(rng, dev)
    lo = life.first_day
    hi = np.minimum(life.stop_day, end_day + 1)  # exclusive
    span = np.maximum(hi - lo, 0)
    base_rate = np.where(noncompliant, 0.05, 0.012) * np.exp(rng.normal(0, 0.5, n))
    # Jailbroken devices draw steady medium scores; infected ones frequent high scores from infection on.
    jail_span = np.where(dev.compromised, span, 0)
    inf_lo = np.clip(dev.infected_day, lo, hi)
    inf_span = np.where(dev.infected_day < NEVER, np.maximum(hi - inf_lo, 0), 0)

    parts = []
    for rate, first, length, kind in (
        (base_rate, lo, span, 0),
        (np.full(n, 0.12), lo, jail_span, 1),
        (np.exp(rng.normal(np.log(0.3), 0.5, n)), inf_lo, inf_span, 2),
    ):
        count = rng.poisson(rate * length)
        idx = np.repeat(np.arange(n), count)
        if not len(idx):
            continue
        day = first[idx] + (rng.random(len(idx)) * length[idx]).astype(np.int64)
        if kind == 1:
            score = rng.beta(3.0, 3.0, len(idx))
        elif kind == 2:
            score = rng.beta(6.0, 2.2, len(idx))
        else:
            spike = rng.random(len(idx)) < 0.03
            score = np.where(noncompliant[idx], rng.beta(2.0, 5.0, len(idx)), rng.beta(1.2, 10.0, len(idx)))
            score = np.where(spike, rng.beta(5.0, 3.0, len(idx)), score)
        parts.append(pl.DataFrame({"row": idx, "day": day, "edr_risk_score": np.round(score, 3)}))
    if not parts:
        return pl.DataFrame(schema={"device_id": pl.Int64, "date": pl.Date, "edr_risk_score": pl.Float64,
                                    "source": pl.String})
    sig = pl.concat(parts).group_by("row", "day").agg(pl.col("edr_risk_score").max())
    rows = sig["row"].to_numpy()
    return pl.DataFrame({
        "device_id": device_ids[rows],
        "date": days_to_series("date", sig["day"].to_numpy()),
        "edr_risk_score": sig["edr_risk_score"].to_numpy().astype(np.float64),
        "source": pl.Series(src[rows].tolist(), dtype=pl.String),
    }).sort("device_id", "date")
