"""Streaming DiLoCo: DiLoCo syncing one fragment at a time, overlapped with compute, quantised.

The parameters are cut into P fragments (strided over layers: fragment p = layers p, p+P, ...).
Fragment p is synchronised every H steps, at offset p H / P, so only 1/P of the model is in
flight at once. At its sync step t, each worker sends Delta_k = theta_global,p - theta_k,p in
format ``quantize`` (e.g. 4-bit E3M0); the outer Nesterov step on the average gives the new
theta_global,p, which reaches the workers tau steps later (overlap) and is merged with the weights
they trained meanwhile:

    theta_k,p <- alpha theta_k,p + (1 - alpha) theta_global,p       (at step t + tau)

With P = 1, tau = 0, alpha = 0 and fp32 this is DiLoCo. ``bytes_communicated`` counts the
quantised all-reduces; ``peak_bytes_per_step`` the largest amount exchanged in one step.

Args:
    workers, inner_steps, outer_lr, outer_momentum: as in DiLoCo.
    fragments: P.
    overlap: tau, inner steps between sending and merging (< H).
    mix: alpha, the weight of the local weights in the merge.
    quantize: format of the exchanged pseudo-gradients (fp32, bf16, fp8_e4m3, fp8_e5m2, fp4_e3m0; simulated).

References:
    Douillard et al., "Streaming DiLoCo with overlapping communication: Towards a Distributed Free
    Lunch", arXiv:2501.18512, 2025.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import Choice, TrainingMethod, Uniform, claim_table
from implementations.methods._formats import BITS, FORMATS, quantize
from implementations.methods._workers import AnchoredWorkers, allreduce_bytes, nesterov_


def strided_fragments(model, count: int) -> list[list[int]]:
    """Indices (into the trainable parameters) of each fragment, strided over parameterised modules."""
    index = {id(p): i for i, p in enumerate(p for p in model.parameters() if p.requires_grad)}
    units = [[index[id(p)] for p in m.parameters(recurse=False) if id(p) in index] for m in model.modules()]
    units = [u for u in units if u]
    count = min(count, len(units))
    return [[i for u in units[p::count] for i in u] for p in range(count)]


class StreamingDiLoCo(AnchoredWorkers):
    def init_workers(self, model, optimizers) -> None:
        H, tau = self.hp["inner_steps"], self.hp["overlap"]
        if not 0 <= tau < H:
            raise ValueError(f"overlap {tau} must be in [0, inner_steps={H})")
        super().init_workers(model, optimizers)
        self.fragments = strided_fragments(model, self.hp["fragments"])
        P = len(self.fragments)
        self.offsets = [p * H // P for p in range(P)]
        self.pending: list[tuple[int, list[int]]] = []
        self.peak_bytes_per_step = 0

    @torch.no_grad()
    def send(self, frag: list[int]) -> int:
        """Outer step of one fragment from quantised pseudo-gradients; returns the bytes exchanged."""
        K, fmt = len(self.replicas), self.hp["quantize"]
        delta = [sum(quantize(self.anchor[i] - r[i], fmt) for r in self.replicas) / K for i in frag]
        nesterov_(
            [self.anchor[i] for i in frag],
            delta,
            [self.buffers[i] for i in frag],
            self.hp["outer_lr"],
            self.hp["outer_momentum"],
        )
        return allreduce_bytes(K, sum(self.anchor[i].numel() for i in frag), BITS[fmt])

    @torch.no_grad()
    def merge(self, frag: list[int]) -> None:
        alpha = self.hp["mix"]
        for replica in self.replicas:
            for i in frag:
                replica[i].mul_(alpha).add_(self.anchor[i], alpha=1 - alpha)

    def synchronise(self) -> None:
        """Send every fragment whose turn it is; merge those whose overlap has passed."""
        sent = 0
        for frag, offset in zip(self.fragments, self.offsets, strict=False):
            if (self.step - offset) % self.hp["inner_steps"] == 0:
                sent += self.send(frag)
                self.pending.append((self.step + self.hp["overlap"], frag))
                self.communication_rounds += 1
        for _due, frag in [p for p in self.pending if p[0] <= self.step]:
            self.merge(frag)
        self.pending = [p for p in self.pending if p[0] > self.step]
        self.bytes_communicated += sent
        self.peak_bytes_per_step = max(self.peak_bytes_per_step, sent)


CLAIMS = claim_table(
    [dict(factor=100.0, metric="communication", baseline="data_parallel")],
    quote="reducing required bandwidth by two orders of magnitude",
    setting="LLMs up to billions of parameters, similar quality; bytes from simulated workers here",
    source="Douillard et al., Streaming DiLoCo, arXiv:2501.18512",
    suite="low_communication",
)

METHOD = TrainingMethod(
    hooks=StreamingDiLoCo,
    defaults={
        "workers": 4,
        "inner_steps": 20,
        "outer_lr": 0.7,
        "outer_momentum": 0.9,
        "fragments": 2,
        "overlap": 1,
        "mix": 0.5,
        "quantize": "fp4_e3m0",
    },
    search_space={
        "inner_steps": Choice((5, 10, 20, 50, 100)),
        "outer_lr": Uniform(0.3, 1.0),
        "mix": Uniform(0.0, 0.9),
        "quantize": Choice(FORMATS),
    },
    citation="Douillard et al., Streaming DiLoCo with overlapping communication, arXiv:2501.18512, 2025",
    summary="DiLoCo synchronising strided parameter fragments in turn, overlapped and 4-bit quantised.",
    claims=CLAIMS,
)
