"""Contract validation: every error names the table and the column."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.schemas import ContractError, validate_table


def _telemetry(**overrides: object) -> pl.DataFrame:
    base: dict[str, object] = {
        "device_id": [1, 1],
        "date": [dt.date(2026, 1, 1), dt.date(2026, 1, 2)],
        "battery_health_pct": [91.0, 90.5],
        "battery_cycles": [100, 101],
        "storage_used_pct": [40.0, 41.0],
        "crash_count": [0, 1],
        "kernel_panic_count": [0, 0],
        "thermal_event_count": [0, 0],
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_valid_frame_passes_and_is_normalised() -> None:
    df = _telemetry().with_columns(pl.col("crash_count").cast(pl.Int32), extra=pl.lit("x"))
    out = validate_table("telemetry", df)
    assert out.schema["crash_count"] == pl.Int64
    assert "extra" not in out.columns


def test_missing_column_is_named() -> None:
    with pytest.raises(ContractError, match=r"telemetry\.storage_used_pct: missing column"):
        validate_table("telemetry", _telemetry().drop("storage_used_pct"))


def test_wrong_dtype_is_named() -> None:
    df = _telemetry(crash_count=["0", "1"])
    with pytest.raises(ContractError, match=r"telemetry\.crash_count: dtype is String"):
        validate_table("telemetry", df)


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("battery_health_pct", [180.0, 90.0], "above"),
        ("crash_count", [-1, 0], "below"),
        ("storage_used_pct", [-3.0, 50.0], "below"),
    ],
)
def test_impossible_values_are_named(column: str, values: list[object], pattern: str) -> None:
    with pytest.raises(ContractError, match=rf"telemetry\.{column}: .*{pattern}"):
        validate_table("telemetry", _telemetry(**{column: values}))


def test_rows_after_as_of_are_rejected() -> None:
    with pytest.raises(ContractError, match=r"telemetry\.date: 1 row\(s\) dated after the as-of date"):
        validate_table("telemetry", _telemetry(), as_of=dt.date(2026, 1, 1))


def test_enum_and_null_checks() -> None:
    threats = pl.DataFrame(
        {"device_id": [1], "date": [dt.date(2026, 1, 1)], "edr_risk_score": [1.5], "source": ["edr"]}
    )
    with pytest.raises(ContractError, match=r"threat_signals\.edr_risk_score"):
        validate_table("threat_signals", threats)
    failures = pl.DataFrame(
        {"device_id": [None, 2], "failed_on": [dt.date(2026, 1, 1)] * 2, "component": ["battery", "storage"]},
        schema_overrides={"device_id": pl.Int64},
    )
    with pytest.raises(ContractError, match=r"failures\.device_id: 1 null"):
        validate_table("failures", failures)


def test_pandas_style_columns_are_read_as_the_same_values() -> None:
    """datetime64 at midnight for a date, float64 with NaN for an integer count with gaps, NaN readings."""
    df = _telemetry(
        date=[dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)],
        crash_count=[0.0, float("nan")],
        battery_health_pct=[float("nan"), 90.5],
    ).with_columns(pl.col("date").cast(pl.Datetime("ns")))
    out = validate_table("telemetry", df, as_of=dt.date(2026, 1, 2))
    assert out["date"].to_list() == [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    assert out.schema["crash_count"] == pl.Int64 and out["crash_count"].to_list() == [0, None]
    assert out["battery_health_pct"].to_list() == [None, 90.5]


def test_zoned_midnights_and_iso_strings_are_dates() -> None:
    zoned = pl.Series([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)]).dt.replace_time_zone("UTC")
    assert validate_table("telemetry", _telemetry(date=zoned))["date"][1] == dt.date(2026, 1, 2)
    assert validate_table("telemetry", _telemetry(date=["2026-01-01", "2026-01-02"]))["date"][0] == dt.date(
        2026, 1, 1
    )


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        (
            "date",
            [dt.datetime(2026, 1, 1, 9, 30), dt.datetime(2026, 1, 2)],
            "dtype is Datetime.* with 1 value.* not at midnight",
        ),
        ("date", ["2026-01-01", "01/02/2026"], "1 value.* not YYYY-MM-DD"),
        ("crash_count", [0.0, 1.5], "1 non-integer value"),
    ],
)
def test_lossy_conversions_are_still_refused(column: str, values: list[object], pattern: str) -> None:
    with pytest.raises(ContractError, match=rf"telemetry\.{column}: {pattern}"):
        validate_table("telemetry", _telemetry(**{column: values}))


def test_personal_data_is_optional_and_never_returned() -> None:
    devices = pl.DataFrame(
        {
            "device_id": [1],
            "uuid": ["u1"],
            "platform": ["WinRT"],
            "model": ["m"],
            "os_version": ["10"],
            "ownership": ["C"],
            "department": ["Sales"],
            "role": ["AE"],
            "location_group_id": [7],
            "enrolled_on": [dt.datetime(2025, 1, 1)],
            "last_seen": [dt.datetime(2026, 1, 1)],
            "compliance_status": ["Compliant"],
            "compromised": [False],
            "encrypted": [True],
            "purchase_date": [dt.date(2024, 12, 1)],
            "warranty_end": [dt.date(2027, 12, 1)],
        }
    )
    out = validate_table("devices", devices)  # no serial number, user name or e-mail: still valid
    with_pii = devices.with_columns(
        serial_number=pl.lit("C02XYZ"), user_name=pl.lit("Ann Lee"), user_email=pl.lit("ann@example.com")
    )
    assert validate_table("devices", with_pii).equals(out)
    assert not {"serial_number", "user_name", "user_email"} & set(out.columns)
    with pytest.raises(ContractError, match=r"devices\.platform: missing column"):
        validate_table("devices", devices.drop("platform"))
