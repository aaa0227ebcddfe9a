"""Schedules: generic checks that follow the registry, then each paper's formula at hand points."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

from harness.contracts import registry
from harness.contracts.interface import METRICS, Unavailable

SCHEDULES = registry.available("schedule")
# What a schedule may declare in ``needs``, with a sample value the trainer would hand over.
PILOT = tuple(1.0 + 0.5 * math.exp(-t / 20) + 0.1 * math.sin(t) for t in range(200))
NEEDS = {"pilot_grad_norms": PILOT, "total_steps": 100}  # what the trainer hands over
GRID = np.linspace(0.0, 1.0, 1001)


def module(name: str):
    return importlib.import_module(f"implementations.schedules.{name}")


def hparams(method, **over) -> dict:
    return {**method.defaults, **{n: NEEDS[n] for n in method.needs}, **over}


def space_points(method, n: int = 5) -> list[dict]:
    """Quasi-random points of the schedule's own search space (golden-ratio sequence per dimension)."""
    points = []
    for i in range(n):
        u = {k: ((i + 0.5) / n + j * 0.6180339887) % 1.0 for j, k in enumerate(sorted(method.search_space))}
        points.append({k: method.search_space[k].from_unit(u[k]) for k in u})
    return points


# --------------------------------------------------------------------------- generic (registry)


def test_every_schedule_imports():
    broken = [m for m in registry.registry()["schedule"].values() if isinstance(m, Unavailable)]
    assert not broken, broken
    assert {"cosine", "linear", "rex", "uba", "refined", "infinite"} <= set(SCHEDULES)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_declarations(name):
    method = SCHEDULES[name]
    assert set(method.search_space) <= set(method.defaults), "search space keys must be defaults"
    assert set(method.needs) <= set(NEEDS) and set(method.needs) <= set(method.defaults)
    assert callable(getattr(module(name), "endpoint", None)), "each schedule declares where it ends"
    for claim in method.claims:
        assert claim.suite in ("schedules", "continual") and claim.metric in METRICS and claim.quote
        assert claim.baseline in SCHEDULES, f"claim baseline {claim.baseline!r} is not a schedule"


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_values_in_unit_interval(name):
    method = SCHEDULES[name]
    for point in [{}, *space_points(method)]:
        hp = hparams(method, **point)
        values = np.array([method.multiplier(float(p), **hp) for p in GRID])
        assert np.all(np.isfinite(values)), (point, values)
        assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-12, (point, values.min(), values.max())


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_peak_normalised(name):
    method = SCHEDULES[name]
    hp = hparams(method)
    assert max(method.multiplier(float(p), **hp) for p in GRID) == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_endpoint(name):
    method = SCHEDULES[name]
    for point in [{}, *space_points(method, 3)]:
        hp = hparams(method, **point)
        end = module(name).endpoint(**hp)
        assert method.multiplier(1.0, **hp) == pytest.approx(end, abs=1e-9)
        assert method.multiplier(1.0 - 1e-9, **hp) == pytest.approx(end, abs=1e-6)  # continuous into the end


@pytest.mark.parametrize("name", sorted(n for n, m in SCHEDULES.items() if "warmup" in m.defaults))
def test_warmup_honoured(name):
    method, w = SCHEDULES[name], 0.1
    hp = hparams(method, warmup=w)
    ramp = [method.multiplier(p, **hp) for p in np.linspace(0.0, w, 21)[:-1]]
    assert ramp[0] == 0.0
    assert np.allclose(ramp, np.linspace(0.0, 1.0, 21)[:-1]), "linear from 0 to the peak over the warmup"
    assert method.multiplier(w, **hp) == pytest.approx(1.0)


# --------------------------------------------------------------------------- refined (Defazio et al.)


def test_refined_hand_computed():
    """G = (1, 1, 2, 2), no smoothing: w = G^-2 = (1, 1, 1/4, 1/4); eta_t = w_t sum_{p>t} w_p
    = (3/2, 1/2, 1/16, 0); normalised (1, 1/3, 1/24, 0)."""
    refined = SCHEDULES["refined"]
    hp = dict(pilot_grad_norms=[1.0, 1.0, 2.0, 2.0], smoothing=0.0, norm="l2")
    got = [refined.multiplier(k / 4, **hp) for k in range(4)]
    assert got == pytest.approx([1.0, 1 / 3, 1 / 24, 0.0], abs=1e-12)
    assert refined.multiplier(0.125, **hp) == pytest.approx((1 + 1 / 3) / 2)  # linear interpolation


def test_refined_adam_uses_l1_weights():
    """Adam: G = ||g||_1 = (1, 2, 4), w = G^-1 = (1, 1/2, 1/4); eta = (3/4, 1/8, 0) -> (1, 1/6, 0)."""
    from implementations.schedules.refined import refine

    assert refine([1.0, 2.0, 4.0], smoothing=0.0, norm="l1") == pytest.approx([1.0, 1 / 6, 0.0])


def test_refined_constant_norms_give_linear_decay():
    from implementations.schedules.refined import refine

    t = np.arange(50)
    assert refine(np.full(50, 3.0), smoothing=0.1) == pytest.approx((49 - t) / 49)


def test_refined_matches_direct_sum_in_float64():
    from implementations.schedules.refined import refine

    g = np.random.default_rng(0).uniform(0.5, 3.0, 40)
    w = g**-2.0
    eta = np.array([w[t] * sum(w[p] for p in range(t + 1, 40)) for t in range(40)])
    assert refine(g, smoothing=0.0) == pytest.approx(eta / eta.max(), rel=1e-12)


def test_refined_median_filter_padding():
    """Width 3 (tau*T = 3): the left edge repeats the first value, the right edge reflects."""
    from implementations.schedules.refined import smooth

    assert smooth(np.array([1.0, 2, 3, 4, 5]), 0.6) == pytest.approx([1, 2, 3, 4, 4])
    assert smooth(np.array([5.0, 1, 2, 3, 4]), 0.6) == pytest.approx([5, 2, 2, 3, 3])


def test_refined_smoothing_removes_a_spike():
    from implementations.schedules.refined import refine

    g = np.ones(20)
    g[10] = 100.0
    assert refine(g, smoothing=0.15) == pytest.approx((19 - np.arange(20)) / 19)
    assert refine(g, smoothing=0.0)[10] < 1e-3


def test_refined_needs_a_pilot():
    refined = SCHEDULES["refined"]
    assert refined.needs == ("pilot_grad_norms",)
    with pytest.raises(ValueError):
        refined.multiplier(0.5, **refined.defaults)


# --------------------------------------------------------------------------- the papers' formulas


@pytest.mark.parametrize(
    "z, expected", [(0.0, 1.0), (0.25, 0.75 / 0.875), (0.5, 2 / 3), (0.9, 0.1 / 0.55), (1.0, 0.0)]
)
def test_rex_profile(z, expected):
    """REX: (1 - z) / (1/2 + 1/2 (1 - z))."""
    assert SCHEDULES["rex"].multiplier(z) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "phi, x, expected",
    [(1, 0.5, 2 / 3), (0.5, 0.5, 0.8), (1, 1 / 3, 6 / 7), (4, 0.5, 1 / 3), (1, 0, 1), (3, 1, 0)],
)
def test_uba_hand_points(phi, x, expected):
    """UBA: 2u / (2 phi + (2 - phi) u), u = 1 + cos(pi x)."""
    assert SCHEDULES["uba"].multiplier(x, phi=phi) == pytest.approx(expected, abs=1e-12)


def test_uba_phi_two_is_cosine_and_final_frac_shifts():
    uba = SCHEDULES["uba"]
    for x in np.linspace(0, 1, 11):
        cosine = 0.5 * (1 + math.cos(math.pi * x))
        assert uba.multiplier(x, phi=2.0) == pytest.approx(cosine, abs=1e-12)
        shifted = 0.1 + 0.9 * uba.multiplier(x, phi=1.0)
        assert uba.multiplier(x, phi=1.0, final_frac=0.1) == pytest.approx(shifted)


def test_cosine_power_matches_reference_form():
    """sharpDARTS rescales power^(c+1) to [0, 1]: (p^(c+1) - p) / (p^2 - p), c = (1 + cos(pi x)) / 2."""
    cp = SCHEDULES["cosine_power"]
    for p in (2.0, 10.0, 50.0):
        for x in np.linspace(0, 1, 9):
            c = 0.5 * (1 + math.cos(math.pi * x))
            assert cp.multiplier(x, power=p) == pytest.approx((p ** (c + 1) - p) / (p**2 - p), abs=1e-12)
    assert cp.multiplier(0.3, power=1.0) == pytest.approx(0.5 * (1 + math.cos(0.3 * math.pi)))


@pytest.mark.parametrize("steps", [10, 100, 2000])
def test_onecycle_matches_torch_at_every_step(steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=steps, cycle_momentum=False)
    onecycle = SCHEDULES["onecycle"]
    for step in range(steps):
        got = onecycle.multiplier(step / steps, total_steps=steps)
        assert got == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-12), step
        opt.step()
        sched.step()


def test_step_linear_exponential_wsd_hand_points():
    step, linear, expo, wsd = (SCHEDULES[n] for n in ("step", "linear", "exponential", "wsd"))
    assert [step.multiplier(p) for p in (0.29, 0.3, 0.6, 0.95)] == pytest.approx([1, 0.1, 0.01, 0.001])
    assert linear.multiplier(0.55, warmup=0.1) == pytest.approx(0.5)
    assert expo.multiplier(0.5, final_frac=0.01) == pytest.approx(0.1)
    assert wsd.multiplier(0.5) == 1.0
    assert wsd.multiplier(0.9, shape="sqrt") == pytest.approx(1 - math.sqrt(0.5))
    assert wsd.multiplier(0.9, shape="linear") == pytest.approx(0.5)


def test_infinite_phases():
    inf = SCHEDULES["infinite"]  # warmup .01, cooldown .1, const .5, min .1, anneal .1 of each task
    assert inf.multiplier(0.06) == pytest.approx(0.75)  # halfway down the cosine cooldown
    assert inf.multiplier(0.5) == pytest.approx(0.5)  # constant
    assert inf.multiplier(0.95) == pytest.approx(0.5 * 0.2**0.5)  # halfway through the exponential anneal
    three = dict(tasks=3)
    assert inf.multiplier(1 / 3 - 1e-9, **three) == pytest.approx(0.1, abs=1e-6)  # annealed checkpoint
    assert inf.multiplier(1 / 3 + 1e-9, **three) == pytest.approx(0.5)  # no re-warmup: back to constant
    with pytest.raises(ValueError):
        inf.multiplier(0.5, tasks=10, cooldown=0.2)


def test_repeated_cosine_rewarms_each_task():
    rc = SCHEDULES["repeated_cosine"]
    hp = dict(tasks=3, warmup=0.05)
    assert rc.multiplier(1 / 3 - 1e-9, **hp) == pytest.approx(0.0, abs=1e-6)
    assert rc.multiplier(1 / 3, **hp) == pytest.approx(0.0)
    assert rc.multiplier(1 / 3 + 0.05, **hp) == pytest.approx(1.0)
    assert rc.multiplier(2 / 3 + 0.025, **hp) == pytest.approx(0.5)
