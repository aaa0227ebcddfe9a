"""Each registered optimizer's step time against the fastest peer implementation of the same algorithm.

    PYTHONPATH=. python benchmarks/optimizer_peers.py [--scales nano micro] [--repeats 20] [--steps 10]

Follows the registry: every optimizer in ``registry.available("optimizer")`` gets a row; ``PEERS`` names the
implementations of the same update rule in torch, pytorch-optimizer and heavyball (where importable), built on
the same parameter roles with the same hyperparameters. Only ``optimizer.step()`` is timed (gradients fixed,
one thread), ``--repeats`` rounds of ``--steps`` steps, contenders interleaved in a shuffled order each round.
ratio = median(ours / peer) over rounds, with a 95% interval (order statistics of the per-round ratios). Exit 1
when an optimizer's interval lies entirely above 1.0 against its fastest peer (slower beyond the noise).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable

import torch

from harness.contracts import registry
from harness.contracts.interface import param_groups
from harness.train.workloads import gpt


def _po(name: str):
    try:
        import pytorch_optimizer
    except ImportError:
        return None
    return getattr(pytorch_optimizer, name, None)


def _hb(name: str):
    try:
        import heavyball
    except ImportError:
        return None
    return getattr(heavyball, name, None)


def _matrices_first(groups, build_matrix: Callable, hp: dict) -> list:
    """A hybrid peer: ``build_matrix`` on the 2-D matrices, fused AdamW elsewhere (as muon.py splits them)."""
    mats = [p for p in groups["matrix"] if p.ndim == 2]
    rest = {r: list(ps) for r, ps in groups.items() if r != "matrix"} | {"matrix": []}
    return [build_matrix(mats), torch.optim.AdamW(param_groups(rest, hp["weight_decay"]), lr=hp["adam_lr"],
                                                  betas=(hp["beta1"], hp["beta2"]), fused=True)]


# name -> {peer label: builder(groups, hp) -> optimizer(s)}; a builder that returns None is not installed here
PEERS: dict[str, dict[str, Callable]] = {
    "adamw": {
        "torch AdamW foreach": lambda g, hp: torch.optim.AdamW(param_groups(g, hp["weight_decay"]), lr=hp["lr"],
                                                               betas=(hp["beta1"], hp["beta2"]), foreach=True),
        "pytorch_optimizer AdamW": lambda g, hp: _po("AdamW") and _po("AdamW")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"])),
        "heavyball ForeachAdamW": lambda g, hp: _hb("ForeachAdamW") and _hb("ForeachAdamW")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"])),
    },
    "sgd": {
        "torch SGD foreach": lambda g, hp: torch.optim.SGD(param_groups(g, hp["weight_decay"]), lr=hp["lr"],
                                                           momentum=hp["momentum"], nesterov=hp["nesterov"],
                                                           foreach=True),
        "pytorch_optimizer SGD": lambda g, hp: _po("SGD") and _po("SGD")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"], momentum=hp["momentum"], nesterov=hp["nesterov"]),
    },
    "nadamw": {
        "pytorch_optimizer NAdam": lambda g, hp: _po("NAdam") and _po("NAdam")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
            decoupled_weight_decay=True),
    },
    "lion": {
        "pytorch_optimizer Lion": lambda g, hp: _po("Lion") and _po("Lion")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"])),
    },
    "muon": {
        "pytorch_optimizer Muon": lambda g, hp: _po("Muon") and _matrices_first(g, lambda ps: _po("Muon")(
            [{"params": ps, "use_muon": True}], lr=hp["lr"], momentum=hp["momentum"],
            weight_decay=hp["weight_decay"], nesterov=hp["nesterov"], ns_steps=hp["ns_steps"]), hp),
    },
    "adafactor": {
        "pytorch_optimizer AdaFactor": lambda g, hp: _po("AdaFactor") and _po("AdaFactor")(
            param_groups(g, hp["weight_decay"]), lr=hp["lr"]),
    },
    "soap": {
        "pytorch_optimizer SOAP": lambda g, hp: _po("SOAP") and _po("SOAP")(
            param_groups(g, hp.get("weight_decay", 0.01)), lr=hp["lr"]),
    },
}
DIFFERS = {  # where a peer exists but its algorithm is not ours, the reason
    "adafactor": "pytorch-optimizer's AdaFactor adds momentum (beta1) and relative step sizes by default",
    "soap": "pytorch-optimizer's SOAP preconditions with its own merge_dims/max_precondition_dim defaults",
}


def _fresh(scale: str):
    torch.manual_seed(0)
    task = gpt.build(scale, 0)
    x, y = next(task.batches(0))
    task.loss(task.model, (x, y)).backward()  # gradients fixed for every timed step
    return task


def _as_list(built) -> list:
    return list(built) if isinstance(built, list | tuple) else [built]


def contenders(name: str, scale: str) -> dict[str, list]:
    """``{label: optimizers}`` on separate but identical models: ours first."""
    method = registry.get("optimizer", name)
    hp = method.hparams({})
    out = {"ours": _as_list(method.build(_fresh(scale).groups, **hp))}
    for label, build in PEERS.get(name, {}).items():
        built = build(_fresh(scale).groups, hp)
        if built:
            out[label] = _as_list(built)
    return out


def rounds(opts: dict[str, list], repeats: int, steps: int) -> dict[str, list[float]]:
    """Seconds per step of each contender, one number per round."""
    times: dict[str, list[float]] = {k: [] for k in opts}
    for k in opts:  # untimed warm-up: optimizer state allocated
        for o in opts[k]:
            o.step()
    for _ in range(repeats):
        order = list(opts)
        random.shuffle(order)
        for k in order:
            start = time.perf_counter()
            for _ in range(steps):
                for o in opts[k]:
                    o.step()
            times[k].append((time.perf_counter() - start) / steps)
    return times


def ratio_ci(ours: list[float], peer: list[float]) -> tuple[float, float, float]:
    """Median of the per-round ratios and a ~95% distribution-free interval (order statistics)."""
    r = sorted(a / b for a, b in zip(ours, peer))
    n = len(r)
    k = max(0, int(n / 2 - 0.98 * n**0.5))  # binomial(n, 1/2) quantiles
    return statistics.median(r), r[k], r[min(n - 1, n - 1 - k)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", nargs="+", default=["nano", "micro"])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--only", nargs="*", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    random.seed(0)
    slower = []
    print("| optimizer | scale | ours ms | fastest peer | peer ms | ours / peer [95% CI] | note |")
    print("|---|---|---|---|---|---|---|")
    for name in registry.available("optimizer"):
        if args.only and name not in args.only:
            continue
        method = registry.get("optimizer", name)
        if {"create_graph", "sampled_loss"} & set(method.needs_for(method.hparams({}))):
            print(f"| {name} | | | | | | step needs Hessian-vector products: not timed here |")
            continue
        for scale in args.scales:
            times = rounds(contenders(name, scale), args.repeats, args.steps)
            ours = statistics.median(times["ours"])
            peers = {k: v for k, v in times.items() if k != "ours"}
            if not peers:
                print(f"| {name} | {scale} | {1e3 * ours:.2f} | — | — | — | no peer installed |")
                continue
            best = min(peers, key=lambda k: statistics.median(peers[k]))
            mid, lo, hi = ratio_ci(times["ours"], peers[best])
            note = DIFFERS.get(name, "")
            if lo > 1.0 and not note:
                slower.append(f"{name}/{scale}")
                note = "SLOWER than its fastest peer"
            print(f"| {name} | {scale} | {1e3 * ours:.2f} | {best} | {1e3 * statistics.median(peers[best]):.2f} "
                  f"| {mid:.2f} [{lo:.2f}, {hi:.2f}] | {note} |")
    if slower:
        print(f"slower than a peer of the same algorithm: {', '.join(slower)}", file=sys.stderr)
    return 1 if slower else 0


if __name__ == "__main__":
    sys.exit(main())
