"""Benchmark: score 100,000 devices for failure risk (features + model) and print time and memory.

Writes a contract-shaped fleet (random telemetry, 30 days: the longest feature window) to a temporary
directory, trains a small model on an independent synthetic fleet, then scores in a *fresh* process so the
peak memory printed is the scorer's own (Python + libraries + data), not the generator's.

    .venv/bin/python bench/models_scoring.py [--devices 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

END = dt.date(2026, 10, 31)


def write_fleet(out: Path, n: int, days: int = 30, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64)
    keep = rng.random(n * days) > 0.05  # missing days
    dev = np.repeat(ids, days)[keep]
    day = np.tile(np.arange(days), n)[keep]
    dates = (np.datetime64(END - dt.timedelta(days=days - 1), "D") + day).astype("datetime64[D]")
    m = keep.sum()
    pl.DataFrame(
        {
            "device_id": dev,
            "date": dates,
            "battery_health_pct": rng.uniform(60, 100, m),
            "battery_cycles": rng.integers(0, 900, m),
            "storage_used_pct": rng.uniform(5, 95, m),
            "crash_count": rng.poisson(0.2, m),
            "kernel_panic_count": rng.poisson(0.01, m),
            "thermal_event_count": rng.poisson(0.02, m),
        }
    ).with_columns(pl.col("date").cast(pl.Date)).write_parquet(out / "telemetry.parquet")
    from models.synth import synth_fleet

    small = synth_fleet(devices=1, days=2, seed=seed)["devices"]
    big = pl.concat([small] * n).with_columns(pl.Series("device_id", ids))
    big.write_parquet(out / "devices.parquet")


def score_child(data: str, model: str) -> None:
    """Runs in a fresh process: CPU per stage (read+validate, features, predict) and peak memory."""
    from models.data import load_tables
    from models.features import MAX_WINDOW, health_features
    from models.health import predict_proba
    from models.pipeline import _health_load

    t0, c0 = time.perf_counter(), time.process_time()
    hm, _card = _health_load(Path(model))
    c1 = time.process_time()
    tables = load_tables(data, ["devices", "telemetry"], as_of=END, lookback_days=MAX_WINDOW)
    c2 = time.process_time()
    feats = health_features(tables["devices"], tables["telemetry"], [END])
    c3 = time.process_time()
    proba = predict_proba(hm, feats)
    c4 = time.process_time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "devices": int(proba.size),
                "wall_s": round(time.perf_counter() - t0, 3),
                "cpu_s": round(c4 - c0, 3),
                "cpu_load_model_s": round(c1 - c0, 3),
                "cpu_read_s": round(c2 - c1, 3),
                "cpu_features_s": round(c3 - c2, 3),
                "cpu_predict_s": round(c4 - c3, 3),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=100_000)
    ap.add_argument("--child", nargs=2, metavar=("DATA", "MODEL"))
    args = ap.parse_args()
    if args.child:
        score_child(*args.child)
        return
    from models import pipeline
    from models.synth import synth_fleet

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "train").mkdir()
        (root / "score").mkdir()
        for name, frame in synth_fleet(devices=800, days=200, seed=1).items():
            frame.write_parquet(root / "train" / f"{name}.parquet")
        model = root / "health.skops"
        pipeline.train("health", root / "train", model, {"max_iter": 150})
        write_fleet(root / "score", args.devices)
        runs = [
            subprocess.run(
                [sys.executable, __file__, "--child", str(root / "score"), str(model)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for _ in range(3)
        ]
        results = [json.loads(r) for r in runs]
        best = min(results, key=lambda r: r["cpu_s"])
        print(
            f"scored {best['devices']} devices (30 days of telemetry each), best of 3: "
            f"wall {best['wall_s']} s, cpu {best['cpu_s']} s (load model {best['cpu_load_model_s']}, "
            f"read {best['cpu_read_s']}, features {best['cpu_features_s']}, "
            f"predict {best['cpu_predict_s']}), "
            f"peak RSS {best['peak_rss_mb']} MB"
        )
        print("targets: < 1 s compute (features + model), < 500 MB peak")


if __name__ == "__main__":
    main()
