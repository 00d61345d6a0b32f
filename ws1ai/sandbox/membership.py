"""Per-device rows kept columnar: a frame sorted by device id, sliced by binary search, plus an overlay.

100,000 devices with ~20 app installs each would be millions of Python objects; a sorted polars frame
answers "rows of device N" in O(log n) and writes (install/uninstall) go to a small overlay instead.
"""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["DeviceRows", "Membership"]


def _is_sorted(frame: pl.DataFrame, cols: list[str]) -> bool:
    """Lexicographic order check without a copy (the simulator already emits id-ordered rows)."""
    if not frame.get_column(cols[0]).is_sorted():
        return False
    if len(cols) == 1:
        return True
    # Within equal leading keys the next key must not decrease (checked for two keys, enough here).
    same = frame.get_column(cols[0]).diff().fill_null(1) == 0
    step = frame.get_column(cols[1]).cast(pl.Int64, strict=False).diff().fill_null(0)
    return bool((~same | (step >= 0)).all()) if len(cols) == 2 else False


class DeviceRows:
    """Read-only rows of a frame per `device_id` (telemetry, threat signals, app usage)."""

    def __init__(self, frame: pl.DataFrame, order: list[str] | None = None) -> None:
        sort_cols = ["device_id", *(order or [])]
        self.frame = frame if frame.height == 0 or _is_sorted(frame, sort_cols) else frame.sort(sort_cols)
        self._ids = (
            self.frame.get_column("device_id") if frame.height else pl.Series("device_id", [], pl.Int64)
        )

    def slice(self, device_id: int) -> pl.DataFrame:
        if self.frame.height == 0:
            return self.frame
        lo = int(self._ids.search_sorted(device_id, side="left"))
        hi = int(self._ids.search_sorted(device_id, side="right"))
        return self.frame.slice(lo, hi - lo)

    def rows(self, device_id: int) -> list[dict[str, Any]]:
        return self.slice(device_id).to_dicts()


class Membership:
    """Device → item membership (app installs, device profiles) with writes in an overlay."""

    def __init__(self, frame: pl.DataFrame, item_col: str, extra: str | None = None) -> None:
        self.item_col = item_col
        self.extra = extra
        self._base = DeviceRows(frame, [item_col])
        self.added: dict[int, dict[int, Any]] = {}
        self.removed: set[tuple[int, int]] = set()
        self._base_counts: dict[int, int] | None = None

    def items(self, device_id: int) -> dict[int, Any]:
        """item id → extra value (e.g. installed_on) for one device, overlay applied."""
        part = self._base.slice(device_id)
        out: dict[int, Any] = {}
        if part.height:
            items = part.get_column(self.item_col).to_list()
            extras = part.get_column(self.extra).to_list() if self.extra else [None] * len(items)
            out = {i: e for i, e in zip(items, extras, strict=True) if (device_id, i) not in self.removed}
        out.update(self.added.get(device_id, {}))
        return out

    def has(self, device_id: int, item_id: int) -> bool:
        return item_id in self.items(device_id)

    def add(self, device_id: int, item_id: int, extra: Any = None) -> bool:
        """Returns False when already a member (the write is then a no-op)."""
        if self.has(device_id, item_id):
            return False
        if (device_id, item_id) in self.removed:
            self.removed.discard((device_id, item_id))  # back to the base row
        else:
            self.added.setdefault(device_id, {})[item_id] = extra
        return True

    def remove(self, device_id: int, item_id: int) -> bool:
        if not self.has(device_id, item_id):
            return False
        mine = self.added.get(device_id, {})
        if item_id in mine:
            del mine[item_id]
        else:
            self.removed.add((device_id, item_id))
        return True

    def devices_of(self, item_id: int) -> list[int]:
        frame = self._base.frame
        base: set[int] = set()
        if frame.height:
            base = set(frame.filter(pl.col(self.item_col) == item_id).get_column("device_id").to_list())
        base -= {d for d, i in self.removed if i == item_id}
        base |= {d for d, items in self.added.items() if item_id in items}
        return sorted(base)

    def count(self, item_id: int) -> int:
        """Members of one item (installs of an app), overlay applied; base counts computed once."""
        if self._base_counts is None:
            frame = self._base.frame
            self._base_counts = dict(frame.group_by(self.item_col).len().iter_rows()) if frame.height else {}
        n = self._base_counts.get(item_id, 0)
        n -= sum(1 for _, i in self.removed if i == item_id)
        n += sum(1 for items in self.added.values() if item_id in items)
        return n

    def frame(self) -> pl.DataFrame:
        """The current membership as a frame (base rows minus removals plus additions)."""
        base = self._base.frame
        if self.removed and base.height:
            gone = pl.DataFrame(
                {"device_id": [d for d, _ in self.removed], self.item_col: [i for _, i in self.removed]},
                schema={"device_id": pl.Int64, self.item_col: base.schema[self.item_col]},
            )
            base = base.join(gone, on=["device_id", self.item_col], how="anti")
        extra_rows = [(d, i, e) for d, items in self.added.items() for i, e in items.items()]
        if extra_rows:
            cols: dict[str, list[Any]] = {
                "device_id": [r[0] for r in extra_rows],
                self.item_col: [r[1] for r in extra_rows],
            }
            if self.extra:
                cols[self.extra] = [r[2] for r in extra_rows]
            added = pl.DataFrame(cols, schema={c: base.schema[c] for c in cols})
            base = pl.concat([base.select(list(cols)), added]).sort(["device_id", self.item_col])
        return base
