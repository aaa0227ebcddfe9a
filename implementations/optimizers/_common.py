"""Helpers shared by several optimizers (not a method: the registry skips ``_`` files)."""

from __future__ import annotations

import torch

# elements from which a tensor is updated on its own rather than in a multi-tensor (``torch._foreach``) call: on
# CPU a foreach call is a loop over the same kernels, so it saves Python overhead on many small tensors, while one
# tensor at a time lets an update finish each tensor while it is in cache and clip in place (Lion, Sophia)
LARGE = 1 << 16


def all_params(groups) -> list[torch.Tensor]:
    """Every parameter of every role, in role order."""
    return [p for role in ("matrix", "embedding", "head", "scalar") for p in groups.get(role, [])]


def hutchinson(params: list[torch.Tensor], distribution: str) -> list[torch.Tensor]:
    """``z * (H z)`` for one probe ``z`` per parameter, from gradients that carry their graph.

    Needs ``loss.backward(create_graph=True)`` (the ``create_graph`` need). ``distribution`` is
    ``"rademacher"`` (+-1) or ``"gaussian"`` (N(0, I)); probes are drawn from the global RNG in
    parameter order.
    """
    grads = [p.grad for p in params]
    if any(g is None or g.grad_fn is None for g in grads):
        raise RuntimeError(
            "Hutchinson estimate needs loss.backward(create_graph=True) (the 'create_graph' need)"
        )
    if distribution == "rademacher":
        zs = [torch.randint_like(p, 0, 2) * 2.0 - 1.0 for p in params]
    elif distribution == "gaussian":
        zs = [torch.randn_like(p) for p in params]
    else:
        raise ValueError(f"unknown probe distribution {distribution!r}; use 'rademacher' or 'gaussian'")
    with torch.enable_grad():
        hzs = torch.autograd.grad(grads, params, grad_outputs=zs)
    return [hz * z for hz, z in zip(hzs, zs, strict=False)]
