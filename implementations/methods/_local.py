"""Shared helpers of the layer-local (backprop-free) methods: cut a Sequential into layers, step on local losses.

A *layer* is one parameterised module (``nn.Linear`` / ``nn.Conv2d``) with the parameter-free
modules that follow it (activation, pooling, flatten); parameter-free modules before the first
one (``Flatten``, ``Unflatten``) join the first layer. The last ``nn.Linear`` is the *head*.
"""

from __future__ import annotations

import torch
from torch import nn

PARAM_LAYERS = (nn.Linear, nn.Conv2d)


def split_layers(model: nn.Module) -> tuple[list[nn.Sequential], nn.Sequential]:
    """``(layers, head)`` of a Sequential MLP/CNN; raises ``ValueError`` for other models."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"layer-local training needs an nn.Sequential MLP/CNN, got {type(model).__name__}")
    modules = list(model)
    starts = [i for i, m in enumerate(modules) if isinstance(m, PARAM_LAYERS)]
    if len(starts) < 2 or not isinstance(modules[starts[-1]], nn.Linear):
        raise ValueError("layer-local training needs at least one hidden layer and a final nn.Linear head")
    bounds = [0, *starts[1:]]
    layers = [nn.Sequential(*modules[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=False)]
    return layers, nn.Sequential(*modules[starts[-1] :])


def widths(layers: list[nn.Sequential], example) -> list[int]:
    """Flattened output width of every layer for one example input."""
    out, x = [], example
    for layer in layers:
        x = layer(x)
        out.append(x[0].numel())
    return out


def example_input(workload):
    """Two training inputs of the workload (shapes for building per-layer heads)."""
    return next(iter(workload.batches(0)))[0][:2]


def local_step(optimizers, losses: list[torch.Tensor]) -> torch.Tensor:
    """One step of every optimizer on the sum of the local losses; returns that sum, detached.

    Each loss reaches its own parameters only, so the sum has block-diagonal gradients: one step over
    all parameters is one local step per layer (block).
    """
    total = torch.stack(losses).sum()
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    total.backward()
    for opt in optimizers:
        opt.step()
    return total.detach()
