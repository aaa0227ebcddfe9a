"""What an evaluation costs beside training, per workload and scale: the time of one evaluation and of one training
step (AdamW, one thread, after a warm-up), and the share of a 1x Chinchilla trial's training time that 5, 20 and 40
evaluations add (evaluations run outside the timed windows, but on the wall clock). docs/statistics.md quotes it
for the number of evaluations of ``preset=cpu``. Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/eval_cost.py``.
"""

from __future__ import annotations

import time

import torch

from harness.spec import CHINCHILLA_UNITS_PER_PARAM
from harness.train import workloads

CASES = (("gpt", "nano"), ("gpt", "micro"), ("digits", "mlp"), ("logreg", "digits"), ("continual", "split5"))


def timed(fn, repeats: int) -> float:
    fn()
    began = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - began) / repeats


def measure(name: str, scale: str) -> tuple[float, float, int]:
    """(seconds per evaluation, seconds per training step, steps of a 1x Chinchilla trial)."""
    task = workloads.load(name).build(scale, 0, {})
    model, batches = task.model, task.batches(0)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)

    def step():
        loss = task.loss(model, next(batches))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def evaluate():
        model.eval()
        task.evaluate(model)
        model.train()

    steps = -(-CHINCHILLA_UNITS_PER_PARAM * task.params // task.units_per_step)
    return timed(evaluate, 5), timed(step, 20), steps


def main() -> None:
    torch.set_num_threads(1)
    print("| workload | eval ms | step ms | steps at 1x | 5 evals | 20 evals | 40 evals |")
    print("|---|---|---|---|---|---|---|")
    for name, scale in CASES:
        ev, st, steps = measure(name, scale)
        share = [f"{100 * n * ev / (steps * st):.1f}%" for n in (5, 20, 40)]
        print(f"| {name}/{scale} | {1000 * ev:.1f} | {1000 * st:.2f} | {steps} | " + " | ".join(share) + " |")


if __name__ == "__main__":
    main()
