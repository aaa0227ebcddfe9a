"""Published results (``published/`` at the repository root): numbers transcribed from papers and
leaderboards, each row with its source, kept apart from this project's own measurements.

``read_results`` never returns them; ``read_published`` does, as a ``Published`` of tidy tables:

- ``losses``: final validation losses that fit the results schema (``SCHEMA`` rows with
  ``source="published"`` and a ``citation``): "Fantastic Pretraining Optimizers" (Marin), per
  optimizer, scale and budget, row 0 (the best configuration) of each ablation table.
- ``reported``: speedups a source states itself (one row per method it names), not recomputed.
- ``scores``: AlgoPerf leaderboard scores (higher is better, at most 1), per ruleset and rank.
- ``times``: AlgoPerf per-workload time-to-target (scoring-clock seconds or steps) per submission, the
  input of a score (``harness.stats.analysis.performance_profile`` recomputes it).
- ``records``: modded-nanogpt results: track 3 steps to 3.28 val loss with the mean loss and runs,
  tracks 1-2 wall-clock minutes to target on 8xH100.
- ``runs``: modded-nanogpt track 3, one final val loss per run of a result (the values behind its mean, so
  the track's z-test can be recomputed).
- ``raw``: every CSV row as transcribed (long format), ``checks``: what each source states about
  its own numbers (``checks.csv``), which ``tests/test_published.py`` recomputes.

Pure pandas; ``published/README.md`` lists the sources, the commits and the caveats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from harness.errors import ConfigError
from harness.store import SCHEMA

ROOT = Path(__file__).resolve().parents[2] / "published"
FILES = ("marin_fantastic_optimizers.csv", "algoperf_leaderboards.csv", "algoperf_v06_self_tuning_analysis.csv",
         "modded_nanogpt.csv", "modded_nanogpt_track3_runs.csv")
COLUMNS = ("source_id", "method", "source_name", "workload", "setting", "model_scale", "model_params",
           "budget_multiple", "tokens", "metric", "value", "n_runs", "status", "where", "notes")
MARIN = "marin_fantastic_optimizers_2025"
MARIN_WORKLOAD = "marin-c4"  # C4/EN validation loss of Marin's Llama-style LMs (Levanter)
SCORE_COLUMNS = ("leaderboard", "ruleset", "rank", "method", "submission", "score", "status", "citation")
RECORD_COLUMNS = ("track", "scale", "number", "date", "method", "description", "steps_to_target", "mean_final_val_loss",
                  "n_runs", "time_to_target_min", "world_record", "meets_statsig", "status", "citation")
TIME_COLUMNS = ("leaderboard", "ruleset", "clock", "method", "submission", "workload", "time_to_target", "status",
                "citation")
RUN_COLUMNS = ("track", "number", "run", "method", "steps_to_target", "final_val_loss", "status", "citation")
SCORE_METRICS = ("algoperf_benchmark_score", "algoperf_score_by_steps", "algoperf_score_by_wallclock")
TIME_METRICS = {"algoperf_time_to_target_s": "wallclock", "algoperf_steps_to_target": "steps"}
RUN_METRIC = "final_val_loss_run"
REPORTED_COLUMNS = ("source_id", "workload", "scale", "params", "method", "baseline", "speedup", "metric",
                    "quote", "citation")


@dataclass(frozen=True)
class Published:
    """The published results, one tidy table per kind (see the module docstring)."""

    version: str
    losses: pd.DataFrame
    reported: pd.DataFrame
    scores: pd.DataFrame
    records: pd.DataFrame
    raw: pd.DataFrame
    checks: pd.DataFrame
    times: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TIME_COLUMNS)))
    runs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RUN_COLUMNS)))


def read_published(root: Path | str = ROOT) -> Published:
    """Read ``published/`` into tidy tables; a missing file or column is a ``ConfigError``."""
    root = Path(root)
    raw = pd.concat([_read_csv(root / name) for name in FILES], ignore_index=True)
    version = (root / "VERSION").read_text().strip() if (root / "VERSION").is_file() else "unknown"
    marin = raw[raw["source_id"] == MARIN]
    algoperf, nanogpt = raw[raw["source_id"].str.startswith("algoperf")], raw[raw["source_id"].str.startswith("modded")]
    runs = nanogpt["metric"] == RUN_METRIC
    return Published(version=version, losses=_losses(marin, version), reported=_reported(marin),
                     scores=_scores(algoperf[algoperf["metric"].isin(SCORE_METRICS)]),
                     records=_records(nanogpt[~runs]), raw=raw,
                     checks=_read_csv(root / "checks.csv", columns=("source_id", "check_id", "expected")),
                     times=_times(algoperf[algoperf["metric"].isin(list(TIME_METRICS))]), runs=_runs(nanogpt[runs]))


def _read_csv(path: Path, columns=COLUMNS) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"published results: {path} not found")
    frame = pd.read_csv(path, dtype={"where": str, "notes": str, "setting": str})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"published results: {path.name} lacks columns {missing}")
    return frame.assign(file=path.name)


def _losses(marin: pd.DataFrame, version: str) -> pd.DataFrame:
    """Marin's best-configuration final losses as ``SCHEMA`` rows (one per optimizer, scale, budget),
    typed exactly as ``read_results`` returns ours."""
    rows = [{"trial_id": f"published:{MARIN}:{r.method}:{r.model_scale}:{r.budget_multiple:g}x",
             "run_id": r.source_id, "suite": "published", "suite_version": version, "baseline": "adamw",
             "phase": "final", "workload": MARIN_WORKLOAD, "scale": r.model_scale, "params": int(r.model_params),
             "budget_tokens": int(r.tokens), "tokens": int(r.tokens), "budget_multiple": float(r.budget_multiple),
             "method": r.method, "kind": "optimizer", "optimizer": r.method, "status": "ok",
             "final_val_loss": float(r.value), "val_metric_name": "c4en_val_loss", "source": "published",
             "citation": f"Wen et al. 2025, arXiv:2509.02046; {r.where}"}
            for r in marin[marin["metric"] == "final_val_loss"].itertuples()]
    return pa.Table.from_pylist(rows, schema=SCHEMA).to_pandas()


def _reported(marin: pd.DataFrame) -> pd.DataFrame:
    """The source's own speedup figures, one row per method the statement names.

    Marin's abstract speaks of "matrix-based optimizers (Muon, Soap, Kron)" at 0.1B and 1.2B; its
    scales are named like the loss rows (``130m``, ``1.2b``) through the parameter count.
    """
    claims = marin[marin["metric"] == "speedup_vs_adamw_reported"]
    loss_rows = marin[marin["metric"] == "final_val_loss"]
    scale_of = dict(zip(loss_rows["model_params"], loss_rows["model_scale"]))
    rows = []
    for r in claims.itertuples():
        methods = re.search(r"\(([^)]*)\)", r.method)
        for method in (methods.group(1).split(",") if methods else [r.method]):
            rows.append({"source_id": r.source_id, "workload": MARIN_WORKLOAD,
                         "scale": scale_of.get(r.model_params, r.model_scale), "params": r.model_params,
                         "method": method.strip(), "baseline": "adamw", "speedup": float(r.value), "metric": "data",
                         "quote": r.notes, "citation": f"Wen et al. 2025, {r.where}"})
    return pd.DataFrame(rows, columns=list(REPORTED_COLUMNS))


def _leaderboard(rows: pd.DataFrame) -> pd.Series:
    """The leaderboard label: ``v0.5``, ``v2_draft``, or per clock of an analysis (``..._by_steps``)."""
    name = rows["source_id"].str.removeprefix("algoperf_leaderboard_").str.removeprefix("algoperf_")
    clock = rows["metric"].str.extract(r"_(by_\w+)$")[0]
    return name.where(clock.isna(), name + "_" + clock)


def _scores(rows: pd.DataFrame) -> pd.DataFrame:
    """AlgoPerf: ``setting`` is "<ruleset>; rank <n>" (the draft v2 artifact has no rank)."""
    ruleset = rows["setting"].str.extract(r"^(\w+)")[0]
    rank = pd.to_numeric(rows["setting"].str.extract(r"rank (\d+)")[0]).astype("Int64")
    return pd.DataFrame({
        "leaderboard": _leaderboard(rows), "ruleset": ruleset,
        "rank": rank, "method": rows["method"], "submission": rows["source_name"],
        "score": rows["value"].astype(float), "status": rows["status"], "citation": rows["where"],
    }, columns=list(SCORE_COLUMNS)).reset_index(drop=True)


def _times(rows: pd.DataFrame) -> pd.DataFrame:
    """AlgoPerf per-workload time-to-target: ``setting`` is "<ruleset>; <clock>; workload <name>"; inf = target not
    reached, NaN = no data."""
    return pd.DataFrame({
        "leaderboard": rows["source_id"].str.removeprefix("algoperf_"), "ruleset": rows["setting"].str.extract(
            r"^(\w+)")[0], "clock": rows["metric"].map(TIME_METRICS), "method": rows["method"],
        "submission": rows["source_name"], "workload": rows["setting"].str.extract(r"workload (\w+)")[0],
        "time_to_target": rows["value"].astype(float), "status": rows["status"], "citation": rows["where"],
    }, columns=list(TIME_COLUMNS)).reset_index(drop=True)


def _runs(rows: pd.DataFrame) -> pd.DataFrame:
    """modded-nanogpt per-run final losses: ``setting`` is "result #<n>; run <k> of <m>; val loss at step <s> ..."."""
    return pd.DataFrame({
        "track": rows["source_id"].str.removeprefix("modded_nanogpt_"),
        "number": rows["setting"].str.extract(r"#(\d+)")[0].astype(int),
        "run": rows["setting"].str.extract(r"run (\d+)")[0].astype(int), "method": rows["method"],
        "steps_to_target": rows["setting"].str.extract(r"at step (\d+)")[0].astype(int),
        "final_val_loss": rows["value"].astype(float), "status": rows["status"], "citation": rows["where"],
    }, columns=list(RUN_COLUMNS)).sort_values(["track", "number", "run"]).reset_index(drop=True)


def _records(rows: pd.DataFrame) -> pd.DataFrame:
    """modded-nanogpt: one row per result (track 3's two metric rows joined); hours become minutes."""
    minutes = rows["value"].where(rows["metric"] != "time_to_target_hours", rows["value"] * 60)
    metric = rows["metric"].replace("time_to_target_hours", "time_to_target_min")
    keys = ["source_id", "model_scale", "setting", "method", "source_name", "status", "where"]
    wide = (rows.assign(value=minutes, metric=metric, n_runs=rows["n_runs"].fillna(-1))
            .pivot_table(index=keys + ["n_runs"], columns="metric", values="value", sort=False)
            .reset_index())
    track3 = wide["source_id"].str.contains("track3")
    out = pd.DataFrame({
        "track": wide["source_id"].str.removeprefix("modded_nanogpt_"),
        "scale": wide["model_scale"], "number": wide["setting"].str.extract(r"#(\d+)")[0].astype(int),
        "date": wide["setting"].str.extract(r"#\d+; ([^;]+)")[0].str.strip(),
        "method": wide["method"], "description": wide["source_name"],
        "steps_to_target": wide.get("steps_to_target"), "mean_final_val_loss": wide.get("mean_final_val_loss"),
        "n_runs": wide["n_runs"].where(wide["n_runs"] >= 0).astype("Int64"),
        "time_to_target_min": wide.get("time_to_target_min"),
        "world_record": ~track3 | wide["setting"].str.contains("world record"),
        "meets_statsig": (~wide["setting"].str.contains("NOT meet")).astype("boolean").where(track3),
        "status": wide["status"], "citation": wide["where"],
    }, columns=list(RECORD_COLUMNS))
    return out.sort_values(["track", "number"], kind="stable").reset_index(drop=True)
