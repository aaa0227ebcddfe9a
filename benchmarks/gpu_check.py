"""The one script a session with a GPU runs: gpt2-124m in bf16, then the ``gpu`` preset at one scale.

    PYTHONPATH=. python benchmarks/gpu_check.py [--out DIR] [--steps 300] [--compile]   # on a CUDA machine
    PYTHONPATH=. python benchmarks/gpu_check.py --dry-run                               # the same code on CPU

Part 1 runs ``run_trial`` on gpt ``gpt2-124m`` (``--dry-run``: ``nano``) with ``precision=bf16`` and fp32, one
evaluation (one timed window of >= 5 s at the default steps on an H100/H200, so NVML's energy counter is
reliable), and prints step time (p50), tokens/s, MFU against the dtype's dense peak, NVML energy per window,
peak memory, and the loss. Part 2 runs ``harness run suite=optimizers preset=gpu`` reduced to one scale and budget
(``mini``, 1x; ``--dry-run``: ``preset=smoke`` on CPU) into ``DIR/results`` and prints its leaderboard.
Everything printed is also saved to ``DIR/gpu_check.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from harness.spec import Trial
from harness.train.trainer import run_trial
from harness.train.workloads import gpt

COLUMNS = ("status", "step_time_ms_p50", "train_time_s", "mfu", "energy_j", "energy_method", "energy_windows",
           "energy_window_reliable", "peak_mem_bytes", "final_val_loss", "device_name", "error")


def trial(scale: str, steps: int, precision: str, device: str, compiled: bool) -> dict:
    cfg = gpt.SCALES[scale]
    tokens = steps * cfg["batch"] * cfg["ctx"]
    t = Trial(suite="gpu-check", workload="gpt", scale=scale, budget_multiple=0.0, budget_tokens=tokens,
              method="adamw", kind="optimizer", optimizer="adamw", schedule="cosine", training_method=None,
              hparams={"lr": 6e-4}, seed=0, evals=1, warmup_steps=10, device=device, codecarbon=False,
              precision=precision, compile=compiled)
    row = run_trial(t)
    out = {k: row.get(k) for k in COLUMNS}
    out.update(scale=scale, precision=precision, compile=compiled, steps=row.get("steps"),
               tokens_per_s=(row.get("tokens") or 0) / row["train_time_s"] if row.get("train_time_s") else None)
    return out


def suite(out: Path, dry: bool) -> str:
    args = (["preset=smoke", "train.device=cpu"] if dry else
            ["preset=gpu", "scale=mini", "budget=1", "method=adamw,muon", "tuning.trials=2", "tuning.seeds=2",
             "train.precision=bf16"])
    cmd = [sys.executable, "-m", "harness", "run", "suite=optimizers", *args, f"results={out / 'results'}", "--quiet"]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t
    return f"$ {' '.join(cmd[1:])}\n(exit {done.returncode}, {took:.0f} s)\n{done.stdout}{done.stderr}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("gpu_check_out"))
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--compile", action="store_true", help="also the bf16 run under torch.compile")
    p.add_argument("--dry-run", action="store_true", help="CPU, gpt nano, 20 steps, preset=smoke")
    p.add_argument("--skip-suite", action="store_true")
    args = p.parse_args()
    dry = args.dry_run or not torch.cuda.is_available()
    if dry and not args.dry_run:
        print("no CUDA device: running the dry run on CPU")
    device, scale, steps = ("cpu", "nano", 20) if dry else ("cuda", "gpt2-124m", args.steps)
    if dry:
        torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [trial(scale, steps, precision, device, False) for precision in ("bf16", "fp32")]
    if args.compile:
        runs.append(trial(scale, steps, "bf16", device, True))
    for r in runs:
        mem = r["peak_mem_bytes"] / 2**30 if r["peak_mem_bytes"] else float("nan")
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "—"
        energy = f"{r['energy_j']:.0f} J ({r['energy_method']}, reliable={r['energy_window_reliable']})" \
            if r["energy_j"] is not None else f"— ({r['energy_method']})"
        print(f"{r['scale']} {r['precision']}{' compiled' if r['compile'] else ''}: {r['status']}, "
              f"{r['steps']} steps, p50 {r['step_time_ms_p50']:.1f} ms/step, {r['tokens_per_s'] or 0:.0f} tokens/s, "
              f"MFU {mfu}, energy {energy}, peak memory {mem:.2f} GiB, val loss {r['final_val_loss']}"
              + (f", error {r['error']}" if r["error"] else ""))
    text = "" if args.skip_suite else suite(args.out, dry)
    print(text)
    (args.out / "gpu_check.json").write_text(json.dumps({"dry_run": dry, "runs": runs, "suite": text}, indent=1,
                                                        default=str))
    return 0 if all(r["status"] == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
