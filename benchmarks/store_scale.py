"""``harness report`` over synthetic result sets of 10k, 100k and 1M trials: wall time and peak memory.

    PYTHONPATH=. python benchmarks/store_scale.py [--sizes 10000 100000 1000000] [--stats-up-to 100000]
                                                  [--small 2000] [--dir /tmp/store_scale]

Each set is one compacted suite (what ``harness compact`` leaves) of N trials in N/100 studies (1M: 10,000
studies): 12 studies per scale (4 methods x 3 budgets), 96 tuning trials and 4 final seeds each, with 10-point
curves. Every measurement runs in a fresh process (``/usr/bin/time``-style: wall seconds and the child's peak RSS):

- ``report``: the real command, ``harness report results=DIR --format csv`` (read + statistics + printing);
- ``read``: ``store.read_results(DIR, columns=report.ROW_COLUMNS)`` alone (the store's part, imports excluded;
  its MB is the whole process's peak, imports included);
- ``stats``: ``report.board`` on rows already read (the bootstrap leaderboard, issue 15's part), up to
  ``--stats-up-to`` trials (it grows with the studies, not the store).

``--small N`` also writes N one-file-per-trial rows and times ``read_results`` before and after ``harness compact``.
Targets: 1M trials read in <= 10 s and <= 2 GB. Growth per trial = (t(1M) - t(100k)) / 900k.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness import store

METHODS, BUDGETS, PER_STUDY, FINALS, POINTS = ("adamw", "muon", "sgd", "lion"), (0.5, 1.0, 2.0), 100, 4, 10
FACTORS = {"adamw": 1.0, "muon": 1.3, "sgd": 0.7, "lion": 1.05}


def synthetic(n: int, start: int, rng) -> pa.Table:
    """Rows ``start .. start+n`` of the synthetic suite (a whole number of studies)."""
    k = np.arange(start, start + n)
    study, within = k // PER_STUDY, k % PER_STUDY
    scale, rest = study // 12, study % 12
    method = np.array(METHODS)[rest // 3]
    budget = np.array(BUDGETS)[rest % 3]
    final = within >= PER_STUDY - FINALS
    lr = np.where(final, 3e-3, 10 ** rng.uniform(-4, -2, n))
    factor = np.vectorize(FACTORS.get)(method)
    loss = 1.5 + 8 * (factor * budget * 1e5 / 1e5) ** -0.3 + 0.5 * np.log10(lr / 3e-3) ** 2 + rng.normal(0, 0.01, n)
    steps = (np.linspace(0.1, 1, POINTS)[None, :] * 1000 * budget[:, None]).astype(np.int64)
    curve = loss[:, None] + np.linspace(2, 0, POINTS)[None, :]

    def lists(values, typ):
        return pa.ListArray.from_arrays(pa.array(np.arange(0, n * POINTS + 1, POINTS, dtype=np.int32)),
                                        pa.array(values.ravel(), typ))

    cols = {
        "trial_id": pa.array([f"{i:016x}" for i in k]), "run_id": pa.array(["synthetic"] * n), "suite": "synthetic",
        "phase": pa.array(np.where(final, "final", "tune")), "workload": "gpt",
        "scale": pa.array([f"s{i}" for i in scale]), "params": pa.array(np.full(n, 40_000)),
        "budget_tokens": pa.array((budget * 800_000).astype(np.int64)), "budget_multiple": pa.array(budget),
        "method": pa.array(method), "kind": "optimizer", "seed": pa.array(np.where(final, within % FINALS + 1, 0)),
        "study_id": pa.array([f"st{i}" for i in study]), "hp_lr": pa.array(lr), "status": "ok",
        "hparams_json": pa.array([json.dumps({"lr": float(x)}) for x in lr]),
        "search_space_json": json.dumps({"lr": {"LogUniform": [1e-4, 1e-2]}}),
        "final_val_loss": pa.array(loss), "final_val_metric": pa.array(loss / np.log(2)),
        "val_metric_name": "bits_per_token", "reached_target": pa.array(np.ones(n, bool)),
        "train_time_s": pa.array(budget * 10), "step_time_ms_p50": pa.array(np.full(n, 10.0)),
        "time_to_target_s": pa.array(budget * 5), "steps_to_target": pa.array((budget * 500).astype(np.int64)),
        "energy_method": "none", "device": "cpu", "curve_step": lists(steps, pa.int64()),
        "curve_val_loss": lists(curve, pa.float64()), "curve_train_loss": lists(curve, pa.float64()),
        "curve_time_s": lists(steps / 100.0, pa.float64()),
    }
    arrays = []
    for f in store.SCHEMA:
        v = cols.get(f.name)
        arrays.append(pa.nulls(n, f.type) if v is None else pa.array([v] * n, f.type) if isinstance(v, str)
                      else v.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=store.SCHEMA)


def make_set(folder: Path, n: int) -> Path:
    """One compacted suite of ``n`` trials (reused if already there)."""
    out = folder / "suite=synthetic" / "compacted-00000000000000000000-0.parquet"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        with pq.ParquetWriter(out.with_suffix(".tmp"), store.SCHEMA, compression="zstd") as w:
            for start in range(0, n, 100_000):
                w.write_table(synthetic(min(100_000, n - start), start, rng), row_group_size=65_536)
        out.with_suffix(".tmp").rename(out)
    return out


CHILD = """
import resource, sys, time
from harness import report, store
t0 = time.perf_counter()
rows, _ = store.read_results(sys.argv[1], columns=report.ROW_COLUMNS)
t1 = time.perf_counter()
if sys.argv[2] == "stats":
    report.board(rows, "adamw")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def child(args: list[str], timeout: float) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
               "print(time.perf_counter() - t, peak, r.returncode)")
    out = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, timeout=timeout)
    wall, mb, rc = out.stdout.split()
    if rc != "0":
        raise RuntimeError(f"{args} exited {rc}")
    return float(wall), float(mb)


def in_child(folder: Path, part: str, timeout: float) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), part], capture_output=True, text=True,
                         timeout=timeout, check=True)
    read_s, stats_s, mb = map(float, out.stdout.split())
    return read_s, stats_s, mb


def small_files(folder: Path, n: int) -> None:
    """``n`` one-file-per-trial rows: read, compact, read again."""
    rng = np.random.default_rng(1)
    table = synthetic(n, 0, rng)
    for r in table.to_pylist():
        store.write_row(folder, r)
    read = time.perf_counter()
    store.read_results(folder)
    read = time.perf_counter() - read
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "compact", f"results={folder}"], check=True,
                   stdout=subprocess.DEVNULL)
    t = time.perf_counter() - t
    after = time.perf_counter()
    store.read_results(folder)
    after = time.perf_counter() - after
    print(f"{n} small files: read_results {read:.2f} s; harness compact {t:.2f} s; read_results after {after:.3f} s "
          f"({read / after:.0f}x)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--stats-up-to", type=int, default=100_000)
    p.add_argument("--small", type=int, default=0)
    p.add_argument("--dir", type=Path, default=Path("/tmp/store_scale"))
    args = p.parse_args()
    print("trials  studies  file MB | report s  report MB | read s  read MB | stats s (leaderboard)")
    measured = {}
    for n in args.sizes:
        folder = args.dir / f"n{n}"
        size = make_set(folder, n).stat().st_size / 2**20
        report_s, report_mb = child([sys.executable, "-m", "harness", "report", f"results={folder}", "--format", "csv"],
                                    3600) if n <= args.stats_up_to else (np.nan, np.nan)
        read_s, _, read_mb = in_child(folder, "read", 600)
        stats_s = in_child(folder, "stats", 3600)[1] if n <= args.stats_up_to else np.nan
        measured[n] = read_s
        print(f"{n:>7} {n // PER_STUDY:>7} {size:>8.0f} | {report_s:>8.2f} {report_mb:>10.0f} | {read_s:>6.2f} "
              f"{read_mb:>8.0f} | {stats_s:.2f}")
    big = sorted(measured)
    if len(big) >= 2:
        a, b = big[-2], big[-1]
        print(f"read growth per trial: {(measured[b] - measured[a]) / (b - a) * 1e6:.2f} us "
              f"(between {a} and {b} trials)")
    if args.small:
        small_files(args.dir / f"small{args.small}", args.small)


if __name__ == "__main__":
    main()
