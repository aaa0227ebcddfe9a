"""NoLoCo: DiLoCo without all-reduce; each outer step averages with one random peer only.

Every worker i keeps slow weights phi_i, fast weights theta_i and an outer momentum m_i. After H
inner steps the workers are split at random into groups of n (n = 2: one random peer); in group G

    m_i   <- alpha m_i + beta (1/n) sum_{j in G} (theta_j - phi_j) + gamma ((1/n) sum_{j in G} phi_j - phi_i)
    phi_i <- phi_i + m_i;   theta_i <- phi_i

(the momentum is Nesterov-like; the gamma term pulls replicas together, replacing the global
average). No global model exists: the evaluated model is worker 0's phi. Communication: each worker
sends phi_i and theta_i - phi_i (fp32) to the n - 1 others of its group.
With K = n = 2, H = 1, alpha = 0, beta = 1 and a stateless inner optimizer this is data-parallel SGD.

Args:
    workers: K (a multiple of ``group_size``; must divide the batch size).
    inner_steps: H.
    group_size: n, workers averaged together (the paper uses pairs).
    outer_lr: beta (the authors' code: 0.7).
    outer_momentum: alpha (0.9).
    pull: gamma, weight of the pull towards the group mean of phi (the authors' code uses beta).

References:
    Kolehmainen et al., "NoLoCo: No-all-reduce Low Communication Training Method for Large Models",
    arXiv:2506.10911, 2025.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import Choice, TrainingMethod, Uniform, claim_table
from implementations.methods._workers import LocalWorkers


class NoLoCo(LocalWorkers):
    def init_workers(self, model, optimizers) -> None:
        super().init_workers(model, optimizers)
        self.slow = [[t.clone() for t in r] for r in self.replicas]
        self.momentum = [[torch.zeros_like(t) for t in r] for r in self.replicas]
        self.generator = torch.Generator().manual_seed(self.hp["seed"])

    def evaluated(self) -> list[torch.Tensor]:
        return self.slow[0]

    @torch.no_grad()
    def outer_step(self) -> None:
        K, n = len(self.replicas), self.hp["group_size"]
        if K % n:
            raise ValueError(f"{K} workers cannot form groups of {n}")
        a, b, g = self.hp["outer_momentum"], self.hp["outer_lr"], self.hp["pull"]
        order = torch.randperm(K, generator=self.generator).tolist()
        for group in (order[i : i + n] for i in range(0, K, n)):
            for idx in range(len(self.slow[0])):
                mean_phi = sum(self.slow[j][idx] for j in group) / n
                mean_delta = sum(self.replicas[j][idx] - self.slow[j][idx] for j in group) / n
                for i in group:
                    m = self.momentum[i][idx]
                    m.mul_(a).add_(mean_delta, alpha=b).add_(mean_phi - self.slow[i][idx], alpha=g)
            for i in group:
                for phi, m, theta in zip(self.slow[i], self.momentum[i], self.replicas[i], strict=False):
                    phi.add_(m)
                    theta.copy_(phi)
        numel = sum(t.numel() for t in self.slow[0])
        self.bytes_communicated += K * (n - 1) * 2 * numel * 4
        self.communication_rounds += 1


CLAIMS = claim_table(
    [dict(factor=1.04, metric="steps", baseline="diloco", form="up_to")],
    quote="Compared to DiLoCo, we also observe up to 4% faster convergence rate with wide range of model sizes and "
    "accelerator counts",
    setting="Llama 125M-6.8B, C4/Reddit, up to hundreds of accelerators (simulated workers here)",
    source="Kolehmainen et al., NoLoCo, arXiv:2506.10911",
    scale_params=1.25e8,
    suite="low_communication",
)

METHOD = TrainingMethod(
    hooks=NoLoCo,
    defaults={
        "workers": 4,
        "inner_steps": 20,
        "group_size": 2,
        "outer_lr": 0.7,
        "outer_momentum": 0.9,
        "pull": 0.7,
        "seed": 0,
    },
    search_space={
        "inner_steps": Choice((5, 10, 20, 50, 100)),
        "outer_lr": Uniform(0.3, 1.0),
        "outer_momentum": Uniform(0.5, 0.95),
        "pull": Uniform(0.1, 1.0),
    },
    citation="Kolehmainen et al., NoLoCo: No-all-reduce Low Communication Training Method for Large Models, "
    "arXiv:2506.10911, 2025",
    summary="DiLoCo-style local steps; outer Nesterov-like step averaging with one random peer.",
    claims=CLAIMS,
)
