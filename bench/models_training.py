"""Benchmark: train the health model on a generated fleet and print time and peak memory per block size.

Generates a team-simulator fleet (default 10,000 devices x 365 days, seed 7) into --cache (reused when it
is already there) or takes --data DIR, then trains through the CLI's path (`pipeline.train("health", ...)`)
in *fresh* processes, so each peak memory printed is that trainer's own (VmHWM from /proc/self/status, not
ru_maxrss, which would count the parent's memory at the fork):

- all: block size = every device of the fleet: the same code with one block, i.e. what training cost
  before blocks (the baseline for the ratios);
- blocks: the default block size (`models.health_training.BLOCK_DEVICES`).

Both must give the same model: the threshold and the validation metrics of both cards are printed.
CPU is `time.process_time()` (all threads of the process).

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.models_training [--devices 10000 --days 365 | --data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from bench._util import memory_mb


def train_child(data: str, block: int, out: str) -> None:
    """Runs in a fresh process: one training, its wall and CPU time, peak memory and card, as JSON."""
    from models import pipeline
    from models.registry import read_card

    t0, c0 = time.perf_counter(), time.process_time()
    pipeline.train("health", data, out, {"block_devices": block})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    card = read_card(Path(out))
    result = {
        "block": block,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_mb": round(memory_mb(), 1),
        "threshold": card.params["threshold"],
        "validation": card.metrics["validation"],
    }
    print(json.dumps(result))


def _run(data: Path, block: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.models_training", "--child", str(data), str(block), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"training with blocks of {block} failed:\n{res.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def _fleet(args: argparse.Namespace, tmp: Path) -> Path:
    if args.data is not None:
        data: Path = args.data
        return data
    root: Path = args.cache or tmp
    out = root / f"fleet-{args.devices}x{args.days}-seed{args.seed}"
    if not (out / "failures.parquet").exists():
        from ws1ai.sandbox.fleet import generate_fleet, write_fleet

        print(f"generating {args.devices} devices x {args.days} days (seed {args.seed}) ...", flush=True)
        write_fleet(generate_fleet(devices=args.devices, seed=args.seed, days=args.days), out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", type=Path, help="a fleet directory to train on instead of generating one")
    ap.add_argument("--cache", type=Path, help="keep the generated fleet here (reused next time)")
    ap.add_argument("--runs", type=int, default=1, help="fresh processes per block size; the best is shown")
    ap.add_argument("--child", nargs=3, metavar=("DATA", "BLOCK", "OUT"))
    args = ap.parse_args()
    if args.child:
        train_child(args.child[0], int(args.child[1]), args.child[2])
        return
    import polars as pl

    from models.health_training import BLOCK_DEVICES

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = _fleet(args, tmp)
        devices = pl.scan_parquet(data / "devices.parquet").select(pl.len()).collect().item()
        sizes = {"all": max(devices, 1), "blocks": BLOCK_DEVICES}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in sizes}
        for i in range(args.runs):  # interleaved, so a busy moment on a shared machine hits both
            for name, block in sizes.items():
                runs[name].append(_run(data, block, tmp / f"{name}-{i}.skops"))
    best = {k: min(r, key=lambda x: x["wall_s"]) for k, r in runs.items()}
    print(f"health training on {data.name}: {devices} devices; best of {args.runs} fresh process(es)")
    for name, r in best.items():
        v = r["validation"]
        print(
            f"  {name:6s} block {r['block']:>7d} devices: wall {r['wall_s']:7.1f} s, "
            f"cpu {r['cpu_s']:7.1f} s, "
            f"peak {r['peak_mb']:7.0f} MB | threshold {r['threshold']:.6f}, validation ROC-AUC "
            f"{v['roc_auc']:.4f}, PR-AUC {v['pr_auc']:.4f} ({v['snapshots_kept']} rows kept for "
            f"{v['snapshots']} snapshots)"
        )
    a, b = best["all"], best["blocks"]
    print(
        f"  all / blocks: peak memory x{a['peak_mb'] / b['peak_mb']:.2f}, "
        f"wall x{a['wall_s'] / b['wall_s']:.2f}, "
        f"cpu x{a['cpu_s'] / b['cpu_s']:.2f}; same model: "
        f"{'yes' if a['threshold'] == b['threshold'] and a['validation'] == b['validation'] else 'NO'}"
    )


if __name__ == "__main__":
    main()
