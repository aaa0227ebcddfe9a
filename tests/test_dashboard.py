"""The dashboard's pages under Streamlit's AppTest, on synthetic results written with
``harness.store.write_row`` (tests/fake_results.py: muon is built 1.4x as data-efficient as
adamw, sgd 0.6x). Charts are opaque to AppTest, so the data feeding them is tested directly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import data, launch, pages_leaderboard, pages_loss, pages_pareto
from harness import store
from harness.contracts import registry
from harness.stats import analysis
from tests.fake_results import write_fake_results

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
PAGES = ("pages_leaderboard.py", "pages_speedup.py", "pages_loss.py", "pages_pareto.py", "pages_claims.py",
         "pages_runs.py", "pages_method.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """CPU: 2 scales x 3 budgets; H100: nano x 2 budgets; 3 methods; 2 final seeds; tuning with one divergence."""
    path = tmp_path_factory.mktemp("results")
    write_fake_results(path, hardware=("cpu",), seeds=2)
    write_fake_results(path, hardware=("h100",), scales=("nano",), budgets=(0.5, 1.0), seeds=2)
    return path


@pytest.fixture(autouse=True)
def fresh(monkeypatch, results):
    st.cache_data.clear()  # it survives between AppTest instances in one process
    monkeypatch.setenv(data.RESULTS_ENV, str(results))


def run(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(DASHBOARD / page), default_timeout=120)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, index: int = 0) -> pd.DataFrame:
    value = at.dataframe[index].value
    return value.data if hasattr(value, "data") else value  # a Styler's frame


# --------------------------------------------------------------------------- app, empty and corrupt results


def test_app_navigates_to_every_page_and_an_empty_folder_is_a_friendly_message(monkeypatch, tmp_path):
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path / "nothing-here"))
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page != "pages_method.py":  # the method page reads the registry, not results
            assert any("No results to show yet" in i.value for i in at.info), page


def test_a_corrupt_file_is_listed_and_the_rest_still_shows(monkeypatch, tmp_path):
    write_fake_results(tmp_path, hardware=("cpu",), scales=("nano",), seeds=2)
    (tmp_path / "suite=optimizers" / "broken.parquet").write_bytes(b"not parquet at all")
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path))
    at = run("pages_leaderboard.py")
    assert "could not be read" in at.expander[0].label
    assert "broken.parquet" in at.expander[0].code[0].value
    assert len(frame(at)) == 9


def test_results_path_comes_from_argv_then_env_then_default(monkeypatch):
    assert data.results_path(["--results", "elsewhere"]) == Path("elsewhere")
    monkeypatch.setenv(data.RESULTS_ENV, "from-env")
    assert data.results_path([]) == Path("from-env")
    monkeypatch.delenv(data.RESULTS_ENV)
    assert data.results_path([]) == Path("results")


def test_launch_command_binds_localhost_and_passes_the_results_path(tmp_path):
    cmd = launch.command(str(tmp_path), 8600)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(DASHBOARD / "app.py")
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1" and cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[-3:] == ["--", "--results", str(tmp_path.resolve())]
    assert launch.command("r", 1, host="0.0.0.0")[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert str(DASHBOARD.parent) in launch.environment()["PYTHONPATH"].split(":")


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_shows_speedups_with_intervals_and_every_column_has_help():
    at = run("pages_leaderboard.py")
    table = frame(at)
    assert len(table) == 24  # (2 CPU scales x 3 budgets + 1 H100 scale x 2 budgets) x 3 methods
    speed = table.assign(x=table["data_speedup_text"].str.extract(r"(\d\.\d+)x")[0].astype(float)).groupby("method")["x"].median()
    assert speed["muon"] == pytest.approx(1.4, abs=0.05) and speed["sgd"] == pytest.approx(0.6, abs=0.05)
    assert speed["adamw"] == pytest.approx(1.0, abs=0.02)
    shown = r"^(1\.00x \(baseline\)|[<>]? ?\d\.\d{2}x( \[(open|\d\.\d{2}), (open|\d\.\d{2})\]| \(no interval\))?|—)$"
    assert table["data_speedup_text"].str.match(shown).all()
    assert (table.groupby(["hardware", "scale", "budget_multiple"])["rank"].min() == 1).all()
    config = json.loads(at.dataframe[0].proto.columns)
    config.pop("_index", None)  # the hidden index
    assert set(config) == set(table.columns) and all(c.get("help") for c in config.values())
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download Parquet"]


def test_leaderboard_filters_live_in_the_url():
    at = run("pages_leaderboard.py", {"scale": "nano", "hardware": "NVIDIA H100 80GB HBM3"})
    assert at.multiselect(key="filter_scale").value == ["nano"]
    assert set(frame(at)["hardware"]) == {"NVIDIA H100 80GB HBM3"} and len(frame(at)) == 6
    at.multiselect(key="filter_budget_multiple").set_value(["1"]).run()
    assert at.query_params["budget_multiple"] == "1" and len(frame(at)) == 3
    at.multiselect(key="filter_scale").set_value([]).run()
    assert "scale" not in at.query_params


def test_leaderboard_download_round_trips_as_parquet(results):
    board, notes = data.board(str(results), data.stamp(results), ())
    assert notes == []
    back = pd.read_parquet(io.BytesIO(pages_leaderboard.parquet_bytes(board)))
    pd.testing.assert_frame_equal(back, board, check_dtype=False)


# --------------------------------------------------------------------------- charts' data


def test_speedup_page_feeds_one_point_per_method_scale_and_budget():
    at = run("pages_speedup.py", {"hardware": "CPU (Synthetic CPU)"})
    rows = frame(at)
    assert len(rows) == 18 and set(rows["scale"]) == {"nano", "micro"}
    assert rows[rows["method"] == "adamw"]["data_speedup"].to_numpy() == pytest.approx(1.0, abs=0.02)
    muon = rows[rows["method"] == "muon"]
    assert (muon[muon["bound"] == "no"]["data_speedup"] > 1.3).all()  # at the largest budget: "> 1.00x", a bound
    assert (muon[muon["bound"] == "yes"]["data_speedup"] == 1.0).all()


def test_loss_page_fits_the_baseline_in_every_panel(results):
    at = run("pages_loss.py", {"hardware": "CPU (Synthetic CPU)"})
    fits = frame(at)
    assert len(fits) == 2 and fits["fit"].str.startswith("adamw: ").all() and not at.warning
    points = pages_loss.trials(store.read_results(results)[0].assign(hardware="x"))
    two = points[points["budget_multiple"] < 1]  # two budgets cannot be fitted: reported, not drawn
    curves, failed = pages_loss.fits(two)
    assert curves.empty and len(failed) == 2


def test_pareto_marks_the_frontier_and_estimated_energy(results):
    df, _ = store.read_results(results)
    df["hardware"] = data.hardware_label(df)
    rows = pages_pareto.frame(df[df["workload"] == "gpt"], "energy_j")
    assert set(rows["panel"]) == {"CPU (Synthetic CPU) — energy estimated", "NVIDIA H100 80GB HBM3 — energy measured"}
    for _, g in rows.groupby("hardware"):
        assert g["front"].tolist() == analysis.pareto_front(g["energy_j"], g["final_val_loss"]).tolist()
        assert 0 < g["front"].sum() < len(g)
    at = run("pages_pareto.py")
    assert any("estimated" in w.value for w in at.warning) and at.selectbox[0].value == "gpt"


# --------------------------------------------------------------------------- claims, runs, method


def test_claims_page_puts_the_claim_beside_its_measurement():
    at = run("pages_claims.py")
    overview = frame(at, 0)
    muon = overview[overview["method"] == "muon"].iloc[0]
    assert muon["claimed"] == "1.4×" and muon["measurements"] == 8 and muon["scaled-down"] == 8
    assert muon["supported"] + muon["not supported"] + muon["inconclusive"] == 8
    detail = frame(at, 1)
    assert set(detail["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert (detail["labels"] == "scaled-down").all() and detail["measured"].median() == pytest.approx(1.4, abs=0.1)
    assert any("merely 1.1x for 1.2B" in m.value for m in at.markdown)


def test_runs_page_shows_a_failed_trial_and_lr_sensitivity():
    at = run("pages_runs.py", {"scale": "nano", "hardware": "CPU (Synthetic CPU)"})
    trial = at.selectbox(key="trial")
    diverged = next(o for o in trial.options if "diverged" in o)
    trial.set_value(diverged).run()
    assert any("diverged" in e.value for e in at.error)
    sens = frame(at, 1)
    assert len(sens) == 9 and (sens["n_failed"] == 1).all() and (sens["n_trials"] == 4).all()
    assert sens["best_lr"].to_numpy() == pytest.approx(3e-3)
    trial.set_value(next(o for o in trial.options if "final seed 1" in o)).run()
    provenance = frame(at, 0)
    assert {"trial_id", "device", "torch_version", "started_at"} <= set(provenance["field"])


def test_method_page_shows_formula_paper_and_search_space():
    at = run("pages_method.py", {"method": "muon"})
    assert "Newton-Schulz" in at.code[0].value and at.query_params["method"] == "muon"
    assert "arXiv:2509.02046" in " ".join(m.value for m in at.markdown)
    space = frame(at)
    declared = registry.get("optimizer", "muon").search_space
    assert set(space["hyperparameter"]) == set(declared)
    assert dict(zip(space["hyperparameter"], space["distribution"])) == {
        k: type(v).__name__ for k, v in declared.items()}
