"""The bridge from our tier to the published one (``harness.stats.tiers``), on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.stats import tiers


def ours(rows):
    return pd.DataFrame(rows, columns=["method", "scale", "params", "point", "lo", "hi", "kind"])


def theirs(rows):
    return pd.DataFrame(rows, columns=["method", "scale", "params", "speedup", "kind", "text", "source"])


@pytest.mark.parametrize("value, kind, side", [(1.4, "value", 1), (0.8, "value", -1), (1.0004, "value", 0),
                                               (0.5, "upper_bound", -1), (1.2, "upper_bound", None),
                                               (1.5, "lower_bound", 1), (0.9, "lower_bound", None),
                                               (1.3, "none", None), (np.nan, "value", None)])
def test_a_bound_has_a_side_only_beyond_1x(value, kind, side):
    got = tiers._side(value, kind)
    assert (math.isnan(got) if side is None else got == side)


def test_every_pair_of_scales_is_judged_with_its_words():
    mine = ours([("lion", "micro", 1e5, 1.3, 1.1, 1.5, "value"), ("soap", "micro", 1e5, 1.05, 0.9, 1.2, "value"),
                 ("muon", "micro", 1e5, 0.7, 0.6, 0.8, "value"), ("sophia", "micro", 1e5, 0.5, np.nan, 0.5,
                                                                  "upper_bound")])
    pub = theirs([("lion", "130m", 1.3e8, 1.2, "value", "1.20x", "marin"),
                  ("soap", "130m", 1.3e8, 1.3, "value", "1.30x", "marin"),
                  ("muon", "130m", 1.3e8, 1.4, "value", "1.40x", "marin"),
                  ("sophia", "130m", 1.3e8, 1.1, "value", "1.10x", "marin")])
    table = tiers.tier_table(mine, pub).set_index("method")
    assert table.loc["lion", "agreement"] == "agrees"
    assert table.loc["soap", "agreement"] == "ours holds 1x"
    assert table.loc["muon", "agreement"] == "disagrees"
    assert table.loc["sophia", "agreement"] == "disagrees"  # "< 0.50x" is slower, the published 1.10x faster
    assert table.loc["sophia", "ours_text"] == "< 0.50x (bound)"
    assert table.loc["lion", "ours_text"] == "1.30x [1.10x, 1.50x]"
    unbounded = ours([("lion", "micro", 1e5, 0.5, np.nan, np.nan, "value")])
    assert tiers.tier_table(unbounded, pub)["agreement"].iloc[0] == "ours holds 1x"  # [open, open] holds anything


def test_rank_agreement_against_hand_computed_values():
    pairs = pd.DataFrame({"ours": [1.1, 1.2, 1.3, 1.4, 1.5], "published": [1.0, 1.1, 1.15, 1.2, 1.3]})
    got = tiers.rank_agreement(pairs)
    assert got["rho"] == pytest.approx(1.0) and got["p"] == pytest.approx(1 / 120)  # one of 5! orders
    swapped = pairs.assign(published=[1.1, 1.0, 1.15, 1.2, 1.3])  # one adjacent swap: rho = 1 - 6*2/(5*24) = 0.9
    got = tiers.rank_agreement(swapped)
    assert got["rho"] == pytest.approx(0.9) and got["lo"] <= 0.9 <= got["hi"]
    assert got["p"] == pytest.approx(5 / 120)  # rho >= 0.9: the identity and the 4 adjacent swaps (sum d^2 <= 2)
    assert math.isnan(tiers.rank_agreement(pairs.head(2))["p"])  # too few methods to say anything


def test_the_trend_with_size_needs_two_sizes_on_both_sides_and_leaves_bounds_out():
    mine = ours([("muon", "nano", 1e4, 1.0, 0.9, 1.1, "value"), ("muon", "micro", 1e5, 1.2, 1.15, 1.3, "value"),
                 ("soap", "nano", 1e4, 1.0, 0.9, 1.1, "value"), ("soap", "micro", 1e5, 1.3, 1.05, np.nan, "value"),
                 ("lion", "nano", 1e4, 1.0, 0.9, 1.1, "value"), ("lion", "micro", 1e5, 0.5, np.nan, 0.5,
                                                                 "upper_bound")])
    pub = theirs([("muon", "130m", 1.3e8, 1.4, "value", "", ""), ("muon", "1.2b", 1.2e9, 1.1, "value", "", ""),
                  ("soap", "130m", 1.3e8, 1.3, "value", "", ""), ("soap", "1.2b", 1.2e9, 1.2, "value", "", ""),
                  ("lion", "130m", 1.3e8, 1.2, "value", "", ""), ("lion", "1.2b", 1.2e9, 1.0, "value", "", "")])
    trend = tiers.trend_agreement(mine, pub).set_index("method")
    assert list(trend.index) == ["muon", "soap"]  # lion's larger size is a bound: no trend
    assert tuple(trend.loc["muon", ["ours_trend", "published_trend", "agreement"]]) == ("rises", "falls", "disagrees")
    assert trend.loc["soap", "agreement"] == "cannot say"  # 1.05 to open overlaps 0.9 to 1.1: no direction


def test_the_terminal_table_prints_an_interval_not_markup():
    """rich reads "[open, open]" as a style tag and drops it unless the cells are escaped (``report.emit``)."""
    import io

    from rich.console import Console

    from harness import report

    out = io.StringIO()
    report.emit(pd.DataFrame({"ours": ["0.50x [open, open]"]}), "terminal", "ours [95%]", Console(file=out, width=80))
    assert "0.50x [open, open]" in out.getvalue() and "ours [95%]" in out.getvalue()
