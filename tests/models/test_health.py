"""Failure model: time split, determinism, no leakage at scoring, thresholds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models import pipeline
from models.data import last_date, load_tables
from models.features import health_features
from models.health import (
    HealthConfig,
    days_span,
    fit_health,
    likely_components,
    predict_proba,
    score_health,
    snapshots,
    train_health,
)
from models.health_training import keep_sampled, snapshot_dates, table_training_snapshots
from models.metrics import choose_threshold, ranking_metrics, threshold_metrics
from models.registry import IncompatibleModelError, read_card, sidecar_path


def test_training_window_precedes_validation(health_model: Path) -> None:
    card = read_card(health_model)
    train_end = dt.date.fromisoformat(card.training_window[1])
    valid_start = dt.date.fromisoformat(card.metrics["validation_window"][0])
    horizon = card.params["config"]["horizon_days"]
    assert valid_start > train_end
    # Training labels end by the split: as-of + horizon <= split, so no label peeks into validation.
    assert card.training_window[0] < card.training_window[1]
    # The validation period holds failures (otherwise the threshold was chosen on nothing).
    assert card.metrics["validation"]["positives"] > 0 and horizon == 14


def test_scoring_ignores_rows_after_as_of(health_model: Path, fleet_dir: Path, tmp_path: Path) -> None:
    as_of = last_date(fleet_dir) - dt.timedelta(days=40)
    full = pipeline.score("health", fleet_dir, health_model, as_of)
    cut = tmp_path / "cut"
    cut.mkdir()
    for f in fleet_dir.glob("*.parquet"):
        frame = pl.read_parquet(f)
        for col in ("date", "installed_on"):
            if col in frame.columns:
                frame = frame.filter(pl.col(col) <= as_of)
        frame.write_parquet(cut / f.name)
    assert pipeline.score("health", cut, health_model, as_of).equals(full)


def test_training_is_deterministic(fleet_dir: Path, health_model: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.skops"
    pipeline.train("health", fleet_dir, again, {"seed": 0, "max_iter": 60, "horizon_days": 14})
    a = pipeline.score("health", fleet_dir, health_model)
    b = pipeline.score("health", fleet_dir, again)
    assert a.drop("model_version").equals(b.drop("model_version"))


def test_threshold_by_cost_and_by_budget() -> None:
    scored = pl.DataFrame(
        {
            "as_of": [dt.date(2026, 1, 1)] * 5 + [dt.date(2026, 1, 8)] * 5,
            "label": [1, 0, 0, 0, 0, 1, 1, 0, 0, 0],
            "score": [0.9, 0.8, 0.2, 0.1, 0.0, 0.7, 0.6, 0.5, 0.1, 0.0],
        }
    )
    # A miss costs 10 false alarms: alert down to 0.6 catches all three positives for one false alarm.
    assert choose_threshold(scored, cost_miss=10, cost_false_alarm=1) == 0.6
    # Two alerts a week: the 2nd-highest score per week, averaged.
    assert choose_threshold(scored, 10, 1, weekly_budget=2) == (0.8 + 0.6) / 2


def _with_precursors(tel: pl.DataFrame, ids: dict[str, int], as_of: dt.date) -> pl.DataFrame:
    """The last 10 days of three devices rewritten: a battery losing 15 points, a disk filling, panics."""
    back = (pl.lit(as_of) - pl.col("date")).dt.total_days()
    late = back < 10
    ramp = (10 - back).cast(pl.Float64) / 10.0
    dev = pl.col("device_id")
    return tel.with_columns(
        pl.when(late & (dev == ids["battery"]))
        .then(pl.col("battery_health_pct") - 15.0 * ramp)
        .otherwise(pl.col("battery_health_pct"))
        .alias("battery_health_pct"),
        pl.when(late & (dev == ids["storage"]))
        .then(60.0 + 39.0 * ramp)
        .otherwise(pl.col("storage_used_pct"))
        .alias("storage_used_pct"),
        pl.when(late & (dev == ids["logic_board"]))
        .then(pl.lit(2, dtype=pl.Int64))
        .otherwise(pl.col("kernel_panic_count"))
        .alias("kernel_panic_count"),
    )


def test_component_follows_the_evidence_without_a_classifier(fleet_dir: Path) -> None:
    tables = load_tables(fleet_dir, ["devices", "telemetry", "failures"])
    # A small tenant whose failures were all storage: no component classifier can be trained.
    tables["failures"] = tables["failures"].with_columns(component=pl.lit("storage"))
    model, _ = train_health(tables, HealthConfig(max_iter=20))
    assert model.component is None and model.default_component == "storage"
    tel, as_of = tables["telemetry"], last_date(fleet_dir)
    # Devices reporting every one of the last 30 days, with a battery, no failure, no panics.
    steady = (
        tel.filter(pl.col("date") > as_of - dt.timedelta(days=30))
        .group_by("device_id")
        .agg(
            pl.len().alias("n"),
            pl.col("battery_health_pct").null_count().alias("nb"),
            pl.col("kernel_panic_count").sum().alias("kp"),
        )
        .filter((pl.col("n") == 30) & (pl.col("nb") == 0) & (pl.col("kp") == 0))
        .join(tables["failures"].select("device_id"), on="device_id", how="anti")
        .sort("device_id")["device_id"]
    )
    ids = dict(zip(("battery", "storage", "logic_board"), steady.head(3).to_list(), strict=True))
    tel = _with_precursors(tel, ids, as_of)
    feats = health_features(
        tables["devices"].filter(pl.col("device_id").is_in(list(ids.values()))), tel, [as_of]
    )
    named = likely_components(model, feats, reasons=True).with_columns(feats["device_id"])
    got = {r["device_id"]: r for r in named.iter_rows(named=True)}
    for comp, device in ids.items():
        assert got[device]["likely_component"] == comp, got[device]
    # The reasons state facts of the input telemetry.
    window = tel.filter(pl.col("date") > as_of - dt.timedelta(days=14))
    panics = int(window.filter(pl.col("device_id") == ids["logic_board"])["kernel_panic_count"].sum())
    assert got[ids["logic_board"]]["component_reason"] in (
        f"{panics} kernel panics in 14 days",
        f"kernel panics on {10 / 14:.0%} of the last 14 days",
    )
    assert got[ids["battery"]]["component_reason"].startswith("battery health")
    assert got[ids["storage"]]["component_reason"].startswith("storage")
    # Scoring names the same components.
    scored = score_health(model, tables["devices"], tel, as_of, "t")
    for comp, device in ids.items():
        assert scored.filter(pl.col("device_id") == device)["likely_component"].item() == comp


def test_old_health_parameters_are_refused(health_model: Path, fleet_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old.skops"
    copy.write_bytes(health_model.read_bytes())
    side = json.loads(sidecar_path(health_model).read_text())
    side["params"].pop("format")
    sidecar_path(copy).write_text(json.dumps(side))
    with pytest.raises(IncompatibleModelError, match="format 1"):
        pipeline.score("health", fleet_dir, copy)


def test_blocked_training_keeps_the_same_rows_and_model_for_any_block_size(fleet_dir: Path) -> None:
    tables = load_tables(fleet_dir, ["devices", "telemetry", "failures"])
    cfg = HealthConfig(max_iter=20)
    one, plan = table_training_snapshots(tables, cfg, block_devices=10_000)
    many, plan_many = table_training_snapshots(tables, cfg, block_devices=97)
    assert plan == plan_many and one.equals(many)
    # What is kept: every positive (weight 1), and negatives standing for all of their period's.
    assert one.filter(pl.col("label") == 1)["w"].unique().to_list() == [1.0]
    train = one.filter(pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= plan.split)
    assert int(train["label"].sum()) == plan.train_positives
    negs = train.filter(pl.col("label") == 0)
    assert 0 < negs.height < plan.train_negatives
    assert negs["w"].sum() == pytest.approx(plan.train_negatives, rel=0.15)
    # The same rows as sampling every snapshot in memory, and the same model.
    dates = snapshot_dates(days_span(tables["telemetry"]), cfg)
    assert (
        keep_sampled(snapshots(tables, dates, cfg.horizon_days), plan, cfg)
        .sort("device_id", "as_of")
        .equals(one)
    )
    a, _ = fit_health(one, cfg, None, plan)
    b, _ = fit_health(many, cfg, None, plan)
    probe = one.head(500)
    assert a.threshold == b.threshold and (predict_proba(a, probe) == predict_proba(b, probe)).all()


def test_validation_negatives_are_capped_and_reweighted(fleet_dir: Path) -> None:
    tables = load_tables(fleet_dir, ["devices", "telemetry", "failures"])
    cfg = HealthConfig(max_iter=20, valid_negatives=1_000)
    snaps, plan = table_training_snapshots(tables, cfg, block_devices=250)
    assert plan.valid_negatives > 3_000 and plan.valid_neg_rate < 1.0
    valid = snaps.filter(pl.col("as_of") > plan.split)
    negs = valid.filter(pl.col("label") == 0)
    assert 700 < negs.height < 1_300
    assert negs["w"].sum() == pytest.approx(plan.valid_negatives, rel=0.15)
    assert valid.filter(pl.col("label") == 1)["w"].unique().to_list() == [1.0]
    _, scored = fit_health(snaps, cfg, None, plan)
    assert scored.height == valid.height and "w" in scored.columns


def test_weighted_threshold_equals_the_one_on_duplicated_rows() -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pl.DataFrame(
        {
            "as_of": [dt.date(2026, 1, 1) + dt.timedelta(days=7 * (i % 4)) for i in range(n)],
            "label": (rng.random(n) < 0.1).astype(np.int8),
            "score": rng.permutation(n) / n,  # distinct scores: no ties to order arbitrarily
            "w": rng.integers(1, 6, n).astype(np.float64),
        }
    )
    frame = frame.with_columns(pl.col("score") + 0.3 * pl.col("label"))
    copies = frame.drop("w").select(pl.all().gather(np.repeat(np.arange(n), frame["w"].cast(pl.Int64))))
    for miss, budget in ((4, None), (10, None), (10, 5), (10, 23)):
        weighted = choose_threshold(frame, miss, 1, budget)
        assert weighted == choose_threshold(copies, miss, 1, budget)
        # The weights matter: ignoring them gives another threshold here.
        if miss != 10 or budget is not None:
            assert weighted != choose_threshold(frame.drop("w"), miss, 1, budget)
    y, s, w = frame["label"].to_numpy(), frame["score"].to_numpy(), frame["w"].to_numpy()
    yc, sc = copies["label"].to_numpy(), copies["score"].to_numpy()
    assert threshold_metrics(y, s, 0.5, w) == pytest.approx(threshold_metrics(yc, sc, 0.5))
    got, want = ranking_metrics(y, s, w), ranking_metrics(yc, sc)
    for k in ("roc_auc", "pr_auc", "recall_at_5pct_fpr"):
        assert got[k] == pytest.approx(want[k])


def test_a_fleet_without_dates_or_batteries_trains_and_scores(fleet_dir: Path, tmp_path: Path) -> None:
    """Desktops only, no purchase/warranty/enrolment dates known: whole feature columns without a value
    (device age, battery signals) used to stop the fit inside scikit-learn's binning."""
    data = tmp_path / "sparse"
    data.mkdir()
    for f in fleet_dir.glob("*.parquet"):
        frame = pl.read_parquet(f)
        if f.stem == "devices":
            frame = frame.with_columns(
                pl.lit(None).alias(c) for c in ("enrolled_on", "purchase_date", "warranty_end")
            )
        if f.stem == "telemetry":
            frame = frame.with_columns(
                pl.lit(None).alias(c) for c in ("battery_health_pct", "battery_cycles")
            )
        frame.write_parquet(data / f.name)
    model = tmp_path / "h.skops"
    pipeline.train("health", data, model, {"max_iter": 40})
    metrics, _ = pipeline.evaluate("health", data, model)
    assert metrics["snapshots"] > 0 and 0.0 <= metrics["roc_auc"] <= 1.0
    scores = pipeline.score("health", data, model, None)
    assert scores.height == 600 and scores["failure_probability"].is_between(0, 1).all()


def test_evaluation_by_blocks_of_devices_equals_the_whole_fleet(
    health_model: Path, other_fleet_dir: Path
) -> None:
    from models.health_eval import evaluate_health, evaluation_dates, health_metrics, score_snapshots
    from models.health_training import memory_blocks

    model, _card = pipeline._health_load(health_model)
    tables = load_tables(other_fleet_dir, ["devices", "telemetry", "failures"])
    whole, whole_rows = evaluate_health(model, tables)
    dates = evaluation_dates(days_span(tables["telemetry"]), model.config.horizon_days)
    parts = [score_snapshots(model, t, dates) for t in memory_blocks(tables, 97)]
    assert len(parts) > 3
    blocked, rows = health_metrics(model, parts, tables["failures"], dates)
    assert blocked == whole and whole["positives"] > 0 and whole["lead_time"]["failures"] > 0
    assert rows.equals(whole_rows)
    # What the CLI evaluates (blocks read from the parquet) is the same again.
    said: list[str] = []
    cli, _ = pipeline.evaluate("health", other_fleet_dir, health_model, progress=said.append)
    assert said[0].endswith("devices block 1 of 1") and said[-1] == "metrics"  # what the CLI's spinner shows
    assert {k: v for k, v in cli.items() if k not in ("model_version", "same_fleet_as_training")} == whole


def test_a_block_without_recent_telemetry_is_scored_and_an_empty_window_is_refused(
    health_model: Path, fleet_dir: Path, tmp_path: Path
) -> None:
    from models.health import score_health

    model, card = pipeline._health_load(health_model)
    tables = load_tables(fleet_dir, ["devices", "telemetry"])
    as_of = last_date(fleet_dir)
    # A block of devices none of which reported in the 30 days (retired ones, say): scored, not a crash.
    quiet = tables["telemetry"].filter(pl.col("date") < as_of - dt.timedelta(days=40))
    out = score_health(model, tables["devices"], quiet, as_of, card.model_version)
    assert out.height > 0 and out["failure_probability"].is_between(0, 1).all()
    with pytest.raises(ValueError, match=r"no telemetry in the 30 days up to 2030-01-01 \(telemetry spans"):
        pipeline.score("health", fleet_dir, health_model, dt.date(2030, 1, 1))
