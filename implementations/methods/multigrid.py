"""Multigrid training: a schedule of mini-batch shapes, small inputs in large batches, then the full shape.

Long cycle (per cycle, equal thirds): input scale 1/2, 1/sqrt(2), 1 of the full shape, with the batch
multiplied by 4, 2, 1, so that batch x input size (the cost of a step) stays about the same; the last
``final_fraction`` of training runs at the full shape. Shapes:

- images (B, H, W) or (B, C, H, W): resolution r = round(scale H), resized with area averaging; the
  extra examples of the larger batch are drawn from a second stream of the workload's batches. The
  CNN is made resolution-agnostic in ``setup`` (the input reshape accepts any size; an adaptive
  average pool before the head restores the head's input size), which is the identity at full size.
- token sequences (B, L): length l = scale L, the batch reshaped to (B L / l, l): the same tokens,
  shorter contexts (no extra data).

``units_last_step`` is the number of examples (images) or tokens (sequences) of the last batch, for the
trainer's budget accounting. With ``lr_scaling=linear`` the learning rate follows the batch as in the
paper (lr x B_step / B, the linear scaling rule; for sequences B counts sequences of the shorter
length); ``none`` keeps the tuned schedule unchanged.

Args:
    cycles: number of long cycles before the final phase.
    final_fraction: fraction of training at the full shape at the end.
    lr_scaling: ``linear`` (lr proportional to the step's batch size) or ``none``.

References:
    Wu, Girshick, He, Feichtenhofer & Krahenbuhl, "A Multigrid Method for Efficiently Training Video
    Models", CVPR 2020, arXiv:1912.00998.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, TrainingHooks, TrainingMethod, Uniform, claim_table

SCALES = (0.5, 1 / math.sqrt(2), 1.0)


class AsImage(nn.Module):
    """(B, H, W) -> (B, 1, H, W) for any H, W; 4-D inputs pass through."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1) if x.ndim == 3 else x


def resolution_agnostic(model: nn.Sequential, example: torch.Tensor) -> nn.Sequential:
    """The same CNN (same parameters) accepting any input resolution."""
    modules = list(model)
    cut = next((i for i, m in enumerate(modules) if isinstance(m, nn.Unflatten)), -1)
    if cut < 0 or not any(isinstance(m, nn.Conv2d) for m in modules):
        raise ValueError("multigrid on images needs a CNN whose input is reshaped by nn.Unflatten")
    head = max(i for i, m in enumerate(modules) if isinstance(m, nn.Flatten))
    h = example
    for m in modules[:head]:
        h = m(h)
    body = [AsImage(), *modules[cut + 1 : head], nn.AdaptiveAvgPool2d(tuple(h.shape[-2:]))]
    return nn.Sequential(*body, *modules[head:])


def stage(progress: float, cycles: int, final_fraction: float) -> float:
    """The input scale at ``progress``."""
    if progress >= 1 - final_fraction:
        return 1.0
    within = (progress / (1 - final_fraction) * cycles) % 1.0
    return SCALES[min(int(within * len(SCALES)), len(SCALES) - 1)]


class Multigrid(TrainingHooks):
    def _lr(self, batch_multiple: int) -> float:
        return float(batch_multiple) if self.hp["lr_scaling"] == "linear" else 1.0

    def setup(self, model, workload):
        example = next(iter(workload.batches(0)))[0]
        self.tokens = not example.is_floating_point()
        self.extra = None if self.tokens else workload.batches(self.hp["seed"] + 1)
        self.units_last_step = example.numel() if self.tokens else len(example)
        return model if self.tokens else resolution_agnostic(model, example[:2])

    def batch(self, batch, progress):
        scale = stage(progress, self.hp["cycles"], self.hp["final_fraction"])
        x, y = batch
        if self.tokens:
            length = max(1, int(round(x.shape[1] * scale)))
            length = max(d for d in range(1, length + 1) if x.shape[1] % d == 0)
            self.lr_factor = self._lr(x.shape[1] // length)
            x, y = x.reshape(-1, length), y.reshape(-1, length)
            self.units_last_step = x.numel()
            return x, y
        factor = round(1 / scale**2)
        self.lr_factor = self._lr(factor)
        if factor > 1:
            more = [next(self.extra) for _ in range(factor - 1)]
            x = torch.cat([x, *(m[0].to(x.device) for m in more)])
            y = torch.cat([y, *(m[1].to(y.device) for m in more)])
        size = max(2, round(x.shape[-1] * scale))
        if size != x.shape[-1]:
            img = x.unsqueeze(1) if x.ndim == 3 else x
            img = F.interpolate(img, size=(size, size), mode="area")
            x = img.squeeze(1) if x.ndim == 3 else img
        self.units_last_step = len(x)
        return x, y


CLAIMS = claim_table(
    [dict(factor=4.5, metric="time", baseline="backprop")],
    quote="trains a ResNet-50 SlowFast network 4.5x faster (wall-clock time, same hardware) while also improving "
    "accuracy (+0.8% absolute)",
    setting="Kinetics-400 video, ResNet-50 SlowFast, 8-GPU training (transferred here to image resolution and "
    "sequence length)",
    source="Wu et al., A Multigrid Method for Efficiently Training Video Models, arXiv:1912.00998",
    scale_params=3.4e7,
    suite="multigrid",
    hardware="gpu",
)

METHOD = TrainingMethod(
    hooks=Multigrid,
    defaults={"cycles": 2, "final_fraction": 0.2, "seed": 0, "lr_scaling": "linear"},
    search_space={"final_fraction": Uniform(0.1, 0.5), "lr_scaling": Choice(("linear", "none"))},
    citation="Wu et al., A Multigrid Method for Efficiently Training Video Models, CVPR 2020, "
    "arXiv:1912.00998",
    summary="Long-cycle schedule of batch shapes (lower resolution / shorter context, larger batches).",
    claims=CLAIMS,
)
