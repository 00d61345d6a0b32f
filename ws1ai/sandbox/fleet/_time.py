"""Dates as int32 day numbers (days since 1970-01-01), the form numpy works in and polars casts to Date."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["EPOCH_ORDINAL", "day_number", "days_to_series", "rng_for"]

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(d: date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def days_to_series(name: str, days: npt.NDArray[np.integer] | list[int | None]) -> pl.Series:
    """A Date series from day numbers (None stays null)."""
    return pl.Series(name, days, dtype=pl.Int32).cast(pl.Date)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator per (seed, stage, chunk): stages never shift each other's draws."""
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))
