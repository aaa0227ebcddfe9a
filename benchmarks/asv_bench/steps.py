"""One training step of a registered optimizer on a built task, as the trainer runs it.

Forward, backward (``create_graph=True`` for optimizers that need Hessian-vector products),
every optimizer's step; ``sampled_loss`` optimizers get the current batch's sampled loss. The
batches are drawn once up front, so the data pipeline stays out of the measured step.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from harness.contracts import registry
from harness.train.trainer import backward_context
from harness.train.workloads.base import Task


def train_step(task: Task, optimizer: str, n_batches: int = 8) -> tuple[Callable[[], torch.Tensor], list]:
    """``(step, optimizers)``: ``step()`` runs one step with the optimizer's default hyperparameters."""
    method = registry.get("optimizer", optimizer)
    hp = method.hparams({})
    built = method.build(task.groups, **hp)
    opts = list(built) if isinstance(built, list | tuple) else [built]
    needs = method.needs_for(hp)
    create_graph = "create_graph" in needs
    source = task.batches(0)
    batches = itertools.cycle([next(source) for _ in range(n_batches)])
    current: list = [None]
    if "sampled_loss" in needs:
        for opt in opts:
            opt.set_sampled_loss(lambda: task.sampled_loss(task.model, current[0]))

    def step() -> torch.Tensor:
        current[0] = batch = next(batches)
        with backward_context(create_graph):
            loss = task.loss(task.model, batch)
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            loss.backward(create_graph=create_graph)
        for opt in opts:
            opt.step()
        return loss.detach()

    return step, opts

