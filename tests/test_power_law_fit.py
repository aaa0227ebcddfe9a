"""The profile fit of L(D) = a·D^-b + c against scipy's curve_fit on noisy power laws."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.power_law import PowerLaw, fit_power_law, fit_rows
from tests.curve_fit_reference import curve_fit_power_law, sse


def cases(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        d = np.geomspace(1.0, 2.0 ** rng.integers(2, 5), rng.integers(3, 7))
        truth = PowerLaw(a=rng.uniform(0.2, 3), b=rng.uniform(0.1, 1.5), c=rng.uniform(0.5, 3), d0=1.0)
        y = truth.loss(d) + rng.normal(0, rng.choice([0.0, 1e-3, 1e-2]), len(d))
        yield d, np.minimum.accumulate(y) - 1e-6 * np.arange(len(d))  # decreasing, as a fit needs


def test_profile_fit_is_never_worse_than_curve_fit_and_agrees_where_it_converges():
    agree = 0
    for d, y in cases():
        law = fit_power_law(d, y)
        ref = curve_fit_power_law(d, y)
        assert law is not None
        mine = sse(d, y, (law.a, law.b, law.c))
        if ref is not None:
            assert mine <= sse(d, y, ref) * (1 + 1e-6) + 1e-18
            agree += abs(law.budget(y[-1] - 0.01) / PowerLaw(*ref, d0=1.0).budget(y[-1] - 0.01) - 1) < 1e-3
    assert agree >= 36  # the same inversion where both find the same minimum (the rest: curve_fit's is worse)


def test_a_bound_that_binds_is_respected():
    d = np.array([1.0, 2.0, 4.0, 8.0])
    law = fit_power_law(d, np.array([1.0, 0.6, 0.35, 0.2]))  # the unconstrained c would be negative
    assert law is not None and law.c == pytest.approx(0.0, abs=1e-12) and law.a > 0


def test_rows_are_fitted_independently():
    d = np.array([1.0, 2.0, 4.0, 8.0])
    ys = np.stack([PowerLaw(1.0, 0.5, 2.0, 1.0).loss(d), PowerLaw(0.3, 1.2, 1.0, 1.0).loss(d),
                   np.array([3.0, 3.1, 2.9, 2.8])])
    a, b, c, trusted = fit_rows(d, ys)
    assert (a[:2], b[:2], c[:2]) == (pytest.approx([1.0, 0.3], rel=1e-5), pytest.approx([0.5, 1.2], rel=1e-5),
                                     pytest.approx([2.0, 1.0], rel=1e-5))
    assert trusted.tolist() == [True, True, False]  # the third does not decrease with budget
