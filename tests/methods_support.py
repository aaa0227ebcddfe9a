"""Test support for training methods: real digits data (sklearn, shipped), the native small models,
and a minimal loop that calls the hooks in the order the trainer documents (harness/contracts/interface.py)."""

from __future__ import annotations

from functools import cache, partial

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts import registry
from harness.train.workloads.base import Task, shuffled_batches, split_roles
from implementations.optimizers import adamw

torch.set_num_threads(1)


@cache
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_val, y_val): 8x8 images in [0, 1], a fixed 1,437 / 360 split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    tr, va = order[:1437], order[1437:]
    return x[tr], y[tr], x[va], y[va]


def mlp(hidden: int = 64) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def cnn(channels: int = 8) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * 16, 10),
    )


def task(model: nn.Module, batch: int = 64, arch: str = "mlp", dtype=torch.float32) -> Task:
    x_tr, y_tr, x_va, y_va = digits()
    x_tr, x_va = x_tr.to(dtype), x_va.to(dtype)

    @torch.no_grad()
    def evaluate(m: nn.Module) -> tuple[float, float]:
        logits = m(x_va)
        return F.cross_entropy(logits, y_va).item(), (logits.argmax(-1) == y_va).float().mean().item()

    return Task(
        model=model,
        groups=split_roles(model),
        loss=lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        batches=partial(shuffled_batches, x_tr, y_tr, batch),
        evaluate=evaluate,
        metric_name="accuracy",
        units_per_step=batch,
        params=sum(p.numel() for p in model.parameters()),
        flops_per_unit=0.0,
        target=0.3,
        data_fingerprint="sklearn-digits",
        architecture=arch,
    )


def train(name: str, t: Task, steps: int, hp: dict | None = None, opt: str = "adamw", seed: int = 0):
    """Run ``steps`` steps of method ``name`` on task ``t``; returns (model, hooks, losses)."""
    torch.manual_seed(seed)
    method = registry.get("method", name)
    hooks = method.hooks(**method.hparams(hp or {}))
    model = hooks.setup(t.model, t)
    groups = split_roles(model)
    if opt == "adamw":
        opts = [
            adamw.build(
                groups, lr=(hp or {}).get("lr", 3e-3), weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8
            )
        ]
    else:
        opts = [torch.optim.SGD([p for ps in groups.values() for p in ps], lr=(hp or {}).get("lr", 0.1))]
    losses, data = [], t.batches(seed)
    model.train()
    for step in range(steps):
        progress = step / steps
        batch = hooks.batch(next(data), progress)
        if hooks.update is not None:
            loss = hooks.update(model, batch, opts, progress)
        else:
            loss = t.loss(model, batch)
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            hooks.after_backward(model, progress)
            for o in opts:
                o.step()
            hooks.after_step(model, progress)
        losses.append(float(loss.detach() if torch.is_tensor(loss) else loss))
    model.eval()
    return model, hooks, losses


def accuracy(model: nn.Module, hooks) -> float:
    with hooks.eval_weights(model):
        _, acc = task(model).evaluate(model)
    return acc
