"""Holidays and sick leave per person: nobody uses an app then, and their computer stays off.

Shared by telemetry (a laptop left at home does not check in; a phone in the pocket still does) and app
usage (no use on any device), so idle stretches in usage line up with gaps in telemetry as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Absences", "draw_absences"]

IntArray = npt.NDArray[np.int64]
_MAX_PER_PERSON = 6


@dataclass(frozen=True)
class Absences:
    first: IntArray  # (people, K) absolute first day of each absence
    length: IntArray  # (people, K) days; 0 for unused slots

    def mask(self, person: IntArray, days: IntArray) -> npt.NDArray[np.bool_]:
        """(len(person), len(days)) True where that person is away."""
        away = np.zeros((len(person), days.shape[-1]), dtype=bool)
        t = days.reshape(1, -1)
        for k in range(self.first.shape[1]):
            f = self.first[person, k][:, None]
            away |= (t >= f) & (t < f + self.length[person, k][:, None])
        return away


def draw_absences(rng: np.random.Generator, n_people: int, start_day: int, end_day: int) -> Absences:
    span = end_day - start_day + 1
    # About 25 days off a year in a few blocks (one long summer or winter break, several short ones).
    count = np.minimum(rng.poisson(3.0 * span / 365.0, n_people), _MAX_PER_PERSON)
    first = start_day + rng.integers(0, max(span, 1), (n_people, _MAX_PER_PERSON))
    length = np.where(rng.random((n_people, _MAX_PER_PERSON)) < 0.25, rng.integers(8, 16, (n_people, 6)),
                      rng.integers(1, 6, (n_people, _MAX_PER_PERSON)))
    length[np.arange(_MAX_PER_PERSON)[None, :] >= count[:, None]] = 0
    return Absences(first.astype(np.int64), length.astype(np.int64))
