"""Every registered optimizer: step time and memory at two gpt scales, final loss of a tiny run.

Parameterised over ``registry.available("optimizer")``, so a new file in
``implementations/optimizers/`` is benchmarked with no new code. One intra-op thread: on a small
shared CPU, thread oversubscription makes multi-threaded step times swing by 3-5x.
"""

from __future__ import annotations

import math

import torch

from harness.contracts import registry
from harness.spec import Trial
from harness.train.trainer import optimizer_state_bytes, run_trial
from harness.train.workloads import gpt

from .steps import train_step

OPTIMIZERS = sorted(registry.available("optimizer"))
SCALES = ("nano", "micro")
TINY_STEPS = 50



def _warm_up() -> None:
    """Run at import, in asv's forkserver: every forked benchmark process then inherits the read
    corpus and the lazily imported optimizer machinery (~2.5 s each otherwise) instead of redoing them."""
    torch.set_num_threads(1)
    step, _ = train_step(gpt.build("nano", 0), OPTIMIZERS[0])
    step()


_warm_up()


class TrainStep:
    """One training step (forward, backward, optimizer step) with the optimizer's defaults."""

    params = (OPTIMIZERS, SCALES)
    param_names = ("optimizer", "scale")
    timeout = 120
    sample_time = 0.2  # several steps per timing sample: single ~20 ms steps are at the mercy of the scheduler

    def setup(self, optimizer: str, scale: str) -> None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.step, self.opts = train_step(gpt.build(scale, 0), optimizer)
        for _ in range(2):  # warm-up: optimizer state is allocated on the first steps
            self.step()

    def time_step(self, optimizer: str, scale: str) -> None:
        self.step()

    def peakmem_steps(self, optimizer: str, scale: str) -> None:
        for _ in range(3):
            self.step()

    def track_state_bytes(self, optimizer: str, scale: str) -> int:
        return optimizer_state_bytes(self.opts)  # counts M-FAC's gradient window too

    track_state_bytes.unit = "bytes"


class TinyRun:
    """Final validation loss of a fixed-seed 50-step gpt nano trial (trainer, cosine schedule)."""

    params = (OPTIMIZERS,)
    param_names = ("optimizer",)
    timeout = 120

    def setup(self, optimizer: str) -> None:
        torch.set_num_threads(1)

    def track_final_loss(self, optimizer: str) -> float:
        trial = Trial(suite="asv", workload="gpt", scale="nano", budget_multiple=0.0,
                      budget_tokens=TINY_STEPS * gpt.SCALES["nano"]["batch"] * gpt.SCALES["nano"]["ctx"],
                      method=optimizer, kind="optimizer", optimizer=optimizer, schedule="cosine",
                      training_method=None, hparams={}, seed=0, evals=1)
        row = run_trial(trial)
        if row["status"] in ("error", "oom"):  # a bug, not a result: fail the benchmark
            raise RuntimeError(f"{optimizer}: {row['error']}")
        return row["final_val_loss"] if row["status"] == "ok" else math.nan

    track_final_loss.unit = "loss"
