"""Per-step cost of every registered optimizer on a GPT-shaped parameter set (skipped by default).

Run:  python -m pytest tests/benchmarks/test_bench_optimizers.py --benchmark-only -s
Parameter shapes are those of a GPT with d_model=128, 4 layers, vocabulary 256, context 256
(untied head, no biases), on the GPU when there is one. The step timed is: backward of a cheap
stand-in loss (with ``create_graph`` for the Hessian methods, as the trainer would) plus
``optimizer.step()``; the same for every optimizer, so ratios isolate the optimizers' own cost.
pytest-benchmark times our step; the ratios to AdamW and to the peer (the fastest installed implementation
of the same algorithm at these shapes, at our defaults: torch's fused AdamW/SGD, torch.optim.Muon,
pytorch-optimizer's foreach kernels; benchmarks/optimizer_peers.py races every variant) are medians of
per-round ratios with the steps interleaved, printed at the end and stored in each benchmark's ``extra_info``.
Shampoo and M-FAC have no installed peer of the same algorithm.
"""

from __future__ import annotations

import statistics
import sys
import time

import pytest
import pytorch_optimizer as po
import torch

from harness.contracts.registry import available

D, LAYERS, VOCAB, CONTEXT = 128, 4, 256, 256
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
if DEVICE == "cpu":
    torch.set_num_threads(1)  # steadier timings on a shared CPU


def gpt_groups() -> dict[str, list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    make = lambda *shape: (torch.randn(*shape, generator=gen) * 0.02).to(DEVICE).requires_grad_()
    ones = lambda: torch.ones(D, device=DEVICE, requires_grad=True)
    groups = {
        "matrix": [],
        "embedding": [make(VOCAB, D), make(CONTEXT, D)],
        "head": [make(VOCAB, D)],
        "scalar": [ones()],
    }
    for _ in range(LAYERS):
        groups["matrix"] += [make(3 * D, D), make(D, D), make(4 * D, D), make(D, 4 * D)]
        groups["scalar"] += [ones(), ones()]
    return groups


def _flat(groups):
    return [p for ps in groups.values() for p in ps]


def _peer(name: str, groups):
    """The fastest installed implementation of the same algorithm at our defaults, or None."""
    ps = _flat(groups)
    hp = available("optimizer")[name.removesuffix("_hutchinson")].hparams({})
    if name == "muon":
        rest = [p for r in ("embedding", "head", "scalar") for p in groups[r]]
        return [torch.optim.Muon(groups["matrix"], lr=hp["lr"], weight_decay=hp["weight_decay"],
                                 momentum=hp["momentum"], adjust_lr_fn=hp["adjust_lr_fn"]),
                torch.optim.AdamW(rest, lr=hp["adam_lr"], betas=(hp["beta1"], hp["beta2"]), fused=True)]
    rho = hp.get("rho", 1.0)  # SophiaH's lr' clip(m / max(h, eps'), p): p = rho, lr' = lr / rho, eps' = eps / rho
    peers = {
        "adamw": lambda: torch.optim.AdamW(ps, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                                           weight_decay=hp["weight_decay"], fused=True),
        "sgd": lambda: torch.optim.SGD(ps, lr=hp["lr"], momentum=hp["momentum"], nesterov=True, fused=True),
        "nadamw": lambda: torch.optim.NAdam(ps, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                                            weight_decay=hp["weight_decay"], decoupled_weight_decay=True,
                                            foreach=True),
        "adafactor": lambda: torch.optim.Adafactor(ps, lr=hp["lr"], foreach=True),
        "lion": lambda: po.Lion(ps, lr=hp["lr"], weight_decay=hp["weight_decay"], foreach=True),
        "soap": lambda: po.SOAP(ps, lr=hp["lr"], precondition_frequency=hp["precondition_frequency"]),
        "sophia_hutchinson": lambda: po.SophiaH(ps, lr=hp["lr"] / rho, betas=(hp["beta1"], hp["beta2"]), p=rho,
                                                eps=hp["eps"] / rho,
                                                weight_decay=hp["weight_decay"] * rho,
                                                update_period=hp["update_period"], foreach=True),
        "adahessian": lambda: po.AdaHessian(ps, lr=hp["lr"], eps=hp["eps"], weight_decay=hp["weight_decay"],
                                            foreach=True),
    }
    return peers[name]() if name in peers else None


def _ours(name: str, groups):
    method = available("optimizer")[name.removesuffix("_hutchinson")]
    hp = {"estimator": "hutchinson"} if name == "sophia_hutchinson" else {}
    opts = method.build(groups, **method.hparams(hp))
    return opts if isinstance(opts, list) else [opts], set(method.needs_for(hp))


NAMES = sorted(set(available("optimizer")) | {"sophia_hutchinson"})
TIMES: dict[str, float] = {}


def _step_fn(groups, opts, needs):
    params = _flat(groups)
    weights = [torch.rand_like(p) for p in params]
    loss_terms = lambda: torch.stack(
        [(w * p * p).sum() + (p**3).sum() for w, p in zip(weights, params, strict=False)]
    )
    for opt in opts:
        if hasattr(opt, "set_sampled_loss"):
            opt.set_sampled_loss(loss_terms)

    def step():
        for p in params:
            p.grad = None
        loss_terms().sum().backward(create_graph="create_graph" in needs)
        for opt in opts:
            opt.step()
        if DEVICE == "cuda":
            torch.cuda.synchronize()

    return step


def _interleaved_ratios(name: str, rounds: int = 15) -> dict[str, float]:
    """Median over rounds of ours/AdamW and ours/peer, the three steps timed back to back each round.

    Interleaving cancels the slow load drifts of a shared machine that separate benchmarks suffer.
    """
    runs = {"ours": _make(name, "ours"), "adamw": _make("adamw", "ours"), "peer": _make(name, "peer")}
    runs = {k: v for k, v in runs.items() if v is not None}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for key, step in runs.items():
            start = time.perf_counter()
            step()
            times[key].append(time.perf_counter() - start)
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(times[a], times[b], strict=False))
    out = {"ours_over_adamw": ratio("ours", "adamw")}
    if "peer" in runs:
        out["ours_over_peer"] = ratio("ours", "peer")
    return out


def _make(name: str, impl: str):
    """A warmed-up step function for ``name`` (``ours`` or pytorch-optimizer's ``peer``), or None."""
    groups = gpt_groups()
    if impl == "ours":
        opts, needs = _ours(name, groups)
    else:
        peer = _peer(name, groups)
        if peer is None:
            return None
        needs = {"create_graph"} if name in ("sophia_hutchinson", "adahessian") else set()
        opts = peer if isinstance(peer, list) else [peer]
    step = _step_fn(groups, opts, needs)
    for _ in range(3):  # warm-up: state allocation, SOAP's initialisation step
        step()
    return step


RATIOS: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def ratio_table():
    yield
    if not RATIOS:
        return
    lines = [
        "",
        f"{'optimizer':<20}{'ours ms':>10}{'ours/AdamW':>12}{'ours/peer':>11}   (interleaved medians)",
    ]
    for name in NAMES:
        if name in RATIOS:
            r = RATIOS[name]
            lines.append(
                f"{name:<20}{TIMES[name] * 1e3:>10.2f}{r['ours_over_adamw']:>12.2f}"
                f"{r.get('ours_over_peer', float('nan')):>11.2f}"
            )
    sys.__stdout__.write("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", NAMES)
def test_step(benchmark, name):
    step = _make(name, "ours")
    benchmark.group = "optimizer step"
    benchmark(step)
    TIMES[name] = benchmark.stats.stats.median
    RATIOS[name] = _interleaved_ratios(name)
    benchmark.extra_info.update(RATIOS[name])
