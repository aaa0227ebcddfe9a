"""Each optimizer's update equals its paper's equations, written here independently in float64 numpy.

Fixed inputs over 12 steps: gradient sequences drawn once from a seeded generator (for first-order
methods), or an analytic loss whose Hessian is known in closed form (for Hutchinson estimators,
with the probe vectors drawn from the same seeded torch RNG on both sides). Where pytorch-optimizer
implements the same algorithm, the two implementations agree within a stated tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytorch_optimizer as po
import torch

from harness.contracts.registry import get

STEPS = 12
SHAPES = [(6, 4), (5,), (3, 7)]


def _fixed(shapes, seed=0):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(STEPS)]
    return w0, grads


def _run(make_opt, w0, grads):
    """Feed the fixed gradients to a torch optimizer on float64 parameters; weights after each step."""
    params = [torch.tensor(w, requires_grad=True) for w in w0]
    opts = make_opt(params)
    opts = opts if isinstance(opts, list) else [opts]
    out = []
    for gs in grads:
        for p, g in zip(params, gs, strict=False):
            p.grad = torch.tensor(g)
        for opt in opts:
            opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def _close(ours, ref, rtol=1e-10, atol=1e-12):
    for step, (a, b) in enumerate(zip(ours, ref, strict=False)):
        for x, y in zip(a, b, strict=False):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")


def _build(name, params, **hp):
    """Build a registered optimizer with every parameter in the 'matrix' role (decayed)."""
    method = get("optimizer", name)
    return method.build({"matrix": params}, **method.hparams(hp))


# --------------------------------------------------------------------------- first-order methods


def test_sgd_nesterov():
    w0, grads = _fixed(SHAPES)
    lr, mu, wd = 0.1, 0.9, 0.01
    ours = _run(lambda ps: _build("sgd", ps, lr=lr, momentum=mu, weight_decay=wd), w0, grads)
    w, b, ref = [x.copy() for x in w0], None, []
    for gs in grads:
        g = [gi + wd * wi for gi, wi in zip(gs, w, strict=False)]
        b = g if b is None else [mu * bi + gi for bi, gi in zip(b, g, strict=False)]
        w = [wi - lr * (gi + mu * bi) for wi, gi, bi in zip(w, g, b, strict=False)]
        ref.append(w)
    _close(ours, ref)


def _lion_ref(w0, grads, lr, b1, b2, wd):
    w, m, ref = [x.copy() for x in w0], [np.zeros_like(x) for x in w0], []
    for gs in grads:
        w = [
            wi * (1 - lr * wd) - lr * np.sign(b1 * mi + (1 - b1) * gi)
            for wi, mi, gi in zip(w, m, gs, strict=False)
        ]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, gs, strict=False)]
        ref.append(w)
    return ref


def test_lion_matches_paper_and_pytorch_optimizer():
    w0, grads = _fixed(SHAPES)
    hp = dict(lr=1e-2, beta1=0.9, beta2=0.99, weight_decay=0.5)
    ours = _run(lambda ps: _build("lion", ps, **hp), w0, grads)
    _close(ours, _lion_ref(w0, grads, 1e-2, 0.9, 0.99, 0.5))
    peer = _run(lambda ps: po.Lion(ps, lr=1e-2, betas=(0.9, 0.99), weight_decay=0.5), w0, grads)
    _close(ours, peer, rtol=1e-12)


def test_nadamw_dozat_momentum_schedule():
    w0, grads = _fixed(SHAPES)
    lr, b1, b2, eps, wd, psi = 3e-2, 0.9, 0.95, 1e-8, 0.1, 4e-3
    ours = _run(
        lambda ps: _build(
            "nadamw", ps, lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd, momentum_decay=psi
        ),
        w0,
        grads,
    )
    w, m, v, prod, ref = [x.copy() for x in w0], [0.0] * 3, [0.0] * 3, 1.0, []
    for t, gs in enumerate(grads, start=1):
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod *= mu_t
        new = []
        for i, (wi, gi) in enumerate(zip(w, gs, strict=False)):
            wi = wi * (1 - lr * wd)
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi**2
            m_hat = mu_next * m[i] / (1 - prod * mu_next) + (1 - mu_t) * gi / (1 - prod)
            new.append(wi - lr * m_hat / (np.sqrt(v[i] / (1 - b2**t)) + eps))
        w = new
        ref.append(w)
    _close(ours, ref, rtol=1e-7, atol=1e-9)  # torch keeps mu_product/step as float32 scalars


def test_adafactor_factored_moments():
    w0, grads = _fixed(SHAPES)
    lr, c, eps2, d, wd = 5e-2, -0.8, 1e-3, 1.0, 0.1
    ours = _run(
        lambda ps: _build("adafactor", ps, lr=lr, beta2_decay=c, eps2=eps2, d=d, weight_decay=wd), w0, grads
    )
    eps1 = np.finfo(np.float64).eps
    w = [x.copy() for x in w0]
    stats = [
        [np.zeros((x.shape[0], 1)), np.zeros((1, x.shape[1]))] if x.ndim == 2 else np.zeros_like(x)
        for x in w0
    ]
    ref = []
    for t, gs in enumerate(grads, start=1):
        beta = 1 - t**c
        rho = min(lr, 1 / math.sqrt(t))
        new = []
        for i, (wi, gi) in enumerate(zip(w, gs, strict=False)):
            alpha = max(eps2, np.sqrt(np.mean(wi**2))) * rho
            wi = wi * (1 - lr * wd)
            if gi.ndim == 2:
                r, cc = stats[i]
                r = beta * r + (1 - beta) * np.mean(gi**2, axis=1, keepdims=True)
                cc = beta * cc + (1 - beta) * np.mean(gi**2, axis=0, keepdims=True)
                stats[i] = [r, cc]
                var = r @ cc / max(np.mean(r), eps1)
            else:
                stats[i] = var = beta * stats[i] + (1 - beta) * gi**2
            u = gi / np.sqrt(np.maximum(var, eps1**2))
            new.append(wi - alpha / max(1.0, np.sqrt(np.mean(u**2)) / d) * u)
        w = new
        ref.append(w)
    _close(ours, ref)


def _newton_schulz(g, steps=5, a=3.4445, b=-4.7750, c=2.0315):
    x = g.T if g.shape[0] > g.shape[1] else g
    x = x / max(np.linalg.norm(x), 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if g.shape[0] > g.shape[1] else x


def test_muon_matrices():
    """torch.optim.Muon runs Newton-Schulz in bfloat16; the float64 reference agrees to bf16 precision."""
    shapes = [(8, 4), (5, 9)]
    w0, grads = _fixed(shapes)
    lr, mu, wd = 2e-2, 0.95, 0.1
    ours = _run(lambda ps: _build("muon", ps, lr=lr, momentum=mu, weight_decay=wd), w0, grads)
    w, buf, ref = [x.copy() for x in w0], [np.zeros(s) for s in shapes], []
    for gs in grads:
        new = []
        for i, (wi, gi) in enumerate(zip(w, gs, strict=False)):
            buf[i] = mu * buf[i] + (1 - mu) * gi
            o = _newton_schulz((1 - mu) * gi + mu * buf[i])
            new.append(wi * (1 - lr * wd) - lr * 0.2 * math.sqrt(max(gi.shape)) * o)
        w = new
        ref.append(w)
    for a, b in zip(
        ours, ref, strict=False
    ):  # per-step update error relative to the step size lr * 0.2 sqrt(n)
        for x, y in zip(a, b, strict=False):
            assert np.abs(x - y).max() < 0.05 * lr * 0.2 * math.sqrt(9) * STEPS


# --------------------------------------------------------------------------- SOAP and Shampoo


def _soap_ref(w0, grads, lr, b1, b2, wd, eps, freq):
    """Vyas et al. Algorithm (authors' code): step 1 initialises with eigh; QR power step every f."""
    w = [x.copy() for x in w0]
    m = [np.zeros_like(x) for x in w0]
    v = [np.zeros_like(x) for x in w0]
    gg = [[np.zeros((n, n)) for n in x.shape] if x.ndim == 2 else [] for x in w0]
    q = [[None, None] if x.ndim == 2 else [] for x in w0]
    rot = lambda x, qs: qs[0].T @ x @ qs[1] if qs else x
    back = lambda x, qs: qs[0] @ x @ qs[1].T if qs else x
    ref = []
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            if t > 1:
                s = t - 1
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * rot(g, q[i]) ** 2
                step = lr * math.sqrt(1 - b2**s) / (1 - b1**s)
                w[i] = (w[i] - step * back(rot(m[i], q[i]) / (np.sqrt(v[i]) + eps), q[i])) * (1 - lr * wd)
            if gg[i]:
                gg[i][0] = b2 * gg[i][0] + (1 - b2) * g @ g.T
                gg[i][1] = b2 * gg[i][1] + (1 - b2) * g.T @ g
                if t == 1:
                    q[i] = [np.linalg.eigh(a)[1][:, ::-1] for a in gg[i]]
                elif (t - 1) % freq == 0:
                    for side in (0, 1):
                        power = gg[i][side] @ q[i][side]
                        order = np.argsort(-(q[i][side] * power).sum(0), kind="stable")
                        v[i] = np.take(v[i], order, axis=side)
                        q[i][side] = np.linalg.qr(power[:, order])[0]
        ref.append([x.copy() for x in w])
    return ref


def test_soap_matches_paper_and_pytorch_optimizer():
    """pytorch-optimizer casts its QR to float32 (on purpose, for bfloat16 support): agreement ~1e-6.

    Square matrices keep the Kronecker factors full rank from step 1: with a rank-deficient factor
    the eigenbasis of its null space is arbitrary and two correct implementations may differ.
    """
    w0, grads = _fixed([(5, 5), (4,), (3, 3)])
    hp = dict(lr=1e-2, beta1=0.95, beta2=0.95, weight_decay=0.01, eps=1e-8, precondition_frequency=3)
    ours = _run(lambda ps: _build("soap", ps, **hp), w0, grads)
    _close(ours, _soap_ref(w0, grads, 1e-2, 0.95, 0.95, 0.01, 1e-8, 3), rtol=1e-8, atol=1e-10)
    peer = _run(
        lambda ps: po.SOAP(ps, lr=1e-2, betas=(0.95, 0.95), weight_decay=0.01, precondition_frequency=3),
        w0,
        grads,
    )
    _close(ours, peer, rtol=1e-6, atol=1e-7)


def test_shampoo_grafted():
    w0, grads = _fixed(SHAPES)
    lr, b1, b2, e, eps, freq, wd = 1e-2, 0.9, 0.95, 0.25, 1e-6, 4, 0.01
    ours = _run(
        lambda ps: _build(
            "shampoo",
            ps,
            lr=lr,
            beta1=b1,
            beta2=b2,
            exponent=e,
            eps=eps,
            precondition_frequency=freq,
            weight_decay=wd,
        ),
        w0,
        grads,
    )

    def root(a):
        lam, vec = np.linalg.eigh(a + eps * np.eye(len(a)))
        return (vec * np.maximum(lam, eps) ** -e) @ vec.T

    w, m, v = [x.copy() for x in w0], [np.zeros_like(x) for x in w0], [np.zeros_like(x) for x in w0]
    stats = [[np.zeros((n, n)) for n in x.shape] if x.ndim == 2 else [] for x in w0]
    roots, ref = [None] * len(w0), []
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat = m[i] / (1 - b1**t)
            adam = m_hat / (np.sqrt(v[i] / (1 - b2**t)) + 1e-8)
            update = adam
            if stats[i]:
                stats[i] = [b2 * stats[i][0] + (1 - b2) * g @ g.T, b2 * stats[i][1] + (1 - b2) * g.T @ g]
                if t == 1 or t % freq == 0:
                    roots[i] = [root(a) for a in stats[i]]
                d = roots[i][0] @ m_hat @ roots[i][1]
                update = d * np.linalg.norm(adam) / np.linalg.norm(d)
            w[i] = w[i] * (1 - lr * wd) - lr * update
        ref.append([x.copy() for x in w])
    _close(ours, ref, rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------- Hessian-based methods
# Analytic loss: f(w) = sum_i [ 1/2 w_i^T Q_i w_i + b_i^T w_i + 1/4 sum(w_i^4) ] (w_i flattened),
# gradient Q w + b + w^3, Hessian Q + 3 diag(w^2): z (.) Hz is computed in closed form.


class Quartic:
    def __init__(self, shapes, seed=1):
        rng = np.random.default_rng(seed)
        self.shapes = shapes
        self.q, self.b = [], []
        for s in shapes:
            n = int(np.prod(s))
            a = rng.standard_normal((n, n)) / math.sqrt(n)
            self.q.append(a @ a.T + 0.5 * np.eye(n))
            self.b.append(rng.standard_normal(n))
        self.w0 = [rng.standard_normal(s) * 0.5 for s in shapes]

    def loss(self, params):
        total = 0.0
        for p, q, b in zip(params, self.q, self.b, strict=False):
            x = p.reshape(-1)
            total = total + 0.5 * x @ torch.tensor(q) @ x + torch.tensor(b) @ x + 0.25 * (x**4).sum()
        return total

    def grad(self, w):
        return [
            (q @ x.ravel() + b + x.ravel() ** 3).reshape(x.shape)
            for x, q, b in zip(w, self.q, self.b, strict=False)
        ]

    def z_hz(self, w, zs):
        return [
            (z.ravel() * ((q + 3 * np.diag(x.ravel() ** 2)) @ z.ravel())).reshape(x.shape)
            for x, q, z in zip(w, self.q, zs, strict=False)
        ]


def _run_hessian(make_opt, problem):
    """Steps with backward(create_graph=True); the RNG is reseeded before each step (shared probes)."""
    params = [torch.tensor(w, requires_grad=True) for w in problem.w0]
    opt = make_opt(params)
    out = []
    for t in range(STEPS):
        for p in params:
            p.grad = None
        problem.loss(params).backward(create_graph=True)
        torch.manual_seed(100 + t)
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def _probes(shapes, t, kind):
    torch.manual_seed(100 + t)
    like = [torch.zeros(s, dtype=torch.float64) for s in shapes]
    if kind == "rademacher":
        return [(torch.randint_like(x, 0, 2) * 2.0 - 1.0).numpy() for x in like]
    return [torch.randn_like(x).numpy() for x in like]


def _sophia_ref(problem, lr, b1, b2, rho, wd, eps, k, estimate):
    w = [x.copy() for x in problem.w0]
    m = [np.zeros_like(x) for x in w]
    h = [np.zeros_like(x) for x in w]
    ref = []
    for t in range(STEPS):
        g = problem.grad(w)
        if t % k == 0:
            h = [b2 * hi + (1 - b2) * ei for hi, ei in zip(h, estimate(w, t), strict=False)]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=False)]
        w = [
            wi * (1 - lr * wd) - lr * np.clip(mi / np.maximum(rho * hi, eps), -1, 1)
            for wi, mi, hi in zip(w, m, h, strict=False)
        ]
        ref.append(w)
    return ref


def test_sophia_hutchinson_matches_paper_and_sophiah():
    """pytorch-optimizer's SophiaH writes lr' clip(m / max(h, eps'), p): the same rule with
    rho = p, lr = lr' p, eps = eps' p, weight decay = wd' p (same lr * wd)."""
    problem = Quartic([(4, 3), (5,)])
    hp = dict(
        lr=0.02,
        beta1=0.9,
        beta2=0.9,
        rho=0.5,
        weight_decay=0.1,
        eps=1e-12,
        update_period=3,
        estimator="hutchinson",
    )
    ours = _run_hessian(lambda ps: _build("sophia", ps, **hp), problem)
    ref = _sophia_ref(
        problem,
        0.02,
        0.9,
        0.9,
        0.5,
        0.1,
        1e-12,
        3,
        lambda w, t: problem.z_hz(w, _probes(problem.shapes, t, "gaussian")),
    )
    _close(ours, ref, rtol=1e-9, atol=1e-11)
    peer = _run_hessian(
        lambda ps: po.SophiaH(
            ps, lr=0.04, betas=(0.9, 0.9), p=0.5, weight_decay=0.05, eps=2e-12, update_period=3
        ),
        problem,
    )
    _close(ours, peer, rtol=1e-9, atol=1e-11)


def test_sophia_gnb_uses_sampled_labels():
    """Softmax regression: the GNB estimate is B * (grad of the mean loss under sampled labels)^2."""
    rng = np.random.default_rng(3)
    x_np, y_np = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    w = torch.tensor(rng.standard_normal((5, 3)) * 0.3, requires_grad=True)
    w_start = w.detach().numpy().copy()
    opt = _build("sophia", [w], lr=0.05, beta1=0.9, beta2=0.9, rho=0.05, weight_decay=0.1, update_period=2)
    gen, sampled = torch.Generator().manual_seed(0), []

    def sampled_loss():
        logits = x @ w
        labels = torch.multinomial(torch.softmax(logits.detach(), -1), 1, generator=gen).squeeze(1)
        sampled.append(labels.numpy())
        return torch.nn.functional.cross_entropy(logits, labels, reduction="none")

    opt.set_sampled_loss(sampled_loss)
    ours = []
    for _ in range(STEPS):
        w.grad = None
        torch.nn.functional.cross_entropy(x @ w, y).backward()
        opt.step()
        ours.append([w.detach().numpy().copy()])

    def softmax_grad(wn, labels):
        z = x_np @ wn
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return x_np.T @ (p - np.eye(3)[labels]) / len(labels)

    wn, ref, calls = w_start, [], 0
    m, h = np.zeros_like(wn), np.zeros_like(wn)
    for t in range(STEPS):
        g = softmax_grad(wn, y_np)
        if t % 2 == 0:
            g_hat = softmax_grad(wn, sampled[calls])
            calls += 1
            h = 0.9 * h + 0.1 * 16 * g_hat**2
        m = 0.9 * m + 0.1 * g
        wn = wn * (1 - 0.05 * 0.1) - 0.05 * np.clip(m / np.maximum(0.05 * h, 1e-15), -1, 1)
        ref.append([wn])
    assert calls == len(sampled) == STEPS // 2
    _close(ours, ref, rtol=1e-9, atol=1e-11)


def _adahessian_ref(problem, lr, b1, b2, eps, k, wd):
    w = [x.copy() for x in problem.w0]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    ref = []
    for t in range(1, STEPS + 1):
        g = problem.grad(w)
        d = problem.z_hz(w, _probes(problem.shapes, t - 1, "rademacher"))
        d = [
            np.broadcast_to(np.abs(di).mean(axis=(2, 3), keepdims=True), di.shape) if di.ndim == 4 else di
            for di in d
        ]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=False)]
        v = [b2 * vi + (1 - b2) * di**2 for vi, di in zip(v, d, strict=False)]
        w = [
            wi - lr * (mi / (1 - b1**t) / ((vi / (1 - b2**t)) ** (k / 2) + eps) + wd * wi)
            for wi, mi, vi in zip(w, m, v, strict=False)
        ]
        ref.append(w)
    return ref


def test_adahessian_spatial_averaging():
    problem = Quartic([(2, 3, 2, 2), (4, 3), (3,)])
    hp = dict(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-4, hessian_power=1.0, weight_decay=0.01)
    ours = _run_hessian(lambda ps: _build("adahessian", ps, **hp), problem)
    _close(ours, _adahessian_ref(problem, 0.05, 0.9, 0.999, 1e-4, 1.0, 0.01), rtol=1e-9, atol=1e-11)


def test_adahessian_matches_pytorch_optimizer_without_conv():
    """pytorch-optimizer's AdaHessian has no spatial averaging, so compare on 1-D/2-D parameters only."""
    problem = Quartic([(4, 3), (3,)])
    hp = dict(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-4, hessian_power=0.8, weight_decay=0.01)
    ours = _run_hessian(lambda ps: _build("adahessian", ps, **hp), problem)
    peer = _run_hessian(
        lambda ps: po.AdaHessian(
            ps, lr=0.05, betas=(0.9, 0.999), eps=1e-4, hessian_power=0.8, weight_decay=0.01
        ),
        problem,
    )
    _close(ours, peer, rtol=1e-9, atol=1e-11)


# --------------------------------------------------------------------------- M-FAC


def test_mfac_product_equals_explicit_inverse():
    """After filling and wrapping the window, F^-1 x = (lambda I + (1/m) sum g g^T)^-1 x exactly."""
    from implementations.optimizers.mfac import SlidingFisherInverse

    m, d, damp = 4, 10, 1e-2
    rng = np.random.default_rng(5)
    hinv = SlidingFisherInverse(m, d, damp, dtype=torch.float64)
    window = [np.zeros(d) for _ in range(m)]
    for i in range(7):
        g = rng.standard_normal(d)
        hinv.update(torch.tensor(g))
        window[i % m] = g
        x = rng.standard_normal(d)
        fisher = damp * np.eye(d) + sum(np.outer(gi, gi) for gi in window) / m
        np.testing.assert_allclose(hinv.mul(torch.tensor(x)).numpy(), np.linalg.solve(fisher, x), rtol=1e-8)


def test_mfac_optimizer_steps():
    w0, grads = _fixed(SHAPES)
    lr, m, damp, mu, wd = 1e-2, 5, 1e-1, 0.5, 0.01
    ours = _run(
        lambda ps: _build("mfac", ps, lr=lr, ngrads=m, damp=damp, momentum=mu, weight_decay=wd), w0, grads
    )
    sizes = [int(np.prod(s)) for s in SHAPES]
    w = np.concatenate([x.ravel() for x in w0])
    window, vel, ref = [np.zeros_like(w) for _ in range(m)], np.zeros_like(w), []
    for t, gs in enumerate(grads):
        g = np.concatenate([x.ravel() for x in gs]) + wd * w
        window[t % m] = g
        fisher = damp * np.eye(len(w)) + sum(np.outer(x, x) for x in window) / m
        vel = mu * vel + (1 - mu) * np.linalg.solve(fisher, g)
        w = w - lr * vel
        ref.append([x.reshape(s) for x, s in zip(np.split(w, np.cumsum(sizes)[:-1]), SHAPES, strict=False)])
    _close(ours, ref, rtol=1e-8, atol=1e-10)
