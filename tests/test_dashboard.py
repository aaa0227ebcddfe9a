"""The dashboard's pages under Streamlit's AppTest, on synthetic results written with
``harness.store.write_row`` (tests/fake_results.py: muon is built 1.4x as data-efficient as
adamw, sgd 0.6x; a second suite on digits where forward_forward stays at chance). AppTest sees a
chart only as its Vega-Lite spec: the specs and the data feeding them are tested here."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import data, launch, look, pages_leaderboard, pages_loss, pages_pareto, pages_speedup
from harness import store
from harness.contracts import registry
from harness.stats import analysis, overview
from tests.fake_results import write_fake_classification, write_fake_results

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
PAGES = ("pages_overview.py", "pages_leaderboard.py", "pages_speedup.py", "pages_loss.py", "pages_pareto.py",
         "pages_claims.py", "pages_runs.py", "pages_method.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """optimizers: CPU 2 scales x 3 budgets, H100 nano x 2 budgets, 3 methods, 2 final seeds, tuning with one
    divergence; backprop_free: CPU nano x 3 budgets, 3 methods (forward_forward at chance, one seed)."""
    path = tmp_path_factory.mktemp("results")
    write_fake_results(path, hardware=("cpu",), seeds=2)
    write_fake_results(path, hardware=("h100",), scales=("nano",), budgets=(0.5, 1.0), seeds=2)
    write_fake_classification(path)
    return path


@pytest.fixture(autouse=True)
def fresh(monkeypatch, results):
    st.cache_data.clear()  # caches survive between AppTest instances in one process
    st.cache_resource.clear()
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


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def cards(at: AppTest, key: str) -> list[dict[str, str]]:
    """The rows of the ``look.cards`` table ``key`` as {column title: its text}."""
    body = next(h.proto.body for h in at.get("html") if f'id="{key}"' in h.proto.body)
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1])
    text = lambda cell: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())  # noqa: E731
    return [{label: text(cell) for label, cell in re.findall(r'<td data-label="([^"]*)">(.*?)</td>', row)}
            for row in rows]


# --------------------------------------------------------------------------- app, empty and corrupt results


def test_app_navigates_to_every_page_and_an_empty_folder_is_a_friendly_message(monkeypatch, tmp_path):
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path / "nothing-here"))
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page != "pages_method.py":  # the method page reads the catalog, not results
            assert any("No results to show yet" in i.value for i in at.info), page


def test_bad_files_never_break_a_page_and_say_whose_data_is_missing(monkeypatch, tmp_path):
    write_fake_results(tmp_path, hardware=("cpu",), scales=("nano",), seeds=2)
    folder = tmp_path / "suite=optimizers"
    (folder / "broken.parquet").write_bytes(b"not parquet at all")
    (folder / "dangling.parquet").symlink_to(tmp_path / "gone.parquet")
    (folder / "loop.parquet").symlink_to(folder / "loop.parquet")
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path))
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=120).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page != "pages_method.py":
            listed = at.expander[0].code[0].value
            assert "3 results file(s) could not be read" in at.expander[0].label, page
            assert all(name in listed for name in ("broken.parquet", "dangling.parquet", "loop.parquet"))
            assert listed.count("missing from suite `optimizers`") == 3
    at = run("pages_leaderboard.py")
    assert len(frame(at)) == 9  # the readable trials still make their rows


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


# --------------------------------------------------------------------------- the first screen


def test_first_screen_is_one_line_per_suite_with_the_engines_winner_interval_and_verdicts(results):
    at = run("pages_overview.py")
    lines = cards(at, "answer")
    assert [line[""].split()[0] for line in lines] == ["backprop_free", "optimizers", "optimizers"]  # claims first
    assert "CPU (Synthetic CPU)" in lines[1][""] and "NVIDIA H100 80GB HBM3" in lines[2][""]  # one line per hardware
    board = data.current()["board"]

    def engine(suite, hardware, scale, budget, method):  # the leaderboard's own text for that study
        row = board[(board["suite"] == suite) & (board["hardware"] == hardware) & (board["scale"] == scale)
                    & (board["budget_multiple"] == budget) & (board["method"] == method)]
        return look.times(row["data_speedup_text"].iloc[0])

    digits, cpu, h100 = lines
    assert digits["best"].startswith("mono_forward") and "forward_forward (did not learn" in digits["best"]
    assert digits["vs baseline (95%)"].startswith(engine("backprop_free", "CPU (Synthetic CPU)", "nano", 0.5,
                                                         "mono_forward") + " over backprop · 3 seeds")
    assert digits["measured on"].startswith("digits · nano · 0.5×") and digits["claims"].startswith("1 supported")
    assert cpu["best"].startswith("muon ⚠ under-trained regime")  # the caveats travel with the winner
    assert cpu["vs baseline (95%)"].startswith(engine("optimizers", "CPU (Synthetic CPU)", "micro", 0.5, "muon"))
    assert cpu["measured on"].startswith("gpt · micro · 0.5×")  # the largest model, a closed interval
    assert "muon best in 4 of 6 compared studies" in cpu["measured on"]  # at 1x muon only ties: a bound
    assert h100["vs baseline (95%)"].startswith(engine("optimizers", "NVIDIA H100 80GB HBM3", "nano", 0.5, "muon"))
    studies = cards(at, "studies-optimizers")
    bound = [s for s in studies if s[""] == "gpt · micro · 1×"][0]
    assert bound["best"].startswith("no clear winner best: muon, inside adamw's noise")
    assert bound["vs baseline (95%)"].startswith("> 1.00× [1.00, open¹]")  # the open end, explained below
    assert any(c.value.startswith("¹ open: that end of the interval lies beyond what adamw's budgets can measure "
                                  "(0.25×–1×)") for c in at.caption)
    assert [h.value for h in at.header] == ["Suite `backprop_free`", "Suite `optimizers`"]
    scores = [m.value for m in at.markdown if m.value.startswith("AlgoPerf score")]
    assert len(scores) == 3 and "over the 6 studies all 3 scored methods ran" in scores[1]
    assert scores[1].split("): ", 1)[1].startswith("`muon` **")  # the fastest to the target
    assert len(at.get("vega_lite_chart")) == 3  # a performance profile per suite and hardware
    claims = " ".join(m.value for m in at.markdown)
    assert "- **`muon`**: 1.40x data speedup" in claims  # grouped per claim, then one line per scale:
    assert "    - :gray-badge[:material/help: inconclusive (scaled-down)] gpt/nano" in claims  # scaled-down said


def test_a_method_that_did_not_learn_or_ran_one_seed_is_never_the_winner():
    def row(method, loss, lo, hi, n=3, flags="", speedup=np.nan, kind="none"):
        return {"suite": "s", "suite_version": "1", "hardware": "h", "workload": "w", "scale": "a", "params": 10,
                "budget_multiple": 1.0, "method": method, "baseline": "base", "loss": loss, "loss_lo": lo,
                "loss_hi": hi, "n_seeds": n, "flags": flags, "data_speedup": speedup, "data_speedup_lo": np.nan,
                "data_speedup_hi": np.nan, "data_speedup_kind": kind, "data_speedup_text": "—",
                "loss_delta": 2.0 - loss, "loss_delta_lo": 2.0 - hi - 0.1, "loss_delta_hi": 2.0 - lo + 0.1,
                "speedup_range_lo": 1.0, "speedup_range_hi": 1.0}

    board = pd.DataFrame([row("base", 2.0, 1.9, 2.1), row("dead", 0.5, 0.4, 0.6, flags="did not learn"),
                          row("lone", 0.4, np.nan, np.nan, n=1, flags="single seed"), row("good", 1.5, 1.45, 1.55)])
    study = overview.studies(board).iloc[0]
    assert (study["outcome"], study["method"]) == ("winner", "good")
    assert study["excluded"] == "dead (did not learn); lone (single seed)"
    alone = overview.studies(board[board["method"].isin(["base", "dead", "lone"])]).iloc[0]
    assert alone["outcome"] == "none qualifies" and alone["method"] == "base"
    assert overview.studies(board[board["method"] == "base"]).iloc[0]["outcome"] == "only baseline"
    worse = board.assign(loss_delta_lo=-0.6, loss_delta_hi=-0.4, loss=[2.0, 0.5, 0.4, 2.5])
    assert overview.studies(worse).iloc[0]["outcome"] == "baseline best"


def test_the_algoperf_score_counts_only_studies_every_scored_method_ran():
    ran = pd.DataFrame({"a": [True, True, True], "b": [True, True, False], "c": [True, False, False]},
                       index=["w1", "w2", "alone"])
    assert overview.comparable(ran) == (["w1", "w2"], ["a", "b"])  # c ran one of them: not scored
    assert overview.comparable(ran[["a"]]) == ([], [])  # one method: nothing to compare


def test_the_first_screen_is_read_back_from_disk_while_the_folder_is_unchanged(monkeypatch, tmp_path):
    data.current()  # computed once (or already on disk)
    computed, real = [], data.compute
    monkeypatch.setattr(data, "compute", lambda path: computed.append(path) or real(path))

    def restart():  # a server started again: nothing in memory
        st.cache_resource.clear()
        return data.current()

    assert list(restart()["lines"]["suite"]) == ["backprop_free", "optimizers", "optimizers"] and not computed
    write_fake_results(tmp_path, hardware=("cpu",), scales=("nano",), seeds=2)
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path))
    first = restart()
    assert len(computed) == 1 and len(restart()["board"]) == len(first["board"]) and len(computed) == 1
    one = next(tmp_path.glob("suite=*/*.parquet"))
    one.touch()  # a result file rewritten: the folder's stamp changes
    restart()
    assert len(computed) == 2


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_is_grouped_per_suite_and_workload_with_the_method_pinned():
    at = run("pages_leaderboard.py")
    assert [s.value for s in at.subheader] == ["backprop_free · digits", "optimizers · gpt", "optimizers · gpt"]
    digits, gpt = frame(at, 0), frame(at, 1)
    assert len(digits) == 9 and len(gpt) == 18 and len(frame(at, 2)) == 6
    assert list(gpt.columns[:5]) == ["group", "method", "rank", "speedup", "flags"]  # the caveats beside the number
    assert (gpt.groupby("group")["rank"].min() == 1).all() and gpt["group"].iloc[0] == "nano · 0.25×"
    speed = gpt.set_index("method")["speedup"]
    assert speed["muon"].str.startswith(("1.3", "1.4", "> 1.00×")).all() and speed["muon"].str.startswith("1.4").any()
    assert (speed["adamw"] == "1.00× (baseline)").all()
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["method"]["pinned"] and config["group"]["pinned"]
    assert config["metric_delta"]["label"] == "accuracy Δ"  # the suite's own headline metric
    assert config["metric"]["label"] == "accuracy" and digits["metric"].between(0.09, 1).all()  # absolute, too
    assert all(c.get("help") for k, c in config.items() if k != "_index")
    assert "steps_ratio" not in gpt  # these rows predate bracketed crossings: the engine gives no ratio, not a guess
    assert gpt[gpt["group"].str.endswith(("0.25×", "0.5×"))]["flags"].str.contains("under-trained regime").all()
    chance = digits[digits["method"] == "forward_forward"]["flags"]
    assert chance.str.contains("did not learn").all() and chance.str.contains("single seed").all()
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download Parquet"]


def test_column_chooser_lives_in_the_url():
    at = run("pages_leaderboard.py", {"cols": ["rank", "loss", "forgetting_delta"]})
    assert list(frame(at, 1).columns) == ["group", "method", "rank", "loss"]  # an empty column is hidden
    at.multiselect(key="cols").set_value(["speedup"]).run()
    assert at.query_params["cols"] == "speedup" and list(frame(at, 1).columns) == ["group", "method", "speedup"]


def test_filters_hide_rows_and_change_no_number():
    everything = pd.concat([frame(run("pages_leaderboard.py"), i) for i in range(3)])
    at = run("pages_leaderboard.py", {"suite": "optimizers", "budget_multiple": ["0.25", "1"], "scale": "nano"})
    kept = pd.concat([frame(at, i) for i in range(len(at.dataframe))])
    assert len(kept) == 9 and set(kept["group"]) == {"nano · 0.25×", "nano · 1×"}
    same = everything.merge(kept, on=["group", "method", "loss"], suffixes=("", "_filtered"))
    assert len(same) == len(kept)  # every kept row exists, with the same loss, in the unfiltered board
    assert (same["speedup"] == same["speedup_filtered"]).all() and (same["rank"] == same["rank_filtered"]).all()
    assert (same["loss_ci"] == same["loss_ci_filtered"]).all()


def test_filters_cascade_and_live_in_the_url():
    at = run("pages_leaderboard.py", {"suite": "backprop_free"})
    assert at.multiselect(key="filter_workload").options == ["digits"]
    assert at.multiselect(key="filter_scale").options == ["nano"]
    assert at.multiselect(key="filter_hardware").options == ["CPU (Synthetic CPU)"]
    at = run("pages_leaderboard.py", {"scale": "nano", "hardware": "NVIDIA H100 80GB HBM3"})
    assert at.multiselect(key="filter_budget_multiple").options == ["0.25", "0.5", "1"]
    assert len(frame(at)) == 6 and set(frame(at)["group"]) == {"nano · 0.5×", "nano · 1×"}
    at.multiselect(key="filter_budget_multiple").set_value(["1"]).run()
    assert at.query_params["budget_multiple"] == "1" and len(frame(at)) == 3
    at.multiselect(key="filter_scale").set_value([]).run()
    assert "scale" not in at.query_params


def test_leaderboard_download_round_trips_as_parquet():
    found = data.current()
    board = found["board"]
    assert found["notes"].empty
    back = pd.read_parquet(io.BytesIO(pages_leaderboard.parquet_bytes(board)))
    pd.testing.assert_frame_equal(back, board, check_dtype=False)


# --------------------------------------------------------------------------- charts


def test_speedup_is_drawn_per_workload_on_a_log_axis_with_the_measurable_range():
    at = run("pages_speedup.py", {"at": "0.5"})
    assert [s.value for s in at.subheader] == ["backprop_free · digits · CPU (Synthetic CPU)",
                                               "optimizers · gpt · CPU (Synthetic CPU)",
                                               "optimizers · gpt · NVIDIA H100 80GB HBM3"]
    for spec in specs(at):
        scales = [layer["encoding"]["y"].get("scale", {}) for layer in spec["layer"] if "y" in layer["encoding"]]
        assert any(s.get("type") == "log" for s in scales)
    rows = frame(at)
    cpu = rows[(rows["hardware"] == "CPU (Synthetic CPU)") & (rows["suite"] == "optimizers")]
    muon = cpu[cpu["method"] == "muon"]
    assert len(cpu) == 18 and (muon["data_speedup"].dropna() > 1.3).all()
    assert (muon[muon["budget_multiple"] == 1]["bound"] == "> 1.00× [1.00, open]").all()  # drawn as an arrow
    at1 = cpu[cpu["budget_multiple"] == 1]  # the baseline measured 0.25x..1x: D*/D from 0.25 to 1 at 1x
    assert at1["range_lo"].to_numpy() == pytest.approx(0.25) and at1["range_hi"].to_numpy() == pytest.approx(1.0)
    legend = specs(at)[1]["layer"][3]["encoding"]["color"]["scale"]["domain"]
    assert legend == ["adamw", "muon", "sgd"]  # only the methods drawn in that panel


def test_a_bound_is_an_arrow_not_a_number():
    board = pd.DataFrame({"suite": ["s", "s"], "workload": ["w", "w"], "hardware": ["h", "h"], "scale": ["a", "a"],
                          "params": [1, 1], "budget_multiple": [1.0, 1.0], "budget": [10.0, 10.0],
                          "method": ["base", "m"], "baseline": ["base", "base"], "data_speedup": [1.0, 2.0],
                          "data_speedup_lo": [np.nan, 2.0], "data_speedup_hi": [np.nan, np.nan],
                          "data_speedup_kind": ["baseline", "lower_bound"],
                          "data_speedup_text": ["1.00x (baseline)", "> 2.00x"], "n_seeds": [3, 3],
                          "speedup_range_lo": [0.5, 0.5], "speedup_range_hi": [2.0, 2.0]})
    rows = pages_speedup.frame(board)
    bound = rows[rows["method"] == "m"].iloc[0]
    assert (bound["bound_dir"], bound["bound_value"], bound["bound"]) == (">", 2.0, "> 2.00×")
    assert (bound["range_lo"], bound["range_hi"]) == (0.5, 2.0)  # the shaded band: what the baseline can measure
    assert np.isnan(bound["data_speedup"])  # no point drawn for a bound


def test_loss_panels_never_mix_suites_and_say_their_unit(results):
    at = run("pages_loss.py", {"hardware": "CPU (Synthetic CPU)"})
    titles = [m.value for m in at.markdown]
    assert titles[0] == "**backprop_free · digits · nano · CPU (Synthetic CPU)**" and len(titles) == 3
    x_titles = [layer["encoding"]["x"]["title"] for spec in specs(at) for layer in spec["layer"]]
    assert x_titles[0] == "budget (training examples, log)" and "budget (training tokens, log)" in x_titles
    fits = frame(at)
    assert len(fits) == 3 and not at.warning
    assert set(fits["fit"].str.split(":").str[0]) == {"adamw", "backprop"}
    points = pages_loss.trials(store.read_results(results)[0].assign(hardware="x"))
    two = points[points["budget_multiple"] < 1]  # two budgets cannot be fitted: reported, not drawn
    curves, failed = pages_loss.fits(two, {"optimizers": "adamw", "backprop_free": "backprop"})
    assert curves.empty and len(failed) == 3


def test_each_method_keeps_one_colour_and_the_legend_lists_only_what_is_shown(results):
    df, _ = store.read_results(results)
    fixed = look.colors(df)
    assert len(set(fixed.values())) == len(fixed) == 6  # adamw and another method never share a colour
    assert data.colors() == fixed  # every page reads the same map
    color = look.method_color(fixed, df[df["method"].isin(["sgd", "muon"])]).to_dict()
    assert color["scale"] == {"domain": ["muon", "sgd"], "range": [fixed["muon"], fixed["sgd"]]}


def test_colours_never_repeat_inside_a_suite_and_the_largest_suite_gets_the_first_ones():
    rows = pd.DataFrame({"suite": ["big"] * 30 + ["small"] * 3,
                         "method": [f"m{i:02d}" for i in range(30)] + ["m00", "x", "y"]})
    fixed = look.colors(rows)
    small = [fixed[m] for m in ("m00", "x", "y")]
    assert len(set(small)) == 3 and fixed["m00"] == look.PALETTE[0]
    assert len({fixed[f"m{i:02d}"] for i in range(24)}) == 24  # a suite of 30 reuses colours only past 24
    assert look.shared(fixed, [f"m{i:02d}" for i in range(30)]) and not look.shared(fixed, ["m00", "x", "y"])
    dash = look.method_dash(fixed, pd.DataFrame({"method": ["m00", "m24"]})).to_dict()  # one colour: two dashes
    assert fixed["m00"] == fixed["m24"] and dash["scale"]["range"][0] != dash["scale"]["range"][1]


def test_no_chart_on_any_page_gives_two_shown_methods_one_colour():
    fixed = data.colors()
    for page, query in (("pages_overview.py", {}), ("pages_speedup.py", {}), ("pages_loss.py", {}),
                        ("pages_pareto.py", {"task": "optimizers · gpt"}), ("pages_runs.py", {})):
        for spec in specs(run(page, query)):
            for layer in spec.get("layer", [spec]):
                color = layer.get("encoding", {}).get("color", {})
                if color.get("field") == "method":
                    domain, colours = color["scale"]["domain"], color["scale"]["range"]
                    assert len(set(colours)) == len(colours), (page, domain, colours)
                    assert colours == [fixed[m] for m in domain]  # the method's colour on every page


def test_pareto_is_per_task_on_whole_studies_and_marks_estimated_energy(results):
    df, board = data.rows(), data.current()["board"]
    rows = pages_pareto.frame(df[df["workload"] == "gpt"], board, "energy_j")
    assert set(rows["panel"]) == {"optimizers · gpt · CPU (Synthetic CPU) — energy estimated",
                                  "optimizers · gpt · NVIDIA H100 80GB HBM3 — energy measured"}
    assert len(rows) == len(board[board["workload"] == "gpt"])  # one point per study
    for _, g in rows.groupby("hardware"):
        assert g["front"].tolist() == analysis.pareto_front(g["energy_j"], g["loss"]).tolist()
        assert 0 < g["front"].sum() < len(g)
    at = run("pages_pareto.py")
    assert at.selectbox[0].value == "backprop_free · digits"  # the first screen's first suite
    at = run("pages_pareto.py", {"task": "optimizers · gpt"})
    assert at.selectbox[0].value == "optimizers · gpt" and len(at.get("vega_lite_chart")) == 4  # 2 costs x 2 hw
    assert any("estimated" in w.value for w in at.warning)
    nano = rows[rows["scale"] == "nano"]  # what the scale filter keeps: the whole task's frontier, not nano's own
    for _, g in nano.groupby("hardware"):
        assert g["front"].sum() <= analysis.pareto_front(g["energy_j"], g["loss"]).sum()


# --------------------------------------------------------------------------- claims, runs, method


def test_claims_are_grouped_per_claim_one_line_per_scale_with_the_engines_words():
    at = run("pages_claims.py")
    table = frame(at, len(at.dataframe) - 1)  # every verdict, after the cards
    assert not table.duplicated(["method", "paper", "where", "hardware", "baseline"]).any()
    muon = table[(table["method"] == "muon") & (table["hardware"] == "CPU (Synthetic CPU)")]
    assert set(muon["where"]) == {"gpt / nano", "gpt / micro"}
    summary = data.current()["verdicts"]
    engine = summary[(summary["method"] == "muon") & (summary["hardware"] == "CPU (Synthetic CPU)")]
    assert sorted(muon["ours"]) == sorted(engine["measured"].map(look.times))  # the engine's words, with ×
    assert muon["ours"].str.contains(r"\(95%\)").all() and muon["paper"].str.contains("x data speedup").all()
    published = dict(zip(muon["paper"], muon["published"], strict=False))  # Marin's losses, our estimator
    first = next(p for p in published if p.startswith("1.40x"))
    assert published[first] == "1.29-1.42× at 130m (marin_fantastic_optimizers_2025)", published
    assert published[next(p for p in published if p.startswith("1.10x"))].startswith("1.12-1.13× at 1.2b")
    text = " ".join(m.value for m in at.markdown)
    assert "Published replications: 1.29-1.42× at 130m (our data-speedup estimator" in text  # in full on the card
    assert set(table["verdict"]) <= {*overview.COUNTS}  # the scaled-down ones say so
    assert table.loc[table["where"] == "gpt / nano", "verdict"].str.endswith("(scaled-down)").all()
    assert not table.astype(str).isin(["None", "nan"]).any().any()
    assert "[arXiv:2509.02046](https://arxiv.org/abs/2509.02046)" in text
    assert [s.value for s in at.subheader][:2] == ["Suite `backprop_free`", "Suite `optimizers`"]
    card = next(m.value for m in at.markdown if m.value.startswith("- ") and "gpt/micro" in m.value)
    assert card.count("\n- ") == 2  # one line per scale and hardware: nano on CPU and H100, micro on CPU
    assert "not measured yet" in at.expander[-1].label
    micro = run("pages_claims.py", {"scale": "micro"})
    kept = frame(micro, len(micro.dataframe) - 1)
    assert set(kept["where"]) == {"gpt / micro"}  # the filter hides verdicts, it does not re-judge them
    pd.testing.assert_frame_equal(kept.reset_index(drop=True),
                                  table[table["where"] == "gpt / micro"].reset_index(drop=True))


def test_runs_overlay_the_final_seeds_of_the_baseline_and_the_winner_and_keep_them_in_the_url():
    at = run("pages_runs.py", {"suite": "optimizers", "scale": "nano", "hardware": "CPU (Synthetic CPU)"})
    picked = at.multiselect(key="runs").value
    assert len(picked) == 4 and at.query_params["run"] == picked
    layer = specs(at)[0]
    assert layer["encoding"]["color"]["scale"]["domain"] == ["adamw", "muon"]
    again = run("pages_runs.py", {"run": picked[-1:], "method": "muon"})  # sorted by method: the last is muon
    assert again.multiselect(key="runs").value == picked[-1:] and again.selectbox(key="run_method").value == "muon"
    trial = at.multiselect(key="runs")
    diverged = next(o for o in trial.options if "diverged" in o).split(" · ")[-1]  # labels end with the trial id
    trial.set_value([diverged]).run()
    assert any("diverged" in e.value for e in at.error)
    sens = frame(at, 1)
    assert len(sens) == 9 and (sens["n_failed"] == 1).all() and (sens["n_trials"] == 4).all()
    assert sens["best_lr"].to_numpy() == pytest.approx(3e-3)


def test_method_page_shows_formula_paper_results_and_verdicts():
    at = run("pages_method.py", {"method": "muon"})
    assert "Newton-Schulz" in at.code[0].value and at.query_params["method"] == "muon"
    text = " ".join(m.value for m in at.markdown)
    assert "[arXiv:2509.02046](https://arxiv.org/abs/2509.02046)" in text and "(scaled-down)" in text
    results, space = frame(at, 0), frame(at, 1)  # what was measured comes before the definition
    declared = registry.get("optimizer", "muon").search_space
    assert list(space["hyperparameter"]) == list(declared)  # in the order the method declares them
    assert len(results) == 8 and set(results["suite"]) == {"optimizers"} and (results["rank"] == 1).all()


def test_factors_read_with_a_times_sign_and_arxiv_ids_are_links():
    assert look.times("1.40x [1.38, 1.41]") == "1.40× [1.38, 1.41]" and look.times("> 2.00x") == "> 2.00×"
    assert look.times(None) == "—"
    assert look.linked("Wen et al., arXiv:2509.02046") == (
        "Wen et al., [arXiv:2509.02046](https://arxiv.org/abs/2509.02046)")


def test_method_page_reads_the_catalog_even_where_needs_depend_on_the_hyperparameters():
    at = run("pages_method.py", {"method": "sophia"})  # needs: a function of the estimator
    assert [c.value for c in at.caption][0] == "needs from the trainer: sampled_loss"  # at its defaults (gnb)
    assert at.code[0].value.startswith("Sophia:")
    at = run("pages_method.py", {"method": "forward_forward"})
    assert [c.value for c in at.caption][0] == "native architecture: mlp"


def test_a_suite_baseline_is_the_one_its_rows_recorded_else_the_method_run_most(results):
    assert data.baselines() == {"optimizers": "adamw", "backprop_free": "backprop"}
    df, _ = store.read_results(results)
    older = df.drop(columns="baseline")[df["suite"] == "optimizers"]  # rows written before the column
    assert analysis.recorded_baseline(older) == older["method"].mode()[0]
    assert analysis.recorded_baseline(df[df["suite"] == "nowhere"]) is None


def test_every_reference_row_records_its_baseline():
    """The dashboard reads no suite file: the reference results name their baseline themselves."""
    df, problems = store.read_results(Path(__file__).resolve().parent.parent / "reference")
    assert not problems and len(df) and df["baseline"].notna().all()


def test_method_page_opens_on_a_method_with_results():
    at = run("pages_method.py")
    assert at.query_params["method"] in {"adamw", "backprop", "forward_forward", "mono_forward", "muon", "sgd"}
    assert len(frame(at, 0)) > 0


def test_the_dashboard_and_the_cli_print_the_same_verdicts_for_the_same_rows(monkeypatch):
    """One engine: every claim's verdict, interval and confidence on the dashboard equal `harness verify
    --reference`'s for the shipped reference rows."""
    from dashboard import verdicts
    from harness.verify import REFERENCE, verify_suite

    monkeypatch.setenv(data.RESULTS_ENV, str(REFERENCE))
    monkeypatch.setattr("sys.argv", ["app.py"])
    shown = verdicts.per_scale()
    assert len(shown) > 40
    for method, suite in (("muon", "optimizers"), ("sophia", "optimizers"), ("linear", "schedules"),
                          ("streaming_diloco", "low_communication")):
        mine = [c for c in registry.get("optimizer" if suite == "optimizers" else
                                        "schedule" if suite == "schedules" else "method", method).claims]
        _, cli = verify_suite(method, suite, mine, [f"results={REFERENCE}", "preset=cpu"], show=False, run=False)
        dash = shown[shown["method"] == method]
        keys = ["quote", "metric", "claimed", "workload", "scale"]
        both = cli.merge(dash, on=keys, suffixes=("_cli", "_dashboard"))
        assert len(both) == len(cli) > 0
        for col in ("verdict", "confidence", "measured"):
            assert (both[f"{col}_cli"] == both[f"{col}_dashboard"]).all(), both[[*keys, f"{col}_cli",
                                                                             f"{col}_dashboard"]]
        for col in ("lo", "hi"):
            assert np.allclose(both[f"{col}_cli"].astype(float), both[f"{col}_dashboard"].astype(float),
                               equal_nan=True)


def test_the_dashboard_and_the_cli_put_the_same_tier_beside_the_published_one(monkeypatch, capsys):
    """One engine: the Claims page's tier check on reference/ is ``tiers.tier_table`` of the rows `harness verify
    method=all --reference` reads, and its rank agreements and trends are the lines that command prints."""
    from harness import report
    from harness.stats import engine, tiers
    from harness.store import published
    from harness.verify import REFERENCE, print_tiers

    monkeypatch.setenv(data.RESULTS_ENV, str(REFERENCE))
    monkeypatch.setattr("sys.argv", ["app.py"])
    found = data.current()
    rows, _ = store.read_results(REFERENCE, "optimizers", columns=report.ROW_COLUMNS)
    ours = tiers.ours_table(engine.boards(rows, "adamw"), "adamw")
    cli = tiers.tier_table(ours, tiers.published_table(sorted(set(ours["method"])), "adamw",
                                                       published.read_published()))
    keys = ["method", "ours_scale", "published_scale"]
    shown = found["tiers"]
    assert set(shown["suite"]) == {"optimizers"} and set(shown["baseline"]) == {"adamw"} and len(cli) > 20
    pd.testing.assert_frame_equal(shown[list(tiers.COLUMNS)].sort_values(keys).reset_index(drop=True),
                                  cli.sort_values(keys).reset_index(drop=True), check_dtype=False)
    print_tiers({}, published.read_published(), [f"results={REFERENCE}", "preset=cpu"])
    printed = capsys.readouterr().out
    at = run("pages_claims.py")
    text = " ".join(m.value for m in at.markdown)
    assert "Does our tier predict the published one?" in [s.value for s in at.subheader]
    for r in found["tier_ranks"].itertuples():  # the CLI's numbers, in the page's words
        assert f"our {r.ours_scale} vs published {r.published_scale} over {r.n} optimizers: Spearman {r.rho:.2f} " \
               f"[{r.lo:.2f}, {r.hi:.2f}] (95% bootstrap over methods), permutation p = {r.p:.2f}" in printed
        assert f"our **{r.ours_scale}** vs published {r.published_scale} over {r.n} methods: Spearman ρ " \
               f"**{r.rho:.2f}** [{r.lo:.2f}, {r.hi:.2f}]" in text
    assert len(found["tier_ranks"]) == 2 and len(found["tier_trends"]) == 3
    for r in found["tier_trends"].itertuples():
        assert f"trend with size, {r.method}: ours {r.ours} ({r.ours_trend}), published {r.published}" in printed
        assert f"`{r.method}`: ours {r.ours.replace('->', '→')} ({r.ours_trend})" in text
    table = cards(at, "tiers-0")
    near = cli[cli["published_scale"] == "130m"]
    assert len(table) == len(near) == 10
    assert {(c[""], c["our scale"], c["agreement"]) for c in table} == set(zip(
        near["method"], near["ours_scale"], near["agreement"], strict=True))
    assert any("open¹" in c["ours (95%)"] for c in table)  # each open end explained below the table
    assert "¹ open: that end of the interval lies beyond what adamw's budgets can measure" in " ".join(
        c.value for c in at.caption)


def test_the_tier_check_says_what_it_cannot_measure(monkeypatch, tmp_path):
    at = run("pages_claims.py")  # synthetic: muon is the only optimizer with a published replication
    lines = [m.value for m in at.markdown if "Rank agreement" in m.value]
    assert lines and "over 1 method: cannot be measured (it needs 3 or more" in lines[0]
    assert [c[""] for c in cards(at, "tiers-0")] == ["muon", "muon"]  # nano and micro on CPU
    write_fake_classification(tmp_path)  # backprop_free only: no published replication of its methods
    monkeypatch.setenv(data.RESULTS_ENV, str(tmp_path))
    at = run("pages_claims.py")
    assert data.current()["tiers"].empty
    assert any(c.value.startswith("No published replication of these methods") for c in at.caption)
