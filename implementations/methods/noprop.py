"""NoProp-DT: T blocks, each trained alone to denoise a noised label embedding; no gradient between blocks.

Signal levels abar_0 = 0 < abar_1 < ... < abar_T < 1 (cosine: abar_t = cos^2(pi/2 (1 - t/T + s)/(1 + s))),
SNR(t) = abar_t / (1 - abar_t), label embeddings u_y (rows of W_embed),
q(z_t | y) = N(sqrt(abar_t) u_y, (1 - abar_t) I).
Block t maps (x, z_{t-1}) to a distribution over classes and predicts u_hat_t = softmax(logits_t) W_embed.
Training samples every z from q (never from another block), so each term reaches one block only:

    L = E_{q(z_T|y)}[-log softmax(W_out z_T + b)_y]
        + (eta / 2) sum_{t=1..T} (SNR(t) - SNR(t-1)) ||u_hat_t(z_{t-1}, x) - u_y||^2

(the KL term D(q(z_0|y) || N(0, I)) is zero since abar_0 = 0). Inference runs the chain from z_0 ~ N(0, I):
z_t = a_t u_hat_t + b_t z_{t-1} + sqrt(c_t) eps with alpha_t = abar_{t-1} / abar_t and
a_t = sqrt(abar_t)(1 - alpha_t) / (1 - abar_{t-1}), b_t = sqrt(alpha_t)(1 - abar_t) / (1 - abar_{t-1}),
c_t = (1 - abar_t)(1 - alpha_t) / (1 - abar_{t-1}) (the Gaussian posterior q(z_t | z_{t-1}, y),
u_y replaced by u_hat_t);
evaluation draws its noise from a fixed seed so it is deterministic.

The architecture is NoProp's own (T MLP blocks on the flattened input, an embedding path and a
classifier); its backprop baseline is this network trained end to end (``mode=backprop``): the same
chain with the same losses, gradients flowing through z from block to block.

Args:
    T: number of blocks (diffusion steps).
    eta: weight of the denoising terms.
    hidden: width of each block.
    embedding: ``onehot`` (fixed u_y = e_y) or ``learned`` (W_embed trained with the classifier).
    mode: ``noprop`` (the paper's local training) or ``backprop`` (same network, end-to-end).

References:
    Li, Teh & Pascanu, "NoProp: Training Neural Networks without Back-propagation or
    Forward-propagation", arXiv:2503.24322, 2025.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, LogUniform, TrainingHooks, TrainingMethod, claim_table
from implementations.methods._local import example_input, local_step


def cosine_abar(T: int, s: float = 0.008) -> torch.Tensor:
    """abar_t for t = 0..T (float64), increasing from 0 (pure noise) to just below 1."""
    t = torch.arange(T + 1, dtype=torch.float64)
    return torch.cos(math.pi / 2 * (1 - t / T + s) / (1 + s)) ** 2 * (t > 0)


def chain_coefficients(abar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(a_t, b_t, c_t) for t = 1..T of the denoising step z_t = a_t u + b_t z_{t-1} + sqrt(c_t) eps."""
    prev, cur = abar[:-1], abar[1:]
    alpha = prev / cur
    a = cur.sqrt() * (1 - alpha) / (1 - prev)
    b = alpha.sqrt() * (1 - cur) / (1 - prev)
    c = (1 - cur) * (1 - alpha) / (1 - prev)
    return a, b, c


class Block(nn.Module):
    """u_hat_t(z, x): input path and embedding path fused, then class logits."""

    def __init__(self, inputs: int, dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.x_path = nn.Sequential(
            nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.z_path = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.x_path(x), self.z_path(z)], 1))


class NoPropNet(nn.Module):
    def __init__(self, inputs: int, classes: int, T: int, hidden: int, embedding: str, eta: float) -> None:
        super().__init__()
        self.T, self.eta = T, eta
        dim = classes
        self.blocks = nn.ModuleList(Block(inputs, dim, hidden, classes) for _ in range(T))
        self.classifier = nn.Linear(dim, classes)
        if embedding == "learned":
            self.embed = nn.Parameter(torch.eye(classes, dim))
        else:
            self.register_buffer("embed", torch.eye(classes, dim))
        abar = cosine_abar(T)
        snr = abar / (1 - abar)
        self.register_buffer("abar", abar.float())
        self.register_buffer("weight", (snr[1:] - snr[:-1]).float())
        self.register_buffer("coef", torch.stack(chain_coefficients(abar)).float())

    def u_hat(self, t: int, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Block t's (1-based) prediction of the clean label embedding."""
        return F.softmax(self.blocks[t - 1](x, z), -1) @ self.embed

    def sample_q(self, t: int, y: torch.Tensor) -> torch.Tensor:
        u = self.embed[y]
        return self.abar[t].sqrt() * u + (1 - self.abar[t]).sqrt() * torch.randn_like(u)

    def block_losses(self, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        """The T weighted denoising terms (term t touches block t only), then the classifier term."""
        x = x.flatten(1)
        u = self.embed[y].detach()
        out = []
        for t in range(1, self.T + 1):
            err = (self.u_hat(t, x, self.sample_q(t - 1, y)) - u).pow(2).sum(1).mean()
            out.append(self.eta / 2 * self.weight[t - 1] * err)
        out.append(F.cross_entropy(self.classifier(self.sample_q(self.T, y)), y))
        return out

    def chain(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Run the denoising chain z_0 -> z_T (gradients flow through it: used by ``mode=backprop``)."""
        x = x.flatten(1)
        shape = (len(x), self.embed.shape[1])
        z = torch.randn(shape, generator=generator).to(x.device)
        for t in range(1, self.T + 1):
            a, b, c = self.coef[:, t - 1]
            eps = torch.randn(shape, generator=generator).to(x.device)
            z = a * self.u_hat(t, x, z) + b * z + c.sqrt() * eps
        return self.classifier(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.chain(x, None if self.training else torch.Generator().manual_seed(0))


class NoProp(TrainingHooks):
    def setup(self, model, workload):
        example = example_input(workload)
        hp = self.hp
        return NoPropNet(example[0].numel(), hp["classes"], hp["T"], hp["hidden"], hp["embedding"], hp["eta"])

    def update(self, model, batch, optimizers, progress):
        x, y = batch
        if self.hp["mode"] == "backprop":
            return local_step(optimizers, [F.cross_entropy(model.chain(x), y)])
        return local_step(optimizers, model.block_losses(x, y))


CLAIMS = claim_table(
    [dict(factor=0.0, metric="quality", baseline="mono_forward")],
    quote="superior accuracy, is easier to use and computationally more efficient compared to other existing "
    "back-propagation-free methods",
    setting="MNIST, CIFAR-10/100 (accuracy vs FF, MF, CaFo; delta > 0 claimed)",
    source="Li, Teh & Pascanu, NoProp, arXiv:2503.24322",
    suite="backprop_free",
)

METHOD = TrainingMethod(
    hooks=NoProp,
    defaults={"T": 10, "eta": 0.1, "hidden": 128, "embedding": "onehot", "mode": "noprop", "classes": 10},
    search_space={"eta": LogUniform(0.01, 1.0), "embedding": Choice(("onehot", "learned"))},
    citation="Li, Teh & Pascanu, NoProp: Training Neural Networks without Back-propagation or "
    "Forward-propagation, arXiv:2503.24322, 2025",
    summary="NoProp-DT: T blocks each denoise a noised label embedding from q; no gradient between blocks.",
    architecture="noprop",
    claims=CLAIMS,
)
