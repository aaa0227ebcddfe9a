"""The data-speedup bootstrap (400 resamples, as ``harness report`` uses): the profile fit
(``analysis.data_speedup_ci``, all resamples fitted at once) against the old loop that refitted
``scipy.optimize.curve_fit`` per resample (``tests/curve_fit_reference.py``).

Skipped in the normal run. Run (the two rows of the ``data_speedup_ci`` group are old and new):
    python -m pytest tests/benchmarks/test_bench_power_law.py --benchmark-only --benchmark-group-by=group
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.stats.analysis import PowerLaw, _interpolated_budget, data_speedup_ci
from tests.curve_fit_reference import curve_fit_power_law

RESAMPLES = 400
BUDGETS = 2e7 * np.array([1, 2, 4, 8])
TRUTH = PowerLaw(a=1.2, b=0.4, c=2.0, d0=2e7)


@pytest.fixture(scope="module")
def seeds() -> tuple[pd.DataFrame, pd.DataFrame]:
    """3 seeds per budget of a baseline and of a method that acts as if it had 1.3x the data."""
    rng = np.random.default_rng(0)
    rows = [(d, s) for d in BUDGETS for s in range(3)]
    base = pd.DataFrame([{"budget": d, "loss": TRUTH.loss(d) + rng.normal(0, 0.01)} for d, _ in rows])
    meth = pd.DataFrame([{"budget": d, "loss": TRUTH.loss(1.3 * d) + rng.normal(0, 0.01)} for d, _ in rows])
    return base, meth


def curve_fit_bootstrap(baseline: pd.DataFrame, method: pd.DataFrame, n_resamples: int, seed: int = 0):
    """The old resampling loop: one curve_fit per resample, D* by inversion (interpolation on failure)."""
    rng = np.random.default_rng(seed)
    b_groups = [g["loss"].to_numpy() for _, g in baseline.groupby("budget")]
    m_groups = [g["loss"].to_numpy() for _, g in method.groupby("budget")]
    draws = np.full((n_resamples, len(m_groups)), np.nan)
    for r in range(n_resamples):
        bl = np.array([rng.choice(g, len(g)).mean() for g in b_groups])
        ml = np.array([rng.choice(g, len(g)).mean() for g in m_groups])
        fit = curve_fit_power_law(BUDGETS, bl) if np.all(np.diff(bl) < 0) else None
        if fit is None:
            draws[r] = [_interpolated_budget(BUDGETS, bl, x) for x in ml]
        else:
            a, b, c = fit
            draws[r] = [BUDGETS[0] * (a / (x - c)) ** (1 / b) if x > c else np.inf for x in ml]
    return np.nanquantile(draws / BUDGETS, [0.025, 0.975], axis=0)


@pytest.mark.benchmark(group="data_speedup_ci")
def test_old_curve_fit_per_resample(benchmark, seeds):
    lo, hi = benchmark.pedantic(curve_fit_bootstrap, args=(*seeds, RESAMPLES), rounds=2, iterations=1)
    assert ((1.1 < lo) & (lo < hi) & (hi < 1.5)).all()  # around the true 1.3 (3 noisy seeds per budget)


@pytest.mark.benchmark(group="data_speedup_ci")
def test_new_profile_fit(benchmark, seeds):
    table = benchmark.pedantic(data_speedup_ci, args=seeds, kwargs={"n_resamples": RESAMPLES}, rounds=5,
                               iterations=1)
    assert ((1.1 < table["speedup_lo"]) & (table["speedup_lo"] < table["speedup"])
            & (table["speedup"] < table["speedup_hi"]) & (table["speedup_hi"] < 1.5)).all()
    old_lo, old_hi = curve_fit_bootstrap(*seeds, RESAMPLES)  # the same interval within resampling noise
    assert table["speedup_lo"].to_numpy() == pytest.approx(old_lo, rel=0.02)
    assert table["speedup_hi"].to_numpy() == pytest.approx(old_hi, rel=0.02)
