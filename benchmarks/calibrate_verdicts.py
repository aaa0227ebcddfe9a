"""Calibration of every statistic a verdict rests on, through the engine the product calls
(``harness.stats.engine.judge`` on stored-style rows from ``benchmarks/simulate.py``): the tables of
docs/statistics.md. ``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/calibrate_verdicts.py [--quick] [--only NAME]``
(NAME: data, direct, target, noninferiority, testset, sequential). Replicates per cell: 1,000 (``--quick``: 300).

Each table reports, over replicates with a known truth: coverage of the printed interval (open ends count as
unbounded; only cases whose truth the design can measure), false support at a truth 10% below the claim (or at
the non-inferiority margin, or at no effect), power at the claimed truth, and how often a true claim was refuted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import simulate as sim

CLAIMED = 1.4


def _covered(out, truth) -> np.ndarray:
    lo = np.where(np.isfinite(out["lo"].astype(float)), out["lo"].astype(float), -np.inf)
    hi = np.where(np.isfinite(out["hi"].astype(float)), out["hi"].astype(float), np.inf)
    return (lo <= truth) & (truth <= hi)


def alone(out) -> np.ndarray:
    """What the interval alone would say of a data claim (the engine's verdict without the direct budgets is
    "inconclusive": ``claims.INTERPOLATED``)."""
    from harness.stats.claims import verdict

    return np.array([verdict(CLAIMED, lo, hi) for lo, hi in zip(out["lo"].astype(float), out["hi"].astype(float))])


def _rates(verdicts) -> dict:
    v = np.asarray(verdicts)
    return {"supported": np.mean(v == "supported"), "not_supported": np.mean(v == "not supported")}


def data_table(rng, R: int, direct: bool) -> list[dict]:
    """Data speedup: the interpolated interval (``direct=False``) or the direct comparison (``direct=True``)."""
    rows = []
    for family in ("power", "saturating", "bent", "flattening"):
        for tau in (0.0, 1.0, 2.0):
            for design, units, repeats in (("3 seeds, 1 tuning study", 3, False),
                                           ("3 repeated tuning studies", 3, True),
                                           ("5 repeated tuning studies", 5, True)):
                row = {"curve": family, "tuning noise (seed sd)": tau, "design": design}
                if not direct:
                    truth = rng.uniform(0.8, 2.0, R)
                    out = sim.judge(sim.data_claim_rows(rng, R, family, truth, CLAIMED, units, tau, repeats,
                                                       direct=False), sim.claim("data", CLAIMED))
                    row["coverage"] = _covered(out, truth).mean()
                for f, name in ((0.9, "false support at 0.9c"), (1.0, "power at c"), (1.2, "power at 1.2c")):
                    out = sim.judge(sim.data_claim_rows(rng, R, family, np.full(R, f * CLAIMED), CLAIMED, units, tau,
                                                        repeats, direct=direct), sim.claim("data", CLAIMED))
                    rates = _rates(out["verdict"] if direct else alone(out))
                    row[name] = rates["supported"]
                    if f == 1.0:
                        row["refuted at c"] = rates["not_supported"]
                rows.append(row)
    return rows


def target_table(rng, R: int) -> list[dict]:
    """Steps-to-target ratios from crossings bracketed between ``evals`` evaluations (3 seeds, one budget)."""
    rows = []
    for evals in (5, 10, 20, 40):
        for sd, tau in ((0.0, 0.0), (0.05, 1.0), (0.15, 1.0)):
            truth = rng.uniform(0.8, 2.0, R)
            out = sim.judge(sim.target_rows(rng, R, truth, evals, sd=sd, tau=tau), sim.claim("steps", CLAIMED))
            row = {"evaluations": evals, "seed sd (log steps)": sd, "tuning noise (seed sd)": tau,
                   "coverage": _covered(out, truth).mean(),
                   "bounds or unknown": np.mean(~np.isfinite(out["point"].astype(float))),
                   "closed width (median, ratio)": np.nanmedian(np.where(
                       np.isfinite(out["lo"].astype(float)) & np.isfinite(out["hi"].astype(float)),
                       out["hi"].astype(float) / out["lo"].astype(float), np.nan))}
            for f, name in ((0.9, "false support at 0.9c"), (1.0, "power at c")):
                out = sim.judge(sim.target_rows(rng, R, np.full(R, f * CLAIMED), evals, sd=sd, tau=tau),
                                sim.claim("steps", CLAIMED))
                rates = _rates(out["verdict"])
                row[name] = rates["supported"]
                if f == 1.0:
                    row["refuted at c"] = rates["not_supported"]
            rows.append(row)
    return rows


DESIGNS = (("3 seeds, 1 tuning study", 3, False), ("5 repeated tuning studies", 5, True),
           ("10 repeated tuning studies", 10, True))


def noninferiority_table(rng, R: int) -> list[dict]:
    """"Matches or beats" with the default margin (0.5 accuracy points), test-set variance included."""
    from harness.stats.claims import MATCH_MARGIN

    rows = []
    for design, units, repeats in DESIGNS:
        for tau in (0.0, 1.0):
            row = {"design": design, "tuning noise (seed sd)": tau}
            for delta, name in ((-MATCH_MARGIN, "false support at -margin"), (0.0, "power at a tie"),
                                (0.005, "power at +0.5 points")):
                frame, _ = sim.accuracy_rows(rng, R, delta, units, tau=tau, repeats=repeats)
                out = sim.judge(frame, sim.claim("quality", 0.0, form="matches"))
                row[name] = _rates(out["verdict"])["supported"]
            rows.append(row)
    return rows


def testset_table(rng, R: int) -> list[dict]:
    """Accuracy differences on a fixed test set of 360 examples: coverage of the population difference."""
    rows = []
    for design, units, repeats in DESIGNS[:2]:
        for sd in (0.0005, 0.003):
            row = {"design": design, "seed sd (accuracy)": sd}
            for store, name in ((False, "seeds only"), (True, "with the paired test-set variance")):
                frame, truth = sim.accuracy_rows(rng, R, 0.01, units, sd=sd, store=store, repeats=repeats)
                out = sim.judge(frame, sim.claim("quality", 0.0))
                row[f"coverage, {name}"] = _covered(out, truth).mean()
                row[f"width, {name} (points)"] = 100 * np.nanmedian(out["hi"].astype(float) - out["lo"].astype(float))
            frame, truth = sim.accuracy_rows(rng, R, 0.0, units, sd=sd, repeats=repeats)
            row["false support of 'better' at a tie"] = _rates(sim.judge(frame, sim.claim("quality", 0.0))[
                "verdict"])["supported"]
            rows.append(row)
    return rows


def sequential_table(rng, R: int) -> list[dict]:
    """Seeds added one at a time (3 -> 6) to undecided replicates, judged by the engine's look replay."""
    rows = []
    for family in ("power", "saturating", "bent"):  # the direct rule: the interpolation alone decides nothing
        row = {"curve": family, "rule": "direct"}
        for f, name in ((0.9, "false support at 0.9c"), (1.0, "power at c")):
            full = sim.data_claim_rows(rng, R, family, np.full(R, f * CLAIMED), CLAIMED, 6, 0.0, direct=True)
            verdicts, seeds = sequential(full, start=3, cap=6)
            row[name] = np.mean(verdicts == "supported")
            if f == 1.0:
                row["mean seeds at c"] = seeds.mean()
        rows.append(row)
    return rows


def sequential(full, start: int, cap: int):
    """Run verify's process on rows holding ``cap`` seeds: judge at ``start`` seeds, add a seed to the undecided
    replicates, up to ``cap``; then judge the stored rows (each replicate's seeds up to where it stopped) with the
    replay, as ``harness verify --reference`` does. Returns the replay's verdicts and the seeds each one used."""
    claim = sim.claim("data", CLAIMED)
    full = full.assign(tuning_seeds=start)  # the first look, as verify records it
    stop: dict[str, int] = {}
    for look in range(cap - start + 1):
        keep = full[~full["scale"].isin(stop) & ((full["phase"] != "final") | (full["seed"] <= start + look))]
        if keep.empty:
            break
        for scale, verdict in sim.judge(keep, claim)["verdict"].items():
            if verdict != "inconclusive" or look == cap - start:
                stop[scale] = start + look
    stored = full[(full["phase"] != "final") | (full["seed"] <= full["scale"].map(stop).fillna(cap))]
    replay = sim.judge(stored, claim)
    return replay["verdict"].to_numpy(), replay.index.map(stop).to_numpy(float)


TABLES = {"data": ("Data speedup, the interpolated interval alone (verify's ladder, no direct budgets: the engine "
                   "says \"inconclusive\")",
                   lambda rng, R: data_table(rng, R, direct=False)),
          "direct": ("Data claims judged directly (baseline also at 0.9c·D and c·D)",
                     lambda rng, R: data_table(rng, R, direct=True)),
          "target": ("Steps to target, bracketed between evaluations", target_table),
          "noninferiority": ("Matches or beats: non-inferiority, margin 0.5 accuracy points", noninferiority_table),
          "testset": ("Accuracy on a fixed test set of 360 examples", testset_table),
          "sequential": ("Sequential seeds 3 -> 6 (look replay)", sequential_table)}


def show(rows: list[dict], title: str) -> None:
    print(f"\n### {title}\n")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=list(TABLES))
    args = parser.parse_args()
    R = 300 if args.quick else 1000
    rng = np.random.default_rng(20261207)
    for name, (title, make) in TABLES.items():
        if args.only and name != args.only:
            continue
        t0 = time.time()
        show(make(rng, R), f"{title} ({R} replicates per cell)")
        print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
