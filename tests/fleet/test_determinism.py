"""Same parameters give identical frames; a different seed gives a different company."""

from __future__ import annotations

from datetime import date

import pytest
from polars.testing import assert_frame_equal

from ws1ai.sandbox.fleet import CONTRACT, DEFAULT_END, generate_fleet


def test_same_parameters_identical_frames() -> None:
    a = generate_fleet(400, seed=3, days=90)
    b = generate_fleet(400, seed=3, days=90)
    for name in CONTRACT:
        assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.end == DEFAULT_END and (a.end - a.start).days == 89


def test_different_seed_differs() -> None:
    a = generate_fleet(400, seed=3, days=30)
    b = generate_fleet(400, seed=4, days=30)
    assert not a.devices.equals(b.devices)
    assert not a.telemetry.equals(b.telemetry)


def test_window_follows_end_and_days() -> None:
    f = generate_fleet(200, seed=1, days=10, end=date(2025, 3, 31))
    assert f.start == date(2025, 3, 22)
    assert f.telemetry["date"].min() >= f.start and f.telemetry["date"].max() <= f.end  # type: ignore[operator]
    assert f.devices["enrolled_on"].max().date() <= f.end  # type: ignore[union-attr]


def test_tiny_and_empty_fleets() -> None:
    for n in (0, 1, 5):
        f = generate_fleet(n, seed=2, days=1)
        assert f.devices.height == n
        assert f.employees.height >= 1


def test_one_day_large_fleet_has_most_devices_reporting() -> None:
    f = generate_fleet(5000, seed=9, days=1)
    assert f.devices.height == 5000
    assert 0.6 * 5000 < f.telemetry.height < 5000


def test_progress_reports_every_device_and_install() -> None:
    seen: dict[str, list[int]] = {}

    def progress(stage: str, advanced: int, total: int) -> None:
        seen.setdefault(stage, []).append(advanced)
        assert advanced <= total

    f = generate_fleet(700, seed=5, days=200, progress=progress)
    assert sum(seen["telemetry"]) == 700
    assert sum(seen["app usage"]) == f.app_installs.height


@pytest.mark.slow
def test_hundred_thousand_devices_one_day() -> None:
    f = generate_fleet(100_000, seed=1, days=1)
    assert f.devices.height == 100_000
    assert f.devices["device_id"].is_unique().all() and f.devices["serial_number"].is_unique().all()
    assert 0.6 * 100_000 < f.telemetry.height < 100_000
