"""Each registered optimizer's step time against the fastest installed variant of every peer implementation.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/optimizer_peers.py [--shapes nano micro 768 2048]
        [--repeats 21] [--steps 5] [--only adafactor sophia] [--max-step-s 2] [--no-heavyball] [--check]

Follows the registry: every optimizer in ``registry.available("optimizer")`` gets a row per shape. ``PEERS`` lists
every installed implementation of the same update rule, and of close variants, in each of its variants: torch's
fused, foreach and for-loop kernels; pytorch-optimizer foreach and per-parameter (its AdamW, SGD and NAdam are
torch's classes, so they are torch's rows); heavyball 3.x, compiled by torch.compile as it ships (installed with
``pip install --no-deps heavyball``; uncompiled it is ~25x slower). Peers take our defaults in their own
parametrisation. A peer that is not the same algorithm says how it differs; ``--check`` measures it.

Shapes: the gpt ``nano`` and ``micro`` parameter sets (every role; gradients of real batches) and one ``768`` x 768
or ``2048`` x 2048 weight (or any ``NxM``). Only ``optimizer.step()`` is timed, on one torch thread: ``--repeats``
rounds of ``--steps`` steps (SOAP and Shampoo: one preconditioner period, 10), the contenders in a new shuffled
order each round; the steps cycle through 4 gradient sets, copied before the clock starts. ratio = median over
rounds of ours / peer with a 95% distribution-free interval (``paired.ratio_ci``). The table names the fastest peer
and, when that one is a different algorithm, the fastest of the same algorithm. Sophia and AdaHessian: the update
between Hessian refreshes (``update_period`` past the run; the refresh is one Hutchinson product through autograd in
ours and the peer alike). A contender whose warm-up step takes over ``--max-step-s`` is left out and its ratio
printed as a bound (torch's bf16 Newton-Schulz on a CPU without bf16 dot products: minutes a step at 2048). An A/A
control, a second copy of ours, gives the floor of the method: the same code against itself on other tensors (at
2048 x 2048 the placement of 16 MB tensors alone moves a ratio by several %). Exit 1 when ours is slower than a peer
of the same algorithm beyond both its interval and the A/A interval's upper end.

``--check`` instead runs ours and each peer for 4 steps in float64 on a 24 x 16 weight and a 16-vector and prints
the largest relative difference of the weights: ~1e-16 for the same algorithm (SOAP's QR in float32: ~1e-10;
Muon's bf16 Newton-Schulz: ~1e-4), larger where ``PEERS`` says it differs.
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import paired
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from harness.contracts import registry
from harness.contracts.interface import param_groups
from harness.train.workloads import gpt

FAR = 10**9  # an update_period past any run: Hessian methods refresh at step 1 only
COPY = "ours (copy)"  # the A/A control


def _po(name: str):
    try:
        import pytorch_optimizer
    except ImportError:
        return None
    return getattr(pytorch_optimizer, name, None)


def _hb(name: str):
    if os.environ.get("PEERS_NO_HEAVYBALL"):
        return None
    try:
        import heavyball
    except ImportError:
        return None
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 256)
    torch._dynamo.config.accumulated_cache_size_limit = max(torch._dynamo.config.accumulated_cache_size_limit, 4096)
    return getattr(heavyball, name, None)


def _decayed(g, hp):
    return param_groups(g, hp["weight_decay"])


def _hybrid(groups, build_matrix: Callable, hp: dict, adam_fused: bool = True) -> list:
    """``build_matrix`` on the 2-D matrices, torch's fused AdamW on the rest (as muon.py splits them)."""
    mats = [p for p in groups.get("matrix", []) if p.ndim == 2]
    rest = {r: list(ps) for r, ps in groups.items() if r != "matrix"} | {"matrix": []}
    out = [build_matrix(mats)] if mats else []
    rest_groups = param_groups(rest, hp["weight_decay"])
    if rest_groups:
        out.append(torch.optim.AdamW(rest_groups, lr=hp["adam_lr"], betas=(hp["beta1"], hp["beta2"]),
                                     fused=adam_fused))
    return out


def _torch_variants(cls: Callable, make_kwargs: Callable, fused: bool = True) -> dict[str, Callable]:
    out = {}
    if fused:
        out[f"torch {cls.__name__} fused"] = lambda g, hp: cls(**make_kwargs(g, hp), fused=True)
    out[f"torch {cls.__name__} foreach"] = lambda g, hp: cls(**make_kwargs(g, hp), foreach=True)
    out[f"torch {cls.__name__} for-loop"] = lambda g, hp: cls(**make_kwargs(g, hp), foreach=False)
    return out


def _po_variants(name: str, make: Callable) -> dict[str, Callable]:
    """pytorch-optimizer's ``name``, foreach on and off where it has both; None when it is not installed."""
    cls = _po(name)
    if cls is None:
        return {}
    if "foreach" not in inspect.signature(cls.__init__).parameters:
        return {f"pytorch_optimizer {name}": lambda g, hp: make(cls, g, hp)}
    return {f"pytorch_optimizer {name} {tag}": (lambda g, hp, fe=fe: make(cls, g, hp, foreach=fe))
            for tag, fe in (("foreach", True), ("for-loop", False))}


def _adamw_kw(g, hp):
    return dict(params=_decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])


def _sgd_kw(g, hp):
    return dict(params=_decayed(g, hp), lr=hp["lr"], momentum=hp["momentum"], nesterov=hp["nesterov"])


def _nadam_kw(g, hp):
    return dict(params=_decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                momentum_decay=hp["momentum_decay"], decoupled_weight_decay=True)


def _adafactor_kw(g, hp):
    return dict(params=_decayed(g, hp), lr=hp["lr"], beta2_decay=hp["beta2_decay"], eps=(None, hp["eps2"]),
                d=hp["d"])


def _torch_muon(fused_adam: bool):
    return lambda g, hp: _hybrid(g, lambda ps: torch.optim.Muon(
        ps, lr=hp["lr"], weight_decay=hp["weight_decay"], momentum=hp["momentum"], nesterov=hp["nesterov"],
        ns_steps=hp["ns_steps"], adjust_lr_fn=hp["adjust_lr_fn"]), hp, fused_adam)


def _po_muon(cls, g, hp, **kw):
    return _hybrid(g, lambda ps: cls([{"params": ps, "use_muon": True}], lr=hp["lr"], momentum=hp["momentum"],
                                     weight_decay=hp["weight_decay"], nesterov=hp["nesterov"],
                                     ns_steps=hp["ns_steps"], use_adjusted_lr=hp["adjust_lr_fn"] == "match_rms_adamw",
                                     **kw), hp)


def _po_sophia(cls, g, hp, **kw):
    """SophiaH's lr' clip(m / max(h, eps'), p) is ours with p = rho, lr' = lr / rho, eps' = eps / rho, wd' = wd rho."""
    rho = hp["rho"]
    return cls(param_groups(g, hp["weight_decay"] * rho), lr=hp["lr"] / rho, betas=(hp["beta1"], hp["beta2"]),
               p=rho, eps=hp["eps"] / rho, update_period=FAR, **kw)


def _po_adahessian(cls, g, hp, **kw):
    return cls(param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
               hessian_power=hp["hessian_power"], update_period=FAR, **kw)


def _po_adafactor(cls, g, hp, **kw):
    """The nearest settings: no momentum, the external lr (relative_step=False), RMS(w) scaling, clipping d."""
    return cls(param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(None, 0.999), decay_rate=hp["beta2_decay"],
               clip_threshold=hp["d"], relative_step=False, scale_parameter=True, eps2=hp["eps2"], **kw)


SAME = ""  # note of a peer that implements our algorithm
ADAFACTOR_DIFF = (  # BigVision's variant; with our defaults (wd = 0) the two coincide until beta2_t reaches 0.999
    "differs: eps1 = 1e-30 added to G^2 (no clamps of V, mean(R)), beta2_t capped at 0.999 (from t = 5,624), "
    "step lr max(eps2, RMS(w)) without min(lr, 1/sqrt(t)), decay scaled by that step")

# ours -> {peer label: (note, builder(groups, hp) -> optimizer(s) or None when not installed)}
PEERS: dict[str, dict[str, tuple[str, Callable]]] = {
    "adamw": {
        **{k: (SAME, b) for k, b in _torch_variants(torch.optim.AdamW, _adamw_kw).items()},
        "heavyball AdamW": ("differs: denominator max(sqrt(v^), eps), not sqrt(v^) + eps",
                            lambda g, hp: _hb("AdamW") and _hb("AdamW")(
                                _decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])),
    },
    "sgd": {
        **{k: (SAME, b) for k, b in _torch_variants(torch.optim.SGD, _sgd_kw).items()},
        "heavyball SGD": ("differs: heavy-ball momentum without the Nesterov look-ahead; decoupled decay",
                          lambda g, hp: _hb("SGD") and _hb("SGD")(_decayed(g, hp), lr=hp["lr"], beta=hp["momentum"])),
    },
    "nadamw": {
        **{k: (SAME, b) for k, b in _torch_variants(torch.optim.NAdam, _nadam_kw, fused=False).items()},
        "heavyball NAdam": ("differs: denominator max(sqrt(v^), eps), not sqrt(v^) + eps",
                            lambda g, hp: _hb("NAdam") and _hb("NAdam")(
                                _decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                                momentum_decay=hp["momentum_decay"], decoupled_weight_decay=True)),
    },
    "lion": {k: (SAME, b) for k, b in _po_variants("Lion", lambda cls, g, hp, **kw: cls(
        _decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), **kw)).items()},
    "muon": {
        "torch Muon + AdamW fused": (SAME, _torch_muon(True)),
        "torch Muon + AdamW foreach": (SAME, _torch_muon(False)),
        **{k: (SAME, b) for k, b in _po_variants("Muon", _po_muon).items()},
        "heavyball MuonAdamW": ("differs: momentum g + EMA(g) (nesterov_ema), its own orthogonal-update scaling; "
                                "AdamW denominator max(sqrt(v^), eps)",
                                lambda g, hp: _hb("MuonAdamW") and _hb("MuonAdamW")(
                                    _decayed(g, hp), lr=hp["lr"], betas=(hp["momentum"], hp["beta2"]))),
    },
    "adafactor": {
        **{k: (SAME, b) for k, b in _torch_variants(torch.optim.Adafactor, _adafactor_kw, fused=False).items()},
        **{k: (ADAFACTOR_DIFF, b) for k, b in _po_variants("AdaFactor", _po_adafactor).items()},
    },
    "soap": {
        **{k: (SAME, b) for k, b in _po_variants("SOAP", lambda cls, g, hp, **kw: cls(
            _decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), shampoo_beta=hp["shampoo_beta"],
            eps=hp["eps"], precondition_frequency=hp["precondition_frequency"],
            max_precondition_dim=hp["max_precond_dim"], **kw)).items()},
        "heavyball SOAP": ("differs: Adam denominator max(sqrt(v^), eps), not sqrt(v^) + eps; first moment kept in "
                           "the eigenbasis",
                           lambda g, hp: _hb("SOAP") and _hb("SOAP")(
                               _decayed(g, hp), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                               precondition_frequency=hp["precondition_frequency"])),
    },
    "shampoo": {
        "pytorch_optimizer Shampoo": ("differs: the 2018 Shampoo (summed statistics, no Adam grafting, momentum on "
                                      "the preconditioned gradient, roots by SVD)",
                                      lambda g, hp: _po("Shampoo") and _po("Shampoo")(
                                          _decayed(g, hp), lr=hp["lr"], momentum=hp["beta1"],
                                          preconditioning_compute_steps=hp["precondition_frequency"])),
    },
    "sophia": {k: (SAME, b) for k, b in _po_variants("SophiaH", _po_sophia).items()},
    "adahessian": {k: (SAME, b) for k, b in _po_variants("AdaHessian", _po_adahessian).items()},
}
# what ours is given on top of its defaults (the same for its peers, via hp)
OURS_HP = {"sophia": {"estimator": "hutchinson", "update_period": FAR}, "adahessian": {"update_period": FAR}}
SLOW_NOTE = "left out: a warm-up step took over --max-step-s (the ratio is an upper bound)"
NO_PEER = {"mfac": "no installed implementation of M-FAC (pytorch-optimizer and heavyball have none)"}


GRAD_SETS = 4  # steps cycle through this many gradients (a repeated one makes summed statistics degenerate)


def task(shape: str, dtype=torch.float32):
    """``(groups, loss, grad_sets)``: role -> parameters, a loss to differentiate twice, and ``GRAD_SETS``
    gradients (gpt: of as many batches; a square weight: Gaussian, scaled as the loss's)."""
    torch.manual_seed(0)
    if shape in gpt.SCALES:
        t = gpt.build(shape, 0)
        t.model.to(dtype)
        batches = t.batches(0)
        groups = t.groups
        grad_sets = []
        for _ in range(GRAD_SETS):
            batch = next(batches)
            t.model.zero_grad(set_to_none=True)
            t.loss(t.model, batch).backward()
            grad_sets.append([p.grad for ps in groups.values() for p in ps])
        return groups, (lambda: t.loss(t.model, batch)), grad_sets
    n, m = (int(s) for s in shape.split("x")) if "x" in shape else (int(shape), int(shape))
    gen = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter((torch.randn(n, m, generator=gen) / m**0.5).to(dtype))
    groups = {"matrix": [w]}
    if n == 24:  # the --check task also holds a vector
        groups["scalar"] = [torch.nn.Parameter(torch.randn(16, generator=gen).to(dtype))]
    params = [p for ps in groups.values() for p in ps]
    target = [torch.randn(p.shape, generator=gen).to(dtype) for p in params]
    grad_sets = [[(torch.randn(p.shape, generator=gen) / m**0.5).to(dtype) for p in params]
                 for _ in range(GRAD_SETS)]
    return groups, (lambda: sum((0.25 * p**4 - p * y).sum() for p, y in zip(params, target, strict=True))), grad_sets


@dataclass
class Contender:
    label: str
    note: str
    opts: list
    params: list
    grad_sets: list
    error: str = ""
    steps: int = 0

    def feed(self) -> list:
        """A copy of the next gradients in the cycle (some peers write into p.grad; heavyball sets it to None)."""
        self.steps += 1
        return [g.clone() for g in self.grad_sets[(self.steps - 1) % len(self.grad_sets)]]

    def step(self, grads: list | None = None) -> None:
        for p, g in zip(self.params, grads or self.feed(), strict=True):
            p.grad = g
        for o in self.opts:
            o.step()


def _contender(label: str, note: str, build: Callable, shape: str, hp: dict, hessian: bool, dtype=torch.float32):
    groups, loss, grad_sets = task(shape, dtype)
    built = build(groups, hp)
    if not built:
        return None
    opts = list(built) if isinstance(built, list | tuple) else [built]
    params = [p for ps in groups.values() for p in ps]
    if hessian:  # step 1 refreshes the Hessian estimate: gradients carrying their graph (math attention: twice
        for p in params:  # differentiable, as the trainer's backward_context)
            p.grad = None
        with sdpa_kernel(SDPBackend.MATH):
            loss().backward(create_graph=True)
            for o in opts:
                o.step()
        for p in params:
            p.grad = None
    return Contender(label, note, opts, params, grad_sets)


def contenders(name: str, shape: str, dtype=torch.float32, control: bool = False) -> list[Contender]:
    """Ours first, then every installed peer variant, each on its own copy of the same parameters; ``control``:
    a second copy of ours last (``COPY``), whose ratio to ours is the A/A floor: what the same code measures
    against itself with other tensors (large tensors' placement in memory alone moves it by several %)."""
    method = registry.get("optimizer", name)
    hp = method.hparams(OURS_HP.get(name, {}))
    hessian = bool({"create_graph", "sampled_loss"} & set(method.needs_for(hp)))
    out = [_contender("ours", SAME, lambda g, hp: method.build(g, **hp), shape, hp, hessian, dtype)]
    for label, (note, build) in PEERS.get(name, {}).items():
        c = _contender(label, note, build, shape, hp, hessian, dtype)
        if c is not None:
            out.append(c)
    if control:
        out.append(_contender(COPY, SAME, lambda g, hp: method.build(g, **hp), shape, hp, hessian, dtype))
    return out


class _TooSlow(Exception):
    pass


def _raise_too_slow(signum, frame):
    raise _TooSlow


def _bounded_step(c: Contender, budget_s: float) -> float | None:
    """One step; its seconds, or None when it ran past ``budget_s`` (checked between torch calls)."""
    old = signal.signal(signal.SIGALRM, _raise_too_slow)
    signal.setitimer(signal.ITIMER_REAL, budget_s)
    start = time.perf_counter()
    try:
        c.step()
        return time.perf_counter() - start
    except _TooSlow:
        return None
    except Exception as e:  # a peer that fails at our defaults (e.g. an SVD that does not converge)
        c.error = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def warm_up(cs: list[Contender], budget_s: float) -> tuple[list[Contender], list[Contender]]:
    """Untimed steps: state allocated, SOAP's basis-only first step, heavyball's compilation (12 steps of up to
    900 s: max-autotune on CPU benchmarks every GEMM, and its preconditioner refresh at step 11 compiles its own
    graph; inductor's disk cache makes a second run quick), then one step within ``budget_s``. A contender that
    takes longer or raises is left out (bf16 matmul is emulated on a CPU without bf16 dot products: torch's
    Muon then takes minutes a step)."""
    kept, out = [], []
    for c in cs:
        compiled = c.label.startswith("heavyball")
        ok = all(_bounded_step(c, max(900.0 if compiled else 60.0, budget_s)) is not None
                 for _ in range(12 if compiled else 1))
        if ok and _bounded_step(c, budget_s) is not None:
            kept.append(c)
            continue
        if "_TooSlow" in c.error:  # the alarm fired inside torch.compile
            c.error = ""
        out.append(c)
    return kept, out


def rounds(cs: list[Contender], repeats: int, steps: int) -> dict[str, list[float]]:
    """Seconds per step of each contender, one number per round, in a shuffled order each round; each step gets
    a fresh copy of the fixed gradients, made before the clock starts. A contender that raises is dropped."""
    times: dict[str, list[float]] = {c.label: [] for c in cs}
    for _ in range(repeats):
        order = [c for c in cs if not c.error]
        random.shuffle(order)
        for c in order:
            feeds = [c.feed() for _ in range(steps)]
            start = time.perf_counter()
            try:
                for feed in feeds:
                    c.step(feed)
            except Exception as e:
                c.error = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
                continue
            times[c.label].append((time.perf_counter() - start) / steps)
    return {c.label: times[c.label] for c in cs if not c.error}


def _row(name, shape, times, ours, label, note, aa) -> tuple[str, float]:
    mid, lo, hi = paired.ratio_ci(times["ours"], times[label])
    control = f"{aa[0]:.2f} [{aa[1]:.2f}, {aa[2]:.2f}]" if aa else "—"
    text = (f"| {name} | {shape} | {1e3 * ours:.3f} | {label} | {1e3 * statistics.median(times[label]):.3f} "
            f"| {mid:.2f} [{lo:.2f}, {hi:.2f}] | {control} | {note or 'same algorithm'} |")
    return text, lo


@torch.no_grad()
def _diff(a: list, b: list) -> float:
    return max(float((x - y).abs().max() / x.abs().max()) for x, y in zip(a, b, strict=True))


def check(names) -> None:
    """Largest relative weight difference, ours vs each peer, after 4 float64 steps on a 24 x 16 weight."""
    print("| optimizer | peer | max relative difference after 4 float64 steps |")
    print("|---|---|---|")
    for name in names:
        cs = contenders(name, "24x16", torch.float64)
        for c in cs:
            for _ in range(4):
                c.step()
        ours = cs[0].params
        for c in cs[1:]:
            print(f"| {name} | {c.label} | {_diff(ours, c.params):.1e} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", nargs="+", default=["nano", "micro", "768", "2048"],
                   help="gpt scales (nano, micro, ...) and square weights (768, 2048) or NxM")
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--only", nargs="*", default=None, help="optimizers to run (default: every registered one)")
    p.add_argument("--no-heavyball", action="store_true", help="leave heavyball out (its compilation takes minutes)")
    p.add_argument("--max-step-s", type=float, default=2.0,
                   help="leave out a contender whose warm-up step takes longer (ratio then an upper bound)")
    p.add_argument("--check", action="store_true", help="print how far each peer's weights are from ours instead")
    args = p.parse_args()
    if args.no_heavyball:
        os.environ["PEERS_NO_HEAVYBALL"] = "1"
    torch.set_num_threads(1)
    random.seed(0)
    names = [n for n in registry.available("optimizer") if not args.only or n in args.only]
    if args.check:
        check(names)
        return 0
    slower = []
    print("| optimizer | shape | ours ms | fastest peer | peer ms | ours / peer [95% CI] | A/A: ours / ours' | note |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        if name not in PEERS:
            print(f"| {name} | | | — | | — | | {NO_PEER.get(name, 'no peer installed')} |")
            continue
        # a round spans a whole preconditioner period (SOAP, Shampoo): every round holds one refresh
        steps = max(args.steps, registry.get("optimizer", name).hparams({}).get("precondition_frequency", 0))
        for shape in args.shapes:
            cs, slow = warm_up(contenders(name, shape, control=True), args.max_step_s)
            if any(c.label == "ours" for c in slow):
                print(f"| {name} | {shape} | > {args.max_step_s:g} s | | | | | ours not timed |")
                continue
            times = rounds(cs, args.repeats, steps)
            if "ours" not in times:
                print(f"| {name} | {shape} | failed: {cs[0].error} | | | | | |")
                continue
            ours = statistics.median(times["ours"])
            for c in (c for c in slow if c.label != COPY):
                if c.error:
                    print(f"| {name} | {shape} | {1e3 * ours:.3f} | {c.label} | — | — | | failed at our defaults: "
                          f"{c.error}; {c.note or 'same algorithm'} |", flush=True)
                    continue
                print(f"| {name} | {shape} | {1e3 * ours:.3f} | {c.label} | > {1e3 * args.max_step_s:g} | "
                      f"< {ours / args.max_step_s:.3f} | | {SLOW_NOTE}; {c.note or 'same algorithm'} |", flush=True)
            for c in cs:
                if c.error:
                    print(f"| {name} | {shape} | {1e3 * ours:.3f} | {c.label} | — | — | | failed at our defaults: "
                          f"{c.error}; {c.note or 'same algorithm'} |", flush=True)
            if len(cs) == 1 and not slow:
                print(f"| {name} | {shape} | | — | | — | | no peer installed |")
            cs = [c for c in cs if not c.error]
            if len(cs) == 1:
                continue
            aa = paired.ratio_ci(times["ours"], times[COPY]) if COPY in times else None
            notes = {c.label: c.note for c in cs[1:] if c.label != COPY}
            if not notes:
                continue
            fastest = min(notes, key=lambda k: statistics.median(times[k]))
            text, _ = _row(name, shape, times, ours, fastest, notes[fastest], aa)
            print(text, flush=True)
            same = [k for k in notes if notes[k] == SAME]
            if same:
                best_same = min(same, key=lambda k: statistics.median(times[k]))
                text, lo = _row(name, shape, times, ours, best_same, SAME, aa)
                if best_same != fastest:
                    print(text.replace("same algorithm |", "fastest of the same algorithm |"), flush=True)
                if lo > max(1.0, aa[2] if aa else 1.0):  # beyond the interval and the A/A floor
                    slower.append(f"{name}/{shape} vs {best_same}")
    if slower:
        print(f"slower than a peer of the same algorithm: {', '.join(slower)}", file=sys.stderr)
    return 1 if slower else 0


if __name__ == "__main__":
    sys.exit(main())
