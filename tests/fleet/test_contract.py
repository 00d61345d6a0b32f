"""Every table the simulator writes has exactly the contract's columns and dtypes; errors name the column."""

from __future__ import annotations

import polars as pl
import pytest

from ws1ai.sandbox.fleet import CONTRACT, generate_fleet, validate_contract


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    return generate_fleet(300, seed=7, days=60)


@pytest.mark.parametrize("name", list(CONTRACT))
def test_every_table_matches_contract(fleet, name: str) -> None:  # type: ignore[no-untyped-def]
    frame = getattr(fleet, name)
    validate_contract(name, frame)
    assert list(frame.columns) == list(CONTRACT[name])
    assert frame.height > 0 or name == "failures"


def test_missing_column_is_named(fleet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"telemetry\.crash_count: column missing"):
        validate_contract("telemetry", fleet.telemetry.drop("crash_count"))


def test_wrong_dtype_is_named(fleet) -> None:  # type: ignore[no-untyped-def]
    bad = fleet.devices.with_columns(pl.col("location_group_id").cast(pl.Int32))
    with pytest.raises(ValueError, match=r"devices\.location_group_id: dtype Int32"):
        validate_contract("devices", bad)


def test_extra_column_is_named(fleet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"apps\.vendor"):
        validate_contract("apps", fleet.apps.with_columns(pl.lit("x").alias("vendor")))


def test_unknown_table_rejected() -> None:
    with pytest.raises(ValueError, match="unknown table"):
        validate_contract("gadgets", pl.DataFrame())
