"""Per-trial fixed cost: what ``run_trial`` spends outside training and evaluation, against a 1x-Chinchilla gpt
nano trial.

    PYTHONPATH=. python benchmarks/fixed_cost.py [--repeats 5] [--scale nano] [--budget 1.0] [--codecarbon]

fixed = wall(run_trial) - train_time_s (the timed windows) - evaluation time (``task.evaluate``, timed here), i.e.
building the task and optimizer twice (warm-up copy and run), the untimed warm-up steps, the Meter's start and stop
(CodeCarbon's when on), hardware metadata. ``warm``: trials after the first in one process (a pool worker's
steady state); ``cold``: the first trial of a fresh process, imports included, timed from the interpreter's start.
Target: warm fixed cost <= 10% of the trial. One torch thread.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COLD = """
import time; t0 = time.perf_counter()
import sys, torch; torch.set_num_threads(1)
sys.path.insert(0, "benchmarks")
from fixed_cost import one
one(sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1")
print(time.perf_counter() - t0)
"""


def one(scale: str, budget: float, codecarbon: bool) -> tuple[float, float, float]:
    """``(wall, train_time_s, evaluation s)`` of one trial."""
    from harness.spec import Trial
    from harness.train.trainer import run_trial
    from harness.train.workloads import gpt

    spent = [0.0]
    real = gpt.build

    def build(*a, **k):
        task = real(*a, **k)
        evaluate = task.evaluate

        def timed(model):
            t = time.perf_counter()
            out = evaluate(model)
            spent[0] += time.perf_counter() - t
            return out

        task.evaluate = timed
        return task

    gpt.build = build
    try:
        params = real(scale, 0).params
        trial = Trial(suite="bench", workload="gpt", scale=scale, budget_multiple=budget,
                      budget_tokens=int(20 * params * budget), method="adamw", kind="optimizer", optimizer="adamw",
                      schedule="cosine", training_method=None, hparams={}, seed=0, codecarbon=codecarbon)
        t = time.perf_counter()
        row = run_trial(trial)
        wall = time.perf_counter() - t
    finally:
        gpt.build = real
    assert row["status"] == "ok", row["error"]
    return wall, row["train_time_s"], spent[0]


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--scale", default="nano")
    p.add_argument("--budget", type=float, default=1.0)
    p.add_argument("--codecarbon", action="store_true", help="with CodeCarbon's estimate (train.codecarbon=true)")
    args = p.parse_args()
    torch.set_num_threads(1)
    cold = subprocess.run([sys.executable, "-c", COLD, args.scale, str(args.budget), str(int(args.codecarbon))],
                          capture_output=True, text=True, check=True)
    cold_s = float(cold.stdout.split()[-1])
    one(args.scale, 0.05, args.codecarbon)  # this process's imports and first CodeCarbon set-up: not "warm"
    runs = [one(args.scale, args.budget, args.codecarbon) for _ in range(args.repeats)]
    fixed = [w - t - e for w, t, e in runs]
    share = [f / w for f, (w, _, _) in zip(fixed, runs)]
    wall = statistics.median(w for w, _, _ in runs)
    print(f"gpt {args.scale} at {args.budget:g}x Chinchilla, codecarbon={args.codecarbon}, {args.repeats} trials, "
          f"{torch.get_num_threads()} thread")
    print(f"wall {wall:.2f} s (median); timed training {statistics.median(t for _, t, _ in runs):.2f} s; "
          f"evaluation {statistics.median(e for _, _, e in runs):.2f} s")
    print(f"warm fixed cost: median {statistics.median(fixed):.3f} s = {100 * statistics.median(share):.1f}% of the "
          f"trial (range {100 * min(share):.1f}-{100 * max(share):.1f}%); target <= 10%")
    print(f"cold first trial (fresh process, imports included): {cold_s:.2f} s")


if __name__ == "__main__":
    main()
