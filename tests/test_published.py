"""The published results (published/) against what each source states about its own numbers (checks.csv)."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from harness.errors import ConfigError
from harness.stats.replications import replications
from harness.stats.speedup import data_speedup
from harness.store import SCHEMA, read_results, write_row
from harness.store.published import read_published


@pytest.fixture(scope="module")
def pub():
    return read_published()


def expected(pub, check_id: str) -> list[float]:
    """The numbers in a check's ``expected`` column, in order."""
    text = pub.checks.set_index("check_id").loc[check_id, "expected"]
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", str(text))]


def test_marin_rows_are_schema_rows_with_provenance(pub):
    assert len(pub.losses) == expected(pub, "marin_rows")[0] == 71
    pa.Table.from_pandas(pub.losses, schema=SCHEMA, preserve_index=False)  # every column has the schema's type
    assert (pub.losses["source"] == "published").all() and pub.losses["citation"].str.contains("marin@").all()
    assert pub.losses["trial_id"].is_unique and pub.version != "unknown"
    assert set(pub.losses["scale"]) == {"130m", "300m", "520m", "1.2b"}
    assert set(pub.losses["method"]) == {"adamw", "muon", "nadamw", "soap"}


def test_marin_losses_fall_with_budget(pub):
    for _, g in pub.losses.groupby(["method", "scale"]):
        losses = g.sort_values("budget_multiple")["final_val_loss"].to_numpy()
        assert (np.diff(losses) < 0).all(), g[["method", "scale", "budget_multiple", "final_val_loss"]]


def _speedups(pub, scale, method):
    """Our estimator on the paper's losses at every budget it tabulates (1-8x, and 16x at 130M/300M)."""
    rows = pub.losses[pub.losses["scale"] == scale]
    base, mine = rows[rows["method"] == "adamw"], rows[rows["method"] == method]
    return data_speedup(base["budget_multiple"], base["final_val_loss"], mine["budget_multiple"],
                        mine["final_val_loss"]).set_index("budget")


def test_marin_speedups_recomputed_land_in_the_papers_band(pub):
    """The abstract: "1.4x over AdamW for 0.1B parameter models to merely 1.1x for 1.2B" (checks.csv).

    Our estimator never extrapolates: at the largest budget a method that beats the baseline is a bound
    ("> 1.00x"), so the band is checked on the values inside the budgets (1-8x at 130M thanks to its 16x runs).
    """
    claim_small, claim_large = expected(pub, "marin_speedup_0.1b")[0], expected(pub, "marin_speedup_1.2b")[0]
    assert (claim_small, claim_large) == (1.4, 1.1)
    small = pd.concat([_speedups(pub, "130m", "muon"), _speedups(pub, "130m", "soap")])
    inside = small.loc[small.index <= 8]
    assert len(inside) == 8 and (inside["kind"] == "value").all() and inside["speedup"].between(1.25, 1.45).all()
    assert abs(_speedups(pub, "130m", "muon").loc[1.0, "speedup"] - claim_small) < 0.05
    large = _speedups(pub, "1.2b", "muon")
    assert large.loc[[1.0, 2.0, 4.0], "speedup"].between(1.05, 1.15).all()
    assert large.loc[8.0, "kind"] == "lower_bound" and large.loc[8.0, "text"].startswith("> 1.00x")
    soap = _speedups(pub, "1.2b", "soap").loc[1.0]  # the outlier checks.csv notes: Soap's 1x loss > AdamW's
    assert soap["kind"] == "upper_bound" and soap["text"].startswith("< 1.00x")


def test_the_reported_figures_match_the_abstract(pub):
    got = pub.reported.set_index(["method", "scale"])["speedup"]
    assert got[("muon", "130m")] == 1.4 and got[("muon", "1.2b")] == 1.1
    assert set(pub.reported["method"]) == {"muon", "soap", "kron"}


def test_algoperf_winners_scores_and_rank_order(pub):
    s = pub.scores
    v05 = s[s["leaderboard"] == "v0.5"]
    counts = v05.groupby("ruleset").size()
    assert [counts["external_tuning"], counts["self_tuning"]] == expected(pub, "v05_counts")
    top = v05[v05["rank"] == 1].set_index("ruleset")
    assert (top.loc["external_tuning", "method"], top.loc["external_tuning", "score"]) == ("shampoo", 0.7784)
    assert (top.loc["self_tuning", "method"], top.loc["self_tuning", "score"]) == ("schedule_free_adamw", 0.8542)
    for _, g in s[s["rank"].notna()].groupby(["leaderboard", "ruleset"]):
        g = g.sort_values("rank")
        assert (g["rank"].to_numpy() == np.arange(1, len(g) + 1)).all()
        assert (np.diff(g["score"].to_numpy()) <= 0).all()
    v06 = s[(s["leaderboard"] == "v0.6") & (s["ruleset"] == "external_tuning")].sort_values("rank")
    assert list(zip(v06["method"], v06["score"])) == [("shampoo", 0.6244), ("nadamw", 0.4590)]
    assert s.loc[s["leaderboard"] == "v2_draft", "status"].str.startswith("draft").all()


def test_modded_nanogpt_track3_significance_rule_and_records(pub):
    t3 = pub.records[pub.records["track"] == "track3_optimization"]
    assert len(t3) == 46 and list(t3["number"]) == list(range(1, 47))
    rule = (3.28 - t3["mean_final_val_loss"]) * np.sqrt(t3["n_runs"].astype(float)) >= 0.004 - 1e-12
    assert (rule == t3["meets_statsig"].astype(bool)).all()
    assert list(t3.loc[~rule, "number"]) == [1, 2, 3]
    records = t3[t3["world_record"]].sort_values("number")["steps_to_target"].to_numpy()
    assert len(records) == 20 and records[0] == 3600 and records[-1] == 2690 and (np.diff(records) < 0).all()
    steps = t3.set_index("number")["steps_to_target"]
    assert [steps[46], steps[36], steps[21], steps[2]] == expected(pub, "t3_claims")


def test_modded_nanogpt_speedrun_tracks(pub):
    t1 = pub.records[pub.records["track"] == "speedrun_track1"]
    assert len(t1) == 91 and t1["time_to_target_min"].iloc[0] == 45 and t1["time_to_target_min"].iloc[-1] == 1.23
    assert [45, 1.23] == expected(pub, "t1_first_last")
    t2 = pub.records[pub.records["track"] == "speedrun_track2"]
    assert len(t2) == 18 and t2["time_to_target_min"].iloc[0] == pytest.approx(5.8 * 60)  # published in hours


def test_replications_label_how_each_speedup_was_obtained(pub):
    muon = replications("muon", "adamw", pub.losses, pub.reported, pub.records)
    assert set(muon["how"]) == {"estimator"}  # raw losses at every scale: the reported figure is not repeated
    values = muon[muon["kind"] == "value"].groupby("scale")["speedup"]
    assert values.min()["130m"] > 1.25 and values.max()["130m"] < 1.45
    assert values.min()["1.2b"] > 1.05 and values.max()["1.2b"] < 1.15
    assert set(muon.loc[muon["kind"] != "value", "text"].str[:7]) == {"> 1.00x"}  # the largest budget: a bound
    assert muon["citation"].str.contains("hyperparam_tables_muon").all()
    kron = replications("kron", "adamw", pub.losses, pub.reported, pub.records)
    assert list(kron["how"]) == ["reported", "reported"] and kron["budget_multiple"].isna().all()
    adam = replications("muon", "adam", pub.losses, pub.reported, pub.records)
    assert list(adam["how"]) == ["steps_ratio"] and math.isclose(adam["speedup"].iloc[0], 5625 / 3250)
    assert replications("nonesuch", "adamw", pub.losses, pub.reported, pub.records).empty


def test_published_rows_never_reach_our_results(tmp_path, pub):
    write_row(tmp_path, {"trial_id": "t1", "suite": "optimizers", "method": "adamw", "status": "ok", "phase": "final",
                         "study_id": "s", "seed": 1, "final_val_loss": 3.0})
    ours, problems = read_results(tmp_path)
    assert problems == [] and len(ours) == 1 and ours["source"].isna().all()


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_published(tmp_path)


def test_every_row_names_its_source_and_the_readme_counts_match(pub):
    raw = pub.raw
    assert raw["where"].str.contains(r"@[0-9a-f]{40}:|arXiv:\d{4}\.\d{5}").all()  # a commit or a paper
    assert raw.loc[raw["metric"] != "speedup_vs_adamw_reported", "value"].map(math.isfinite).all()
    readme = (Path(__file__).resolve().parent.parent / "published" / "README.md").read_text()
    stated = dict(re.findall(r"`(\w+\.csv)` \((\d+) rows\)", readme))
    assert {f: int(n) for f, n in stated.items()} == raw.groupby("file").size().to_dict()


def test_the_published_figure_nearest_a_claims_scale_reads_in_one_phrase():
    from harness.stats.replications import nearest_text, replications

    data = read_published()
    rows = replications("muon", "adamw", data.losses, data.reported, data.records)
    small, large = (nearest_text(rows[rows["metric"] == "data"], p) for p in (1.3e8, 1.2e9))
    assert small.startswith("1.29-1.42x at 130m (our data-speedup estimator") and "> 1.00x" in small
    assert large.startswith("1.12-1.13x at 1.2b") and nearest_text(rows.iloc[:0], 1e8) == "—"


def test_a_steps_claim_is_shown_beside_the_published_data_speedup_labelled():
    """SOAP's "40% fewer iterations" at 360M: Marin published losses, not steps; at equal batch size the data
    speedup is the steps speedup, shown with that label (Marin: SOAP 1.13-1.23x over AdamW at 300M)."""
    from harness.stats.replications import beside
    from implementations.optimizers.soap import METHOD

    data = read_published()
    steps = next(c for c in METHOD.claims if c.metric == "steps" and c.baseline == "adamw")
    text = beside("soap", steps, data, brief=True)
    assert text == "1.13-1.23x at 300m (marin_fantastic_optimizers_2025) [data speedup: steps at equal batch size]"
    time = next(c for c in METHOD.claims if c.metric == "time")
    assert beside("soap", time, data) == "—"  # no published wall-clock: nothing to show
