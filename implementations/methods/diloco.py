"""DiLoCo: K workers take H inner steps alone, then one outer Nesterov step on the averaged pseudo-gradient.

    inner (each worker k, H steps, the suite's optimizer, e.g. AdamW):  theta_k <- opt(theta_k, grad L_k)
    outer (every H steps):  Delta = (1/K) sum_k (theta_global - theta_k)      (one all-reduce)
                            b <- mu b + Delta;  theta_global <- theta_global - lr_out (Delta + mu b)
                            theta_k <- theta_global for every k

Workers keep their own inner optimizer state across rounds. The evaluated model is theta_global.
Communication: one fp32 all-reduce of all parameters every H steps (``bytes_communicated``).
With H = 1, lr_out = 1, mu = 0 and a stateless inner optimizer (SGD) this is data-parallel training.

Args:
    workers: K simulated workers (must divide the batch size).
    inner_steps: H, inner steps between synchronisations (the paper uses 500).
    outer_lr: lr_out (paper: 0.7).
    outer_momentum: mu, Nesterov momentum of the outer step (paper: 0.9).

References:
    Douillard et al., "DiLoCo: Distributed Low-Communication Training of Language Models",
    arXiv:2311.08105, 2023.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import Choice, TrainingMethod, Uniform
from implementations.methods._workers import AnchoredWorkers, allreduce_bytes, nesterov_


class DiLoCo(AnchoredWorkers):
    @torch.no_grad()
    def outer_step(self) -> None:
        K = len(self.replicas)
        delta = [sum(a - r[i] for r in self.replicas) / K for i, a in enumerate(self.anchor)]
        nesterov_(self.anchor, delta, self.buffers, self.hp["outer_lr"], self.hp["outer_momentum"])
        for replica in self.replicas:
            for r, a in zip(replica, self.anchor, strict=False):
                r.copy_(a)
        self.bytes_communicated += allreduce_bytes(K, sum(a.numel() for a in self.anchor), 32)
        self.communication_rounds += 1


METHOD = TrainingMethod(
    hooks=DiLoCo,
    defaults={"workers": 4, "inner_steps": 20, "outer_lr": 0.7, "outer_momentum": 0.9},
    search_space={
        "inner_steps": Choice((5, 10, 20, 50, 100)),
        "outer_lr": Uniform(0.3, 1.0),
        "outer_momentum": Uniform(0.5, 0.95),
    },
    citation="Douillard et al., DiLoCo: Distributed Low-Communication Training of Language Models, "
    "arXiv:2311.08105, 2023",
    summary="K simulated workers, H local AdamW steps, outer Nesterov step on the averaged pseudo-gradient.",
)
