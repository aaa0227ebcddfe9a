"""Simulation with known truth for harness.stats.speedup: coverage, bounds, width, bias, false support, power,
and the sequential-seeds rule (the tables of docs/statistics.md). Vectorised over replicates; run
``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/calibrate_speedup.py`` (``--quick`` for fewer replicates,
``--all-schedules`` to add the constant-0.97 sequential schedule); tests/test_statistics.py draws from it.

Truth: baseline L(D) = c + a·D^-b (D in Chinchilla multiples), "flat" b ~ U(0.05, 0.1),
a ~ U(0.2, 0.5), c ~ U(2.5, 3.0); "steep" b ~ U(0.3, 0.5), a ~ U(0.5, 1.5), c ~ U(1.5, 2.5);
"mixed" (not a power law: a misspecification check) c + a·D^-b + a2·D^-b2 with the flat (a, b),
c ~ U(2, 2.5), b2 ~ U(0.7, 1), a2 ~ U(0.3, 0.8).
Seed noise: Gaussian, sd ~ U(0.005, 0.03) per replicate, the same at every budget and for the
method ("hetero": method sd x U(1, 2), baseline sd x 1.5 at D_1 falling to x 0.75 at D_k).
Method: loss = L(s·D) + noise, true speedup s. Designs: "fixed" baseline at 1, 2, 4, 8x with the
method at one of them (uniform); "planned" baseline at D·2^j, j = -1 .. ceil(log2(1.5·c)) (at
least 0.5D .. 2D) so the budgets span the claim with a 1.5x margin (coverage and sequential runs:
c = 1.6, i.e. 0.5D .. 4D).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from harness.stats import claims
from harness.stats.claims import MARGIN
from harness.stats.engine import look_confidence
from harness.stats.speedup import VARIANCE, estimate_rows, isotonic_decreasing, point_x

_RULE = np.vectorize(claims.verdict, otypes=[object])


def verdict(lo, hi, claimed):
    """The product's rule (``claims.verdict``) on arrays."""
    return _RULE(claimed, lo, hi)

CURVES = {"flat": dict(b=(0.05, 0.1), a=(0.2, 0.5), c=(2.5, 3.0)),
          "steep": dict(b=(0.3, 0.5), a=(0.5, 1.5), c=(1.5, 2.5)),
          "mixed": dict(b=(0.05, 0.1), a=(0.2, 0.5), c=(2.0, 2.5), b2=(0.7, 1.0), a2=(0.3, 0.8))}
SD = (0.005, 0.03)


def planned_budgets(claimed):
    """Baseline budgets (multiples of the method's D) for a claim c: 0.5, 1, 2, ... up to >= 1.5c."""
    return 2.0 ** np.arange(-1, max(1, int(np.ceil(np.log2(1.5 * claimed)))) + 1)


def draw(rng, R, S, curve, design, truth, claimed=1.6, hetero=False, s_method=None, return_sd=False):
    """One batch: x (k,), Y (R, S, k), M (R, S_m), xm (R,), true s (R,). Method budget: uniform over
    the baseline budgets ("fixed") or D = 2 with the planned ladder around it ("planned")."""
    p = CURVES[curve]
    a, b, c = (rng.uniform(*p[k], R) for k in "abc")
    a2, b2 = (rng.uniform(*p[k], R) if k in p else np.zeros(R) for k in ("a2", "b2"))
    sd = rng.uniform(*SD, R)
    if design == "fixed":
        d = np.array([1.0, 2.0, 4.0, 8.0])
        dm = rng.choice(d, R)
    else:
        dm = np.full(R, 2.0)
        d = 2.0 * planned_budgets(claimed)
    law = lambda D: c[:, None] + a[:, None] * D ** -b[:, None] + a2[:, None] * D ** -b2[:, None]  # noqa: E731
    scale = np.linspace(1.5, 0.75, len(d)) if hetero else np.ones(len(d))
    Y = law(d[None, :])[:, None, :] + rng.normal(0, 1, (R, S, len(d))) * sd[:, None, None] * scale
    msd = sd * (rng.uniform(1, 2, R) if hetero else 1.0)
    M = law((truth * dm)[:, None]) + rng.normal(0, 1, (R, s_method or S)) * msd[:, None]
    out = np.log(d), Y, M, np.log(dm), np.broadcast_to(truth, (R,)).astype(float), b
    return (*out, sd) if return_sd else out


def bootstrap(x, Y, M, xm, b, rng, B=400, confidence=0.95):
    """Percentile bootstrap of the point (seeds resampled within each budget and for the method;
    shape exponent held at the sample's). Returns lo, hi (speedups, NaN = open), open_lo, open_hi."""
    R, S, k = Y.shape
    Sm = M.shape[1]
    los, his = np.empty(R), np.empty(R)
    for r0 in range(0, R, 250):
        sl = slice(r0, min(R, r0 + 250))
        r = np.arange(sl.start, sl.stop)
        iy = rng.integers(0, S, (len(r), B, S, k))
        ybar = np.take_along_axis(Y[r][:, None], iy, 2).mean(2).reshape(-1, k)
        mbar = np.take_along_axis(M[r][:, None], rng.integers(0, Sm, (len(r), B, Sm)), 2).mean(2).ravel()
        xp, _ = point_x(x, isotonic_decreasing(ybar, np.full_like(ybar, S)), mbar, np.repeat(b[r], B))
        q = np.quantile(xp.reshape(len(r), B), [(1 - confidence) / 2, (1 + confidence) / 2], axis=1)
        los[sl], his[sl] = q
    open_lo, open_hi = los <= x[0], his >= x[-1]
    return (np.where(open_lo, np.nan, np.exp(los - xm)), np.where(open_hi, np.nan, np.exp(his - xm)),
            open_lo, open_hi)


def interval_stats(out, x, xm, s):
    """Coverage (open ends = unbounded) and more over the cases whose truth lies inside the budgets."""
    inside = (np.log(s) + xm >= x[0] - 1e-12) & (np.log(s) + xm <= x[-1] + 1e-12)
    lo = np.where(out["open_lo"], 0.0, out["lo"])
    hi = np.where(out["open_hi"], np.inf, out["hi"])
    cov = (lo <= s) & (s <= hi)
    closed = inside & ~out["open_lo"] & ~out["open_hi"] & np.isfinite(out["lo"]) & np.isfinite(out["hi"])
    val = inside & (out["kind"] == "value") if "kind" in out else inside
    return dict(coverage=cov[inside].mean(), bounds=(out["kind"] != "value")[inside].mean() if "kind" in out
                else np.nan, closed=closed.sum() / inside.sum(),
                width=np.mean((out["hi"] - out["lo"])[closed]) if closed.any() else np.nan,
                bias=100 * np.mean(np.log(out["point"][val] / s[val])) if "point" in out else np.nan,
                n=int(inside.sum()))


def coverage_table(rng, R, quick=False):
    rows = []
    for design in ("fixed", "planned"):
        for curve in ("flat", "steep", "mixed"):
            for S in (3, 5):
                truth = rng.uniform(0.8, 1.6, R)
                x, Y, M, xm, s, btrue = draw(rng, R, S, curve, design, truth)
                for label, kw in (("pooled_base (chosen)", {}), ("pooled", dict(variance="pooled")),
                                  ("welch", dict(variance="welch")), ("chosen, linear", dict(shape=False)),
                                  ("chosen, true b", dict(b=btrue))):
                    if curve == "mixed" and label == "chosen, true b":
                        continue  # not a power law: no true exponent
                    out = estimate_rows(x, Y, M, xm, **kw)
                    rows.append(dict(design=design, curve=curve, S=S, method=label, **interval_stats(out, x, xm, s)))
                if S == 3:  # the percentile bootstrap at 3 seeds (the case the review measured)
                    b = estimate_rows(x, Y, M, xm)["b"]
                    lo, hi, ol, oh = bootstrap(x, Y, M, xm, b, rng, B=200)
                    rows.append(dict(design=design, curve=curve, S=S, method="bootstrap pct", **interval_stats(
                        dict(lo=lo, hi=hi, open_lo=ol, open_hi=oh), x, xm, s)))
    return rows


def hetero_table(rng, R):
    rows = []
    for curve in ("flat", "steep", "mixed"):
        for S in (3, 5):
            x, Y, M, xm, s, _ = draw(rng, R, S, curve, "fixed", rng.uniform(0.8, 1.6, R), hetero=True)
            for label in ("pooled", "pooled_base", "welch"):
                out = estimate_rows(x, Y, M, xm, variance=label)
                rows.append(dict(design="fixed,hetero", curve=curve, S=S, method=label,
                                 **interval_stats(out, x, xm, s)))
    return rows


RULES = {  # name: function(out, claimed) -> verdicts
    "current (lo>1 & hi>=c)": lambda o, c: np.where(np.isfinite(o["lo"]) & np.isfinite(o["hi"]) & (o["hi"] < c),
                                                     "not supported", np.where(
        np.isfinite(o["lo"]) & np.isfinite(o["hi"]) & (o["lo"] > 1) & (o["hi"] >= c), "supported", "inconclusive")),
    "lo>=0.9c (95%)": lambda o, c: verdict(o["lo"], o["hi"], c),
    "lo>=0.9c (90%)": None,  # the same rule on a 90% interval (95% one-sided)
    "lo>=c (95%)": lambda o, c: np.where(o["lo"] >= c, "supported", np.where(o["hi"] < c, "not supported",
                                                                             "inconclusive")),
}


MAIN_RULE = "lo>=0.9c (95%)"


def claim_batch(rng, R, S, curve, design, factor, rule=MAIN_RULE, variance=VARIANCE, hetero=False):
    """Verdicts for R claims c ~ U(1.1, 1.6) whose truth is factor·c."""
    claimed = rng.uniform(1.1, 1.6, R)
    out = np.empty(R, object)
    ladder = np.maximum(1, np.ceil(np.log2(1.5 * claimed))) if design == "planned" else np.zeros(R)  # its length
    for k in np.unique(ladder):  # the planned design: one batch per ladder length
        i = np.flatnonzero(ladder == k)
        x, Y, M, xm, s, _ = draw(rng, len(i), S, curve, design, factor * claimed[i], claimed[i].max(), hetero)
        if rule == "lo>=0.9c (90%)":
            o = estimate_rows(x, Y, M, xm, 0.90, variance)
            out[i] = verdict(o["lo"], o["hi"], claimed[i])
        else:
            out[i] = RULES[rule](estimate_rows(x, Y, M, xm, 0.95, variance), claimed[i])
    return out


def claims_table(rng, R):
    rows = []
    for design, hetero in (("fixed", False), ("planned", False), ("planned", True)):
        for curve in ("flat", "steep", "mixed"):
            for S in (3, 5):
                combos = [(r, VARIANCE) for r in RULES] + [(MAIN_RULE, "pooled")] if not hetero else \
                    [(MAIN_RULE, VARIANCE), (MAIN_RULE, "pooled")]
                for rule, variance in combos:
                    v = {f: claim_batch(rng, R, S, curve, design, f, rule, variance, hetero) for f in (0.9, 1.0, 1.1)}
                    rows.append(dict(design=design + (",hetero" if hetero else ""), curve=curve, S=S, rule=rule,
                                     variance=variance, false_support=np.mean(v[0.9] == "supported"),
                                     power_c=np.mean(v[1.0] == "supported"),
                                     power_1_1c=np.mean(v[1.1] == "supported"),
                                     refuted_at_c=np.mean(v[1.0] == "not supported")))
    return rows


def sequential(rng, R, curve, design, factor, grow="both", start=3, cap=6, schedule="none", variance=VARIANCE,
               hetero=False):
    """Verdicts when seeds are added one at a time (start .. cap) to undecided studies. grow: "both"
    (baseline and method seeds) or "method" (the baseline stays at ``start``); schedule: the
    confidence of the interval at each look (``SCHEDULES``). Returns the verdicts and seeds used."""
    claimed = rng.uniform(1.1, 1.6, R)
    x, Y, M, xm, s, _ = draw(rng, R, cap, curve, design, factor * claimed, claimed=1.6, hetero=hetero)
    final = np.full(R, "inconclusive", object)
    used = np.full(R, cap)
    open_ = np.ones(R, bool)
    for look, n in enumerate(range(start, cap + 1)):
        nb = n if grow == "both" else start
        o = estimate_rows(x, Y[:, :nb], M[:, :n], xm, SCHEDULES[schedule](look, cap - start + 1), variance)
        v = verdict(o["lo"], o["hi"], claimed)
        decided = open_ & (v != "inconclusive")
        final[decided], used[decided] = v[decided], n
        open_ &= ~decided
    return final, used


def bounds_table(rng, R):
    """Supported rate of the rule (lo >= 0.9c) against a naive one that also supports a lower bound
    whose point "> D_k/D" is >= 0.9c without confidence; fixed design (bounds are common there)."""
    rows = []
    for curve in ("flat", "steep", "mixed"):
        for S in (3, 5):
            row = dict(curve=curve, S=S)
            for f in (0.9, 1.0):
                claimed = rng.uniform(1.1, 1.6, R)
                x, Y, M, xm, s, _ = draw(rng, R, S, curve, "fixed", f * claimed)
                o = estimate_rows(x, Y, M, xm)
                v = verdict(o["lo"], o["hi"], claimed) == "supported"
                naive = v | ((o["kind"] == "lower_bound") & (o["point"] >= MARGIN * claimed))
                tag = "0.9c" if f == 0.9 else "c"
                row.update({f"rule@{tag}": v.mean(), f"rule,via_bound@{tag}": (v & (o["kind"] == "lower_bound")).mean(),
                            f"naive@{tag}": naive.mean()})
            rows.append(row)
    return rows


def power_by_noise(rng, R):
    """Supported rate at truth = c by the seed-noise sd (thirds of U(0.005, 0.03)), planned design."""
    rows = []
    for curve in ("steep", "mixed", "flat"):
        for S in (3, 5):
            claimed = rng.uniform(1.1, 1.6, R)
            x, Y, M, xm, s, _, sd = draw(rng, R, S, curve, "planned", claimed, claimed=1.6, return_sd=True)
            o = estimate_rows(x, Y, M, xm)
            ok = verdict(o["lo"], o["hi"], claimed) == "supported"
            row = dict(curve=curve, S=S)
            for name, lo, hi in (("sd 0.005-0.013", 0.005, 0.0133), ("sd 0.013-0.022", 0.0133, 0.0217),
                                 ("sd 0.022-0.03", 0.0217, 0.03)):
                row[name] = ok[(sd >= lo) & (sd < hi)].mean()
            rows.append(row)
    return rows


SCHEDULES = {  # look (0 = the first, at 3 seeds), number of looks -> two-sided confidence of the interval
    "none": lambda look, K: 0.95,
    "geometric": lambda look, K: look_confidence(look),  # the product's: 95%, 97.5%, 98.75%: <= 5% one-sided
    "constant 0.97": lambda look, K: 0.97,  # Pocock-style: the same stricter level at every look
}


def sequential_table(rng, R, schedules=("none", "geometric")):
    rows = []
    for schedule in schedules:
        for design in ("fixed", "planned"):
            for curve in ("flat", "steep", "mixed"):
                for grow in ("both", "method"):
                    res = {f: sequential(rng, R, curve, design, f, grow, schedule=schedule) for f in (0.9, 1.0, 1.1)}
                    rows.append(dict(schedule=schedule, design=design, curve=curve, grow=grow,
                                     false_support=np.mean(res[0.9][0] == "supported"),
                                     power_c=np.mean(res[1.0][0] == "supported"),
                                     power_1_1c=np.mean(res[1.1][0] == "supported"),
                                     refuted_at_c=np.mean(res[1.0][0] == "not supported"),
                                     mean_seeds_at_c=res[1.0][1].mean()))
    return rows


def show(rows, title):
    print(f"\n## {title}\n")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")


def main():
    quick = "--quick" in sys.argv
    R, Rc = (1000, 1000) if quick else (4000, 2000)
    rng = np.random.default_rng(20250915)
    t0 = time.time()
    show(coverage_table(rng, R, quick), f"Intervals, true s ~ U(0.8, 1.6), {R} replicates per row; coverage etc. "
         "over the cases with s·D inside the budgets")
    show(hetero_table(rng, R), "Robustness: method noisier (x1-2), baseline noise falling with budget "
         f"(x1.5 -> x0.75), {R} replicates")
    show(claims_table(rng, Rc), f"Verdicts at fixed seeds, claimed c ~ U(1.1, 1.6), truth 0.9c / c / 1.1c, {Rc} "
         "replicates each")
    show(power_by_noise(rng, Rc), f"Power at truth = c by the drawn seed-noise sd, planned 0.5D..4D, {Rc} "
         "replicates")
    show(bounds_table(rng, Rc), f"Bounds: the rule against a naive 'lower bound >= 0.9c' rule, fixed design, {Rc} "
         "replicates")
    schedules = tuple(SCHEDULES) if "--all-schedules" in sys.argv else ("none", "geometric")
    show(sequential_table(rng, Rc, schedules), f"Sequential seeds 3 -> 6 (stop when decided), rule lo >= 0.9c "
         f"on the schedule's interval, {Rc} replicates each")
    print(f"\nruntime {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
