"""K simulated workers in one process, shared by data_parallel, diloco, noloco and streaming_diloco.

Each trainer step is one inner step of every worker: the batch is cut into K equal shards and
worker k trains its own replica on shard k with the suite's optimizer, whose per-parameter state
is kept per worker (the trainer's optimizer object is reused: its ``state`` is swapped in and
out, so the schedule the trainer sets on its learning rate applies to every worker). The model
object the trainer evaluates holds the method's global weights after every ``update``.

Communication is *simulated*: nothing is sent, but every exchange adds its payload to
``bytes_communicated`` (total over all workers, ring all-reduce = 2 (K-1)/K x payload per worker).

``LocalWorkers`` is the step of the methods whose workers train alone between synchronisations (NoLoCo);
``AnchoredWorkers`` adds their global weights and outer momentum (DiLoCo, Streaming DiLoCo).
"""

from __future__ import annotations

from collections import defaultdict

import torch

from harness.contracts.interface import TrainingHooks


def allreduce_bytes(workers: int, numel: int, bits: int) -> int:
    """Bytes sent by all K workers in a ring all-reduce of ``numel`` values of ``bits`` bits."""
    return 2 * (workers - 1) * numel * bits // 8


def nesterov_(params, grads, bufs, lr: float, momentum: float) -> None:
    """SGD with Nesterov momentum (torch.optim.SGD, dampening 0): b <- mu b + g; p <- p - lr (g + mu b)."""
    for p, g, b in zip(params, grads, bufs, strict=False):
        b.mul_(momentum).add_(g)
        p.sub_(g + momentum * b if momentum else g, alpha=lr)


class SimulatedWorkers(TrainingHooks):
    """Base class: replicas, per-worker optimizer state, the inner step of every worker."""

    def __init__(self, **hp) -> None:
        super().__init__(**hp)
        self.bytes_communicated = 0
        self.communication_rounds = 0
        self.simulated = {"communication": True}  # the trainer's ``simulated`` column: bytes counted, not sent
        self.step = 0
        self.replicas: list[list[torch.Tensor]] | None = None

    def setup(self, model, workload):
        self.loss = workload.loss
        return model

    @staticmethod
    def params(model) -> list[torch.nn.Parameter]:
        return [p for p in model.parameters() if p.requires_grad]

    @torch.no_grad()
    def init_workers(self, model, optimizers) -> None:
        """Called on the first update (after the trainer moved the model to its device)."""
        self.replicas = [[p.detach().clone() for p in self.params(model)] for _ in range(self.hp["workers"])]
        self.states = [[defaultdict(dict) for _ in optimizers] for _ in range(self.hp["workers"])]

    @staticmethod
    @torch.no_grad()
    def load(model, tensors) -> None:
        for p, t in zip(SimulatedWorkers.params(model), tensors, strict=False):
            p.copy_(t)

    def inner_steps(self, model, batch, optimizers) -> torch.Tensor:
        """One optimizer step of every worker on its shard; returns the mean shard loss."""
        K = self.hp["workers"]
        shards = list(zip(*(b.chunk(K) for b in batch), strict=False))
        if len(shards) != K:
            raise ValueError(f"a batch of {len(batch[0])} cannot feed {K} workers")
        losses = []
        for k in range(K):
            self.load(model, self.replicas[k])
            for opt, state in zip(optimizers, self.states[k], strict=False):
                opt.state = state
            loss = self.loss(model, shards[k])
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in optimizers:
                opt.step()
            with torch.no_grad():
                for r, p in zip(self.replicas[k], self.params(model), strict=False):
                    r.copy_(p)
            losses.append(loss.detach())
        return torch.stack(losses).mean()


class LocalWorkers(SimulatedWorkers):
    """Base class of the methods whose workers train alone between synchronisations (DiLoCo and its kin).

    ``update`` sets the workers up on its first call, takes one inner step of every worker, counts it in
    ``step``, calls ``synchronise`` and loads the subclass's ``evaluated()`` weights into the model.
    ``synchronise`` runs the subclass's ``outer_step`` every H = ``inner_steps`` steps.
    """

    def synchronise(self) -> None:
        if self.step % self.hp["inner_steps"] == 0:
            self.outer_step()

    def update(self, model, batch, optimizers, progress):
        if self.replicas is None:
            self.init_workers(model, optimizers)
        loss = self.inner_steps(model, batch, optimizers)
        self.step += 1
        self.synchronise()
        self.load(model, self.evaluated())
        return loss


class AnchoredWorkers(LocalWorkers):
    """Local workers around one global copy of the weights, ``anchor`` (the evaluated model), moved by an outer
    Nesterov step whose momentum is ``buffers`` (DiLoCo, Streaming DiLoCo)."""

    def init_workers(self, model, optimizers) -> None:
        super().init_workers(model, optimizers)
        self.anchor = [p.detach().clone() for p in self.params(model)]
        self.buffers = [torch.zeros_like(p) for p in self.anchor]

    def evaluated(self) -> list[torch.Tensor]:
        return self.anchor
