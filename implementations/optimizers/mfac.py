"""M-FAC: preconditioning by the inverse of a dampened empirical Fisher over a sliding gradient window.

With the last m gradients as rows of G (m x d; unfilled rows are zero), the dampened empirical
Fisher is  F = lambda I + (1/m) sum_i g_i g_i^T = lambda I + G^T G / m, and the dynamic algorithm
keeps what makes the inverse-Hessian-vector product cost O(dm + m^2):
    on each step, the oldest row of G is replaced by g (+ wd w, coupled decay as in the paper's code),
    one row/column of the Gram matrix G G^T is refreshed (O(dm)) and the m x m system
    S = m lambda I + G G^T is re-factored (LU; O(m^3), independent of d, as in the authors' code);
    F^-1 x = (x - G^T S^-1 (G x)) / lambda          (Woodbury; O(dm) products + O(m^2) solves)
    u <- mu u + (1-mu) F^-1 g   (mu = 0: u = F^-1 g);   w <- w - lr u
The Woodbury/LU form is algebraically the same operator as the paper's LU-based recursion
(its matrices D and B); the m x m algebra runs in float64. All parameters share one window.

Args:
    lr: peak learning rate (the schedule multiplies it).
    ngrads: m, the window size (memory: m x d floats).
    damp: lambda, the dampening.
    momentum: mu.
    weight_decay: L2 penalty added to the gradient before preconditioning (matrices/embeddings/head).

References:
    Frantar, Kurtic & Alistarh, "M-FAC: Efficient Matrix-Free Approximations of Second-Order
    Information", NeurIPS 2021 (arXiv:2107.03356), Section 3.2 (dynamic algorithm).
"""

from __future__ import annotations

import torch

from harness.contracts.interface import LogUniform, Optimizer, Uniform, claim_table, param_groups


class SlidingFisherInverse:
    """(lambda I + G^T G / m)^-1 for a ring buffer G of the last m gradients."""

    def __init__(self, m: int, d: int, damp: float, dtype=torch.float32, device=None):
        self.m, self.damp = m, damp
        self.grads = torch.zeros(m, d, dtype=dtype, device=device)
        self.gram = torch.zeros(m, m, dtype=torch.float64, device=device)
        self.last = 0
        self.lu = None
        self._factor()

    def _factor(self) -> None:
        # LU rather than Cholesky: float32 Gram rows are symmetric but may be slightly indefinite.
        eye = torch.eye(self.m, dtype=torch.float64, device=self.gram.device)
        self.lu = torch.linalg.lu_factor(self.gram + self.m * self.damp * eye)

    def update(self, g: torch.Tensor) -> torch.Tensor:
        """Replace the oldest gradient by ``g``; returns G g (reused by ``mul(g)``)."""
        self.grads[self.last] = g
        dots = (self.grads @ g).double()
        self.gram[self.last, :] = dots
        self.gram[:, self.last] = dots
        self.last = (self.last + 1) % self.m
        self._factor()
        return dots

    def mul(self, x: torch.Tensor, dots: torch.Tensor | None = None) -> torch.Tensor:
        """F^-1 x in O(dm + m^2)."""
        dots = (self.grads @ x).double() if dots is None else dots
        coef = torch.linalg.lu_solve(*self.lu, dots.unsqueeze(1)).squeeze(1).to(x.dtype)
        return (x - coef @ self.grads) / self.damp


class MFAC(torch.optim.Optimizer):
    """M-FAC over all parameters jointly; each group's ``lr`` is read every step."""

    def __init__(self, params, lr=1e-3, ngrads=32, damp=1e-5, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))
        self.momentum = momentum
        ps = [p for g in self.param_groups for p in g["params"]]
        d = sum(p.numel() for p in ps)
        self.hinv = SlidingFisherInverse(ngrads, d, damp, dtype=ps[0].dtype, device=ps[0].device)
        self.velocity = torch.zeros(d, dtype=ps[0].dtype, device=ps[0].device) if momentum else None

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pieces = []
        for group in self.param_groups:
            for p in group["params"]:
                g = torch.zeros_like(p) if p.grad is None else p.grad.detach()
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                pieces.append(g.reshape(-1))
        g = torch.cat(pieces)
        direction = self.hinv.mul(g, self.hinv.update(g))
        if self.velocity is not None:
            self.velocity.lerp_(direction, 1.0 - self.momentum)
            direction = self.velocity
        offset = 0
        for group in self.param_groups:
            for p in group["params"]:
                n = p.numel()
                p.add_(direction[offset : offset + n].view_as(p), alpha=-group["lr"])
                offset += n
        return loss


def build(groups, lr, ngrads, damp, momentum, weight_decay):
    return MFAC(param_groups(groups, weight_decay), lr=lr, ngrads=ngrads, damp=damp, momentum=momentum)


_SOURCE = (
    "Frantar, Kurtic & Alistarh, M-FAC: Efficient Matrix-Free Approximations of Second-Order "
    "Information, NeurIPS 2021, arXiv:2107.03356"
)

# A complexity claim: factor 1.0 = IHVP time grows linearly in d at fixed m (and ~m for d >> m).
CLAIMS = claim_table(
    [dict(factor=1.0, metric="overhead", baseline="sgd")],
    quote="O(dm + m^2) for computing the IHVP",
    setting="IHVP cost scaling in d (linear) at fixed window m",
    source=_SOURCE,
)

METHOD = Optimizer(
    build=build,
    defaults={"lr": 1e-3, "ngrads": 32, "damp": 1e-5, "momentum": 0.0, "weight_decay": 0.0},
    search_space={
        "lr": LogUniform(1e-5, 1e-1),
        "damp": LogUniform(1e-6, 1e-2),
        "momentum": Uniform(0.0, 0.95),
    },
    citation=_SOURCE,
    summary="Inverse dampened empirical Fisher of a sliding m-gradient window, applied matrix-free.",
    claims=CLAIMS,
)
