"""Trainer overhead: the harness's step time against a bare PyTorch loop, same gpt model and batches.

    PYTHONPATH=. python benchmarks/trainer_overhead.py [--scale nano] [--steps 60] [--repeats 20]

Runs the two interleaved (A B, then B A, ...) so machine noise hits both, and prints the median of the
per-pair ratios of time per step with a 95% interval (a single pair is +-8-30% on a shared box). Target:
at most 1.02. The bare loop uses the same fused AdamW as the harness's ``adamw``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import paired
import torch

from harness.contracts import registry
from harness.spec import Trial
from harness.train.trainer import _train
from harness.train.workloads import gpt


def bare_loop(scale: str, steps: int) -> float:
    """Seconds per step of the plainest loop: batch, forward, backward, AdamW step."""
    torch.manual_seed(0)
    task = gpt.build(scale, 0)
    opt = torch.optim.AdamW(task.model.parameters(), lr=3e-3, weight_decay=0.1, fused=True)
    batches = task.batches(0)
    for _ in range(2):  # the same untimed warm-up the trainer gets
        loss = task.loss(task.model, next(batches))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    start = time.perf_counter()
    for _ in range(steps):
        loss = task.loss(task.model, next(batches))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())
    return (time.perf_counter() - start) / steps


def harness_loop(scale: str, steps: int, codecarbon: bool = False) -> float:
    """Seconds per step of the trainer (schedule, hooks, divergence check, bookkeeping; eval excluded).
    CodeCarbon's sampler is off unless asked: its cost is the meter's (benchmarks/measure_overhead.py)."""
    task = gpt.build(scale, 0)
    trial = Trial(suite="bench", workload="gpt", scale=scale, budget_multiple=0.0,
                  budget_tokens=steps * task.units_per_step, method="adamw", kind="optimizer", optimizer="adamw",
                  schedule="cosine", training_method=None, hparams={"lr": 3e-3}, seed=0, evals=1,
                  codecarbon=codecarbon)
    parts = {"optimizer": registry.get("optimizer", "adamw"), "schedule": registry.get("schedule", "cosine")}
    _train(trial, parts, torch.device("cpu"), warmup=True)  # the untimed warm-up run_trial does
    row = _train(trial, parts, torch.device("cpu"))
    return row["train_time_s"] / row["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="nano")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--codecarbon", action="store_true", help="with CodeCarbon's sampler thread running")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bare, ours = [], []
    for r in range(args.repeats):
        if r % 2:
            ours.append(harness_loop(args.scale, args.steps, args.codecarbon))
        bare.append(bare_loop(args.scale, args.steps))
        if not r % 2:
            ours.append(harness_loop(args.scale, args.steps, args.codecarbon))
    b, h = statistics.median(bare), statistics.median(ours)
    print(f"gpt {args.scale}, {args.steps} steps x {args.repeats} interleaved repeats, "
          f"{torch.get_num_threads()} threads, CodeCarbon {'on' if args.codecarbon else 'off'}")
    print(f"bare PyTorch loop: {b * 1e3:.3f} ms/step   (runs: {', '.join(f'{x * 1e3:.2f}' for x in bare)})")
    print(f"harness trainer:   {h * 1e3:.3f} ms/step   (runs: {', '.join(f'{x * 1e3:.2f}' for x in ours)})")
    print(f"ratio harness / bare: {paired.text(ours, bare, 1.02)}")


if __name__ == "__main__":
    main()
