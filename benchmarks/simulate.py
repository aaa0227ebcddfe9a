"""Synthetic results with a known truth, as stored rows, judged through the engine the product calls
(``harness.stats.engine.judge``: leaderboard, data speedup, to-target brackets, test-set variance, direct
comparisons, verdict rule, look replay). Each replicate is a scale of its own (``r0``, ``r1``, ...), so one call
judges them all. Used by ``benchmarks/calibrate_verdicts.py`` (the tables of docs/statistics.md) and
``tests/test_calibration.py``.

Nuisances: seed noise (Gaussian, or Student-t with 3 df for heavy tails), tuning noise (each tuning study's chosen
configuration is off the optimum by tau·|Z| seed-sd, one draw per study: per budget and method), curves that are
power laws, saturate exponentially or bend in a cooldown, crossings between sparse evaluations, small fixed test
sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.contracts.interface import Claim
from harness.stats import engine
from harness.store import SCHEMA
from harness.train.trainer import target_crossing

CURVES = {  # the baseline's final loss against budget D (multiples of the method's budget)
    "power": lambda D, p: p["c"] + p["a"] * D ** -p["b"],
    "saturating": lambda D, p: p["c"] + p["a"] * np.exp(-p["k"] * D),
    "bent": lambda D, p: p["c"] + p["a"] * np.where(  # a cooldown: 2.5x steeper past 1.5D
        D < 1.5, D ** -p["b"], 1.5 ** -p["b"] * (D / 1.5) ** (-2.5 * p["b"])),
    "flattening": lambda D, p: p["c"] + p["a"] * np.where(  # a plateau: 3x flatter past 1.2D
        D < 1.2, D ** -p["b"], 1.2 ** -p["b"] * (D / 1.2) ** (-p["b"] / 3)),
}


def curve_params(rng, R: int) -> dict:
    return {"a": rng.uniform(0.5, 1.5, R), "b": rng.uniform(0.3, 0.5, R), "c": rng.uniform(1.5, 2.5, R),
            "k": rng.uniform(0.3, 0.8, R)}


def _noise(rng, shape, heavy: bool):
    return rng.standard_t(3, shape) / np.sqrt(3) if heavy else rng.normal(0, 1, shape)


def _rows(scale: np.ndarray, method: str, budget: float, losses: np.ndarray, units: int, repeats: bool,
          baseline: str, extra: dict | None = None) -> pd.DataFrame:
    """Final rows of one method at one budget for every replicate: ``losses`` (R, units)."""
    R = len(scale)
    seed = np.tile(np.arange(1, units + 1), R)
    out = pd.DataFrame({
        "suite": "sim", "suite_version": "1", "workload": "w", "scale": np.repeat(scale, units),
        "params": 1000, "budget_multiple": budget, "budget_tokens": int(round(budget * 20_000)), "method": method,
        "phase": "final", "status": "ok", "final_val_loss": losses.ravel(), "seed": seed, "baseline": baseline,
        "repeat": (seed - 1) if repeats else 0, "tuning_seeds": 1 if repeats else units,
        "tuning_repeats": units if repeats else 1, "device": "cpu", "cpu_model": "sim", "val_metric_name": "loss",
    })
    for key, value in (extra or {}).items():
        out[key] = value
    out["study_id"] = out["scale"] + f"|{method}|{budget:g}" + ("|" + out["repeat"].astype(str) if repeats else "")
    out["trial_id"] = out["study_id"] + "|" + out["seed"].astype(str)
    return out.assign(**{c: None for c in SCHEMA.names if c not in out})  # as the store reads them


def losses(rng, truth_at: np.ndarray, sd: np.ndarray, units: int, tau: float, repeats: bool, heavy: bool):
    """(R, units) final losses around ``truth_at`` (R,): seed noise sd, and tuning noise tau·sd·|Z| per tuning study
    (one per repeat when the units are repeated studies, else one shared by the seeds)."""
    R = len(truth_at)
    tuning = tau * sd[:, None] * np.abs(rng.normal(0, 1, (R, units if repeats else 1)))
    return truth_at[:, None] + tuning + sd[:, None] * _noise(rng, (R, units), heavy)


def data_claim_rows(rng, R: int, family: str, truth: np.ndarray, claimed: float, units: int = 3, tau: float = 0.0,
                    repeats: bool = False, heavy: bool = False, direct: bool = True, budgets=None) -> pd.DataFrame:
    """A data claim of ``claimed`` against a baseline on the verify design: method at D = 1, baseline at
    0.5 .. >= 1.5c (and c, 0.9c, 1 when ``direct``); true speedups ``truth`` (R,)."""
    from harness.verify import baseline_budgets

    p = curve_params(rng, R)
    law = CURVES[family]
    scale = np.array([f"r{i}" for i in range(R)])
    sd = rng.uniform(0.005, 0.03, R)
    ladder = budgets or baseline_budgets([1.0], [claimed])
    if not direct:
        ladder = [b for b in ladder if np.isclose(np.log2(b), np.round(np.log2(b)))]
    parts = [_rows(scale, "base", b, losses(rng, law(np.full(R, b), p), sd, units, tau, repeats, heavy), units,
                   repeats, "base") for b in ladder]
    parts.append(_rows(scale, "new", 1.0, losses(rng, law(truth, p), sd, units, tau, repeats, heavy), units, repeats,
                       "base"))
    return pd.concat(parts, ignore_index=True)


def judge(rows: pd.DataFrame, claim: Claim, start: int | None = None) -> pd.DataFrame:
    """The engine's verdict per replicate (scale): verdict, point, lo, hi, basis, look."""
    _, summary = engine.judge(rows, "new", [claim], start=start)
    order = pd.unique(rows["scale"])  # replicate i is scale r{i}: the truth's order
    return summary.set_index("scale").reindex(order)


def claim(metric: str = "data", factor: float = 1.4, form: str = "better", margin: float | None = None) -> Claim:
    return Claim(quote="simulated", factor=factor, metric=metric, baseline="base", setting="sim", source="sim",
                 suite="sim", form=form, margin=margin)


# --------------------------------------------------------------------------- to-target crossings


def target_rows(rng, R: int, truth: np.ndarray, evals: int, units: int = 3, sd: float = 0.15, tau: float = 0.0,
                steps: int = 1000) -> pd.DataFrame:
    """Runs at one budget (``steps``), evaluated ``evals`` times, evenly spaced, whose validation loss crosses a
    target at step t: the baseline's t ~ exp(U(log 0.04, log 0.8))·steps, the method's t/truth; each seed's t
    varies by a factor exp(sd·Z) (and a study's tuning noise by exp(tau·sd·|Z|)). The bracket and interpolation
    come from ``harness.train.trainer.target_crossing`` on the evaluated curve L = T·(t/step)^0.5."""
    scale = np.array([f"r{i}" for i in range(R)])
    t0 = np.exp(rng.uniform(np.log(0.04), np.log(0.8), R)) * steps
    at = np.linspace(steps / evals, steps, evals).round().astype(int)
    parts = []
    for method, centre in (("base", t0), ("new", t0 / truth)):
        study = tau * sd * np.abs(rng.normal(0, 1, (R, 1)))
        t = centre[:, None] * np.exp(study + sd * rng.normal(0, 1, (R, units)))
        cols = {k: [] for k in ("steps_to_target", "steps_to_target_lo", "target_crossing", "reached_target")}
        for crossing in t.ravel():
            curve = list(1.0 * (crossing / at) ** 0.5)
            first, f = target_crossing(curve, 1.0)
            cols["reached_target"].append(first is not None)
            cols["steps_to_target"].append(at[first] if first is not None else None)
            cols["steps_to_target_lo"].append((at[first - 1] if first else 0) if first is not None else None)
            cols["target_crossing"].append(f)
        loss = np.full((R, units), 2.0)
        parts.append(_rows(scale, method, 1.0, loss, units, False, "base", {**cols, "steps": steps}))
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- accuracy on a fixed test set


def accuracy_rows(rng, R: int, delta: float, units: int = 3, n_test: int = 360, sd: float = 0.004, tau: float = 0.0,
                  store: bool = True, population: int = 20_000, repeats: bool = False
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """Classification runs on a fixed test set of ``n_test`` examples drawn from a population of examples of varying
    difficulty; a model's chance on example i is sigmoid(theta - d_i), theta per seed (seed noise) and per study
    (tuning noise), and example i is right when its own draw u_i falls below that chance — u_i shared by every seed
    and method (models agree on most examples), redrawn per seed for 10% of them. ``delta``: the method's true
    population accuracy minus the baseline's (approximately: the truth returned is exact). Returns rows (with
    per-example correctness when ``store``) and the true differences (R,)."""
    scale = np.array([f"r{i}" for i in range(R)])
    d = rng.normal(0, 3.0, (R, population))  # most examples always right or always wrong, some in between
    theta_b = rng.uniform(3.5, 5.0, R)
    acc = lambda th: (1 / (1 + np.exp(-(th[:, None] - d)))).mean(1)  # noqa: E731
    slope = (acc(theta_b + 0.01) - acc(theta_b - 0.01)) / 0.02
    theta_m = theta_b + delta / slope
    truth = acc(theta_m) - acc(theta_b)
    test = np.stack([rng.choice(population, n_test, replace=False) for _ in range(R)])
    shared = rng.random((R, 1, n_test))
    parts = []
    for method, theta in (("base", theta_b), ("new", theta_m)):
        study = tau * np.abs(rng.normal(0, 1, (R, units if repeats else 1)))
        th = theta[:, None] + (study + rng.normal(0, 1, (R, units))) * sd / np.maximum(slope, 1e-6)[:, None]
        chance = 1 / (1 + np.exp(-(th[:, :, None] - np.take_along_axis(d, test, 1)[:, None, :])))
        u = np.where(rng.random(chance.shape) < 0.1, rng.random(chance.shape), shared)
        right = u < chance
        metric = right.mean(2)
        extra = {"final_val_metric": metric.ravel(), "val_metric_name": "accuracy"}
        if store:
            extra.update(eval_correct=[np.packbits(r).tobytes() for r in right.reshape(-1, n_test)],
                         eval_examples=n_test)
        parts.append(_rows(scale, method, 1.0, np.full((R, units), 1.0), units, repeats, "base", extra))
    return pd.concat(parts, ignore_index=True), truth
