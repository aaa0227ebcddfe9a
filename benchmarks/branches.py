"""Many budgets from one run (``train.branches``): is a branch's final loss the separate run's, and what does it save?

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/branches.py [--workloads gpt lm] [--seeds 3]

For each workload at nano, AdamW at lr 3e-3 with the warmup-stable-decay schedule (its defaults: 1% warmup, the
last 20% a sqrt cooldown; Hägele et al., arXiv:2405.18392) and each seed: one trunk trained to 4x Chinchilla with a
cooldown branch at 0.5x, 1x and 2x, and a separate run at each of the four budgets. Printed per budget: the
branches' and the separate runs' final validation loss (mean ± sd over seeds), their paired difference in units of
the separate runs' seed sd (within the seed noise: |diff| well under 1 sd), and the compute: training steps and wall
seconds of the trunk with its branches against the four separate runs. With warmup 0 a branch is the separate run
bit for bit (tests/test_branches.py); the warmup here is 1% of each run's own length, so the trunk's is longer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness import config
from harness.run.studies import expand
from harness.train.trainer import run_trial

BUDGETS = (0.5, 1.0, 2.0, 4.0)
DECAY = 0.2  # wsd's default cooldown: a branch leaves the trunk at 80% of its own budget
SUITE = """methods: [adamw]
baseline: adamw
schedule: wsd
workloads:
  {workload}: {{scales: [nano], budgets: [0.5, 1, 2, 4]}}
train: {{evals: 20, codecarbon: false}}
"""


def templates(workload: str) -> dict[float, object]:
    """The suite's trial per budget (``expand``: the real budget tokens and study ids)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "branches.yaml"
        path.write_text(SUITE.format(workload=workload))
        spec = config.load([f"suite={path}", f"results={tmp}/out"])
        return {t.budget_multiple: t for t in expand(spec)}


def one_seed(by_budget: dict, seed: int, hp: dict) -> tuple[dict, dict, tuple, tuple]:
    """Final losses at every budget from the trunk and from separate runs, and each side's (steps, seconds)."""
    largest = by_budget[max(BUDGETS)]
    trunk = replace(largest, seed=seed, hparams=hp, branches=tuple(
        (b, by_budget[b].budget_tokens, by_budget[b].study_id) for b in BUDGETS[:-1]))
    start = time.perf_counter()
    row = run_trial(trunk)
    trunk_s = time.perf_counter() - start
    assert row["status"] == "ok", row["error"]
    branched = {max(BUDGETS): row["final_val_loss"], **{b["budget_multiple"]: b["final_val_loss"]
                                                       for b in row["branches"]}}
    trunk_steps = row["steps"] + sum(DECAY * b["steps"] for b in row["branches"])  # a branch trains its cooldown
    separate, steps, seconds = {}, 0, 0.0
    for b in BUDGETS:
        start = time.perf_counter()
        alone = run_trial(replace(by_budget[b], seed=seed, hparams=hp))
        seconds += time.perf_counter() - start
        assert alone["status"] == "ok", alone["error"]
        separate[b], steps = alone["final_val_loss"], steps + alone["steps"]
    return branched, separate, (trunk_steps, trunk_s), (steps, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["gpt", "lm"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()
    print("| workload | budget | branch loss | separate loss | paired diff / seed sd |")
    print("|---|---|---|---|---|")
    costs = []
    for workload in args.workloads:
        by_budget = templates(workload)
        runs = [one_seed(by_budget, s, {"lr": args.lr}) for s in range(args.seeds)]
        for b in BUDGETS:
            mine, theirs = np.array([r[0][b] for r in runs]), np.array([r[1][b] for r in runs])
            sd = float(np.std(theirs, ddof=1)) if len(theirs) > 1 else float("nan")
            diff = float(np.mean(mine - theirs))
            print(f"| {workload} nano | {b:g}x | {mine.mean():.4f} ± {np.std(mine, ddof=1):.4f} | "
                  f"{theirs.mean():.4f} ± {sd:.4f} | {diff:+.4f} / {sd:.4f} = {diff / sd:+.2f} |", flush=True)
        trunk_steps = [r[2][0] for r in runs]
        steps = statistics.mean(r[3][0] for r in runs)
        t_trunk, t_sep = sum(r[2][1] for r in runs), sum(r[3][1] for r in runs)
        step_ratio = statistics.mean(trunk_steps) / steps
        costs.append(f"{workload} nano: trunk + branches / four separate runs = {step_ratio:.2f}x the training "
                     f"steps, {t_trunk / t_sep:.2f}x the wall time ({t_trunk:.0f} s / {t_sep:.0f} s, "
                     f"{args.seeds} seeds)")
    print("\n" + "\n".join(costs))


if __name__ == "__main__":
    main()
