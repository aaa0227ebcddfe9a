"""What a workload hands the trainer: one built problem at one scale and seed.

A workload module (``harness/train/workloads/<name>.py``) defines ``SCALES`` (name -> settings),
``UNIT`` (what the budget counts: ``tokens`` or ``examples``) and ``build(scale, seed, data) -> Task``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.train import flops


@dataclass
class Task:
    """One workload at one scale and seed.

    Attributes:
        model: the network (the trainer owns device placement).
        groups: parameters by role (``matrix``, ``embedding``, ``head``, ``scalar``); every
            trainable parameter appears in exactly one role.
        loss: ``loss(model, batch) -> scalar tensor`` (the training objective).
        sampled_loss: ``sampled_loss(model, batch)``: the loss with labels drawn from the model's
            own predictive distribution (Gauss-Newton-Bartlett estimators), or None.
        batches: ``batches(seed) -> iterator`` of training batches, endless, deterministic.
        evaluate: ``evaluate(model) -> (val_loss, val_metric)`` on a fixed held-out set; it may
            return a third element, a dict of further result columns (``store.SCHEMA`` names, e.g.
            ``forgetting``), of which the last evaluation's go into the row.
        metric_name: what ``val_metric`` is (``accuracy``, ``bits_per_byte``, ...).
        units_per_step: tokens (or examples) one batch holds; the budget is counted in these.
        params: the number of trainable parameters (the Chinchilla budget is 20 per parameter).
        flops_per_unit: analytic training FLOPs per token/example (forward + backward).
        target: the validation loss that counts as "reached" for time/steps/energy-to-target.
        chance_loss: the validation loss of a uniform guess (ln of the number of classes or tokens);
            a method whose final loss stays there did not learn.
        data_fingerprint: a hash that identifies the exact data.
        architecture: the name of the model family (``gpt``, ``mlp``, ``cnn``, ...).
        set_progress: ``set_progress(progress)``, called by the trainer before each batch is drawn
            (progress = units seen / budget): a non-stationary workload (a continual task sequence)
            switches its data stream with it; None for stationary workloads.
    """

    model: nn.Module
    groups: dict[str, list[nn.Parameter]]
    loss: Callable[[nn.Module, Any], torch.Tensor]
    batches: Callable[[int], Iterator[Any]]
    evaluate: Callable[[nn.Module], tuple[float, float]]
    metric_name: str
    units_per_step: int
    params: int
    flops_per_unit: float
    target: float
    data_fingerprint: str
    architecture: str
    chance_loss: float | None = None
    sampled_loss: Callable[[nn.Module, Any], torch.Tensor] | None = None
    set_progress: Callable[[float], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def split_roles(model: nn.Module, embedding: tuple[str, ...] = (), head: tuple[str, ...] = ()) -> dict:
    """Parameters by role: named embeddings and head, other 2-D+ weights are matrices, the rest scalars."""
    roles: dict[str, list[nn.Parameter]] = {"matrix": [], "embedding": [], "head": [], "scalar": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if any(name.startswith(e) for e in embedding):
            roles["embedding"].append(p)
        elif any(name.startswith(h) for h in head):
            roles["head"].append(p)
        elif p.ndim >= 2:
            roles["matrix"].append(p)
        else:
            roles["scalar"].append(p)
    return roles


def mlp(inputs: int, hidden: int, classes: int = 10) -> nn.Module:
    """The image MLP: flatten, two ReLU hidden layers of ``hidden``, a linear head."""
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


def cnn(shape: tuple[int, int, int], channels: int, classes: int = 10) -> nn.Module:
    """The image CNN on (C, H, W) inputs: two 3x3 conv layers (``channels``, 2 x ``channels``), a 2x2 max
    pool, a linear head. Flatten/Unflatten first, so that it takes the same inputs as ``mlp``."""
    c, h, w = shape
    return nn.Sequential(
        nn.Flatten(), nn.Unflatten(1, shape),
        nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * channels * (h // 2) * (w // 2), classes),
    )


def flops_per_example(model: nn.Sequential, example: torch.Tensor) -> float:
    """Training FLOPs per example of a Sequential MLP/CNN (``flops.training_flops`` of its layers' forward FLOPs)."""
    forward, x = [], example
    with torch.no_grad():
        for layer in model:
            y = layer(x)
            if isinstance(layer, nn.Linear):
                forward.append(flops.linear_flops(layer.in_features, layer.out_features))
            elif isinstance(layer, nn.Conv2d):
                forward.append(flops.conv2d_flops(layer.in_channels, layer.out_channels, layer.kernel_size,
                                                  y.shape[-2], y.shape[-1], layer.groups))
            x = y
    return flops.training_flops(forward)


def shuffled_batches(x: torch.Tensor, y: torch.Tensor, batch: int, seed: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Endless reshuffled epochs of ``batch`` examples of (x, y), the last partial batch dropped; a batch as
    large as the data is all of it, unshuffled, every step. The same ``seed`` gives the same batches."""
    if batch >= len(x):
        while True:
            yield x, y
    g = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(order) - batch + 1, batch):
            j = order[i : i + batch]
            yield x[j], y[j]


def classification(x_tr: torch.Tensor, y_tr: torch.Tensor, x_va: torch.Tensor, y_va: torch.Tensor, batch: int,
                   eval_chunk: int = 2048) -> dict:
    """``loss``, ``sampled_loss``, ``batches`` and ``evaluate`` (val loss, accuracy, and each held-out example's
    correctness: the paired test-set variance of an accuracy difference) of a cross-entropy task.

    Batches are reshuffled epochs of ``batch`` examples (the last partial batch dropped); a batch as
    large as the training set is the full batch every step. Evaluation runs in chunks of ``eval_chunk``
    examples (bounded activation memory) and averages the per-example losses.
    """

    def loss(m: nn.Module, b) -> torch.Tensor:
        return F.cross_entropy(m(b[0]), b[1])

    def sampled_loss(m: nn.Module, b) -> torch.Tensor:
        logits = m(b[0])
        with torch.no_grad():
            y = torch.multinomial(F.softmax(logits, -1), 1).squeeze(-1)
        return F.cross_entropy(logits, y, reduction="none")

    def batches(batch_seed: int):
        return shuffled_batches(x_tr, y_tr, batch, batch_seed)

    @torch.no_grad()
    def evaluate(m: nn.Module) -> tuple[float, float, dict]:
        device = next(m.parameters()).device
        loss, right = 0.0, []
        for i in range(0, len(x_va), eval_chunk):
            logits, y = m(x_va[i : i + eval_chunk].to(device)), y_va[i : i + eval_chunk].to(device)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            right.append((logits.argmax(-1) == y).cpu())
        right = torch.cat(right)
        packed = np.packbits(right.numpy()).tobytes()
        return loss / len(x_va), right.float().mean().item(), {"eval_correct": packed, "eval_examples": len(right)}

    return {"loss": loss, "sampled_loss": sampled_loss, "batches": batches, "evaluate": evaluate}


def classification_task(model: nn.Module, x_tr, y_tr, x_va, y_va, batch: int, *, target: float, fingerprint: str,
                        architecture: str, flops_per_unit: float | None = None) -> Task:
    """The Task of an image or tabular classifier: ``classification`` closures, accuracy as the metric,
    examples as units, FLOPs per example counted from the model unless given."""
    return Task(
        model=model,
        **classification(x_tr, y_tr, x_va, y_va, batch),
        groups=split_roles(model),
        metric_name="accuracy",
        units_per_step=batch,
        params=sum(p.numel() for p in model.parameters()),
        flops_per_unit=flops_per_example(model, x_tr[:1]) if flops_per_unit is None else flops_per_unit,
        target=target,
        chance_loss=math.log(int(y_tr.max()) + 1),
        data_fingerprint=fingerprint,
        architecture=architecture,
        extra={"x_train": x_tr, "y_train": y_tr, "x_val": x_va, "y_val": y_va},
    )
