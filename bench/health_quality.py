"""Failure-model quality next to a plain reference, on fleets it did not train on.

Trains the health model on one team-simulator fleet and evaluates it, like `ws1ai models evaluate health`,
on every evaluable day of a second simulator fleet and of a `models.synth` fleet (different dynamics). The
reference is a plain HistGradientBoostingClassifier (library defaults) on the same window features and the
same training snapshots: no subsampling, weights, base rates or tuning. With --same-fleet it also follows
the CLI's protocol on each evaluation fleet (train on it, evaluate on its days after the training window).
Snapshot frames are cached under --cache, so repeated runs only refit.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.health_quality --cache CACHE_DIR [--same-fleet]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from models.data import load_tables
from models.features import feature_columns
from models.health import HealthConfig, days_span, fit_health, predict_proba, snapshots
from models.health_eval import evaluation_dates
from models.health_training import snapshot_dates
from models.metrics import ranking_metrics, threshold_metrics

TABLES = ["devices", "telemetry", "failures"]


def _fleet_dir(cache: Path, name: str, devices: int, days: int, seed: int) -> Path:
    out = cache / name
    if (out / "failures.parquet").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    if name.startswith("synth"):
        from models.synth import synth_fleet

        frames = synth_fleet(devices=devices, days=days, seed=seed)
        for t in TABLES:
            frames[t].write_parquet(out / f"{t}.parquet")
    else:
        from ws1ai.sandbox.fleet import generate_fleet, write_fleet

        write_fleet(generate_fleet(devices=devices, seed=seed, days=days), out)
    return out


def _cached(path: Path, build: Any) -> pl.DataFrame:
    if path.exists():
        return pl.read_parquet(path)
    frame: pl.DataFrame = build()
    frame.write_parquet(path)
    return frame


def _eval_snaps(data: Path, cache: Path, horizon: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    tables = load_tables(data, TABLES)
    dates = evaluation_dates(days_span(tables["telemetry"]), horizon)
    snaps = _cached(cache / f"{data.name}.eval.parquet", lambda: snapshots(tables, dates, horizon, False))
    return snaps, tables["failures"]


def _all_snapshots(tables: dict[str, pl.DataFrame], cfg: HealthConfig) -> pl.DataFrame:
    """Every training snapshot, unsampled: the reference fits on all of them; `fit_health` samples them
    itself, keeping exactly the rows the blocked builder of `training_snapshots` keeps."""
    dates = snapshot_dates(days_span(tables["telemetry"]), cfg)
    return snapshots(tables, dates, cfg.horizon_days)


def _report(
    y: np.ndarray[Any, Any], s: np.ndarray[Any, Any], dtf: np.ndarray[Any, Any], thr: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: round(v, 3) if v is not None else None for k, v in ranking_metrics(y, s).items()
    }
    neg = np.sort(s[y == 0])
    t5 = float(neg[int(0.95 * (len(neg) - 1))]) if len(neg) else 1.0  # the 5 % FPR operating point
    tp = (s > t5) & (y == 1)
    out["median_tp_lead_at_5pct_fpr"] = float(np.median(dtf[tp])) if tp.any() else None
    if thr is not None:
        at = threshold_metrics(y, s, thr)
        tp = (s >= thr) & (y == 1)
        out["at_threshold"] = {k: round(at[k], 3) for k in ("precision", "recall", "fpr")}
        out["at_threshold"]["median_tp_lead"] = float(np.median(dtf[tp])) if tp.any() else None
    out["ceiling_top_1pct"] = round(min(1.0, float(y.sum()) / max(1, round(0.01 * len(y)))), 3)
    return out


def reference(train: pl.DataFrame, seed: int = 0) -> tuple[HistGradientBoostingClassifier, list[str]]:
    feats = feature_columns(train.drop("label", "days_to_failure"))
    x = train.select([pl.col(c).cast(pl.Float64) for c in feats]).to_numpy()
    return HistGradientBoostingClassifier(random_state=seed).fit(x, train["label"].to_numpy()), feats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--devices", type=int, default=3000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--max-iter", type=int, default=150)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--same-fleet", action="store_true", help="also train and evaluate on each fleet itself")
    args = ap.parse_args()
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    cfg = HealthConfig(max_iter=args.max_iter)
    train_dir = _fleet_dir(cache, "seed1", args.devices, args.days, 1)
    tables = load_tables(train_dir, TABLES)
    snaps = _cached(cache / "seed1.train.parquet", lambda: _all_snapshots(tables, cfg))
    t0 = time.process_time()
    model, _valid = fit_health(snaps, cfg)
    fit_s = time.process_time() - t0
    ref = None if args.no_reference else reference(snaps.drop("component"))
    results: dict[str, Any] = {"fit_cpu_s": round(fit_s, 1), "threshold": model.threshold}
    evals = {
        "seed2": _fleet_dir(cache, "seed2", args.devices, args.days, 2),
        "synth": _fleet_dir(cache, "synth", args.devices, args.days, 1),
    }
    for name, data in evals.items():
        ev, _fails = _eval_snaps(data, cache, cfg.horizon_days)
        y, dtf = ev["label"].to_numpy(), ev["days_to_failure"].fill_null(-1).to_numpy()
        t0 = time.process_time()
        s = predict_proba(model, ev)
        row = {"ours": _report(y, s, dtf, model.threshold), "score_cpu_s": round(time.process_time() - t0, 2)}
        if ref is not None:
            clf, feats = ref
            x = ev.select([pl.col(c).cast(pl.Float64) for c in feats]).to_numpy()
            row["reference"] = _report(y, clf.predict_proba(x)[:, 1], dtf, None)
        row["snapshots"], row["positives"] = ev.height, int(y.sum())
        results[f"transfer seed1 -> {name}"] = row
    if args.same_fleet:
        # The CLI's own protocol: train on a fleet, evaluate on its days after the training window.
        for name, data in evals.items():
            t = load_tables(data, TABLES)
            own = _cached(cache / f"{name}.train.parquet", lambda t=t: _all_snapshots(t, cfg))
            model, _valid = fit_health(own, cfg)
            end = dt.date.fromisoformat(model.metrics["training_window"][1])
            ev, _fails = _eval_snaps(data, cache, cfg.horizon_days)
            ev = ev.filter(pl.col("as_of") > end)
            y, dtf = ev["label"].to_numpy(), ev["days_to_failure"].fill_null(-1).to_numpy()
            row = {"ours": _report(y, predict_proba(model, ev), dtf, model.threshold)}
            if not args.no_reference:
                early = own.filter(pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= end)
                clf, feats = reference(early.drop("component"))
                x = ev.select([pl.col(c).cast(pl.Float64) for c in feats]).to_numpy()
                row["reference"] = _report(y, clf.predict_proba(x)[:, 1], dtf, None)
            row["snapshots"], row["positives"] = ev.height, int(y.sum())
            results[f"same fleet {name}"] = row
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
