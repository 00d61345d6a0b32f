"""Identifier strings built as byte matrices (100,000 of them in milliseconds, no per-device Python)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ws1ai.sandbox.fleet.catalog import MODELS

__all__ = ["serial_numbers", "uuid4s"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# No I or O: vendors leave them out of serials (they read as 1 and 0).
_SERIAL_CHARS = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", dtype=np.uint8)
_MAX_SERIAL = max(m.serial_len for m in MODELS)


def uuid4s(rng: np.random.Generator, n: int) -> npt.NDArray[np.str_]:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)), (slice(12, 16), slice(14, 18)),
                     (slice(16, 20), slice(19, 23)), (slice(20, 32), slice(24, 36))):
        out[:, dst] = hexed[:, src]
    return np.ascontiguousarray(out).view("S36").ravel().astype(np.str_)


def serial_numbers(rng: np.random.Generator, model: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Vendor-shaped serials: the model's prefix, then random characters up to the vendor's length."""
    n = len(model)
    out = _SERIAL_CHARS[rng.integers(0, len(_SERIAL_CHARS), (n, _MAX_SERIAL))]
    for i, m in enumerate(MODELS):
        rows = model == i
        if rows.any():
            prefix = np.frombuffer(m.serial_prefix.encode(), dtype=np.uint8)
            out[np.ix_(rows, np.arange(len(prefix)))] = prefix
            out[rows, m.serial_len:] = 0  # trailing NULs: numpy's bytes dtype ends the string there
    return np.ascontiguousarray(out).view(f"S{_MAX_SERIAL}").ravel().astype(np.str_)
