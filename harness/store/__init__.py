"""The results store: one Parquet file per trial, one canonical schema, atomic writes.

Layout: ``<results>/suite=<suite>/<trial_id>.parquet`` (hive-partitioned by suite). A file is
written as ``.<trial_id>.parquet.tmp`` then renamed, so readers (pyarrow and DuckDB ignore names
that start with ``.``) never see half a file. Reads always cast to ``SCHEMA``: pyarrow would
otherwise take the first file's schema and silently drop newer columns. Corrupt or foreign files
are reported with their path and skipped; a trial id found in two files is counted once. The temporary
file is fsynced before the rename, so even a power cut never publishes an empty or partial file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_F, _I, _S, _B = pa.float64(), pa.int64(), pa.string(), pa.bool_()
_LF = pa.list_(pa.float64())

SCHEMA = pa.schema(
    [
        # identity
        ("trial_id", _S), ("run_id", _S), ("suite", _S), ("suite_version", _S), ("baseline", _S), ("phase", _S),
        ("workload", _S), ("scale", _S), ("params", _I), ("budget_tokens", _I),
        ("budget_multiple", _F), ("method", _S), ("kind", _S), ("optimizer", _S),
        ("schedule", _S), ("training_method", _S), ("seed", _I), ("study_id", _S),
        ("tuning_trials", _I), ("tuning_protocol", _S), ("batch_size", _I),
        # hyperparameters
        ("hparams_json", _S), ("hp_lr", _F), ("hp_weight_decay", _F), ("hp_momentum", _F),
        ("hp_warmup", _F),
        # outcome
        ("status", _S), ("error", _S),
        # quality
        ("final_val_loss", _F), ("final_val_metric", _F), ("val_metric_name", _S),
        ("target_value", _F), ("chance_loss", _F), ("reached_target", _B),
        # continual workloads: average forgetting (Chaudhry et al. 2018) and per-task numbers
        ("forgetting", _F), ("task_metrics_json", _S),
        # cost
        ("steps", _I), ("tokens", _I), ("flops", _F), ("train_time_s", _F),
        ("step_time_ms_p50", _F), ("step_time_ms_p90", _F), ("time_to_target_s", _F),
        ("steps_to_target", _I), ("energy_j", _F), ("energy_to_target_j", _F),
        ("energy_method", _S), ("emissions_kg", _F), ("peak_mem_bytes", _I),
        ("optimizer_state_bytes", _I), ("mfu", _F),
        # how cost was measured (harness/measure.py)
        ("cpu_energy_j", _F), ("ram_energy_j", _F), ("cpu_power_source", _S), ("energy_windows", _I),
        ("energy_window_reliable", _B), ("power_limit_w", _F), ("temp_start_c", _F), ("temp_end_c", _F),
        ("throttle_reasons", _S), ("peak_mem_method", _S), ("measure_warnings", _S),
        # what a training method reports about itself
        ("bytes_communicated", _I), ("communication_rounds", _I), ("simulated", _S),
        # curve
        ("curve_step", pa.list_(pa.int64())), ("curve_tokens", pa.list_(pa.int64())),
        ("curve_time_s", _LF), ("curve_energy_j", _LF), ("curve_val_loss", _LF),
        ("curve_train_loss", _LF),
        # provenance
        ("device", _S), ("device_name", _S), ("gpu_count", _I), ("driver", _S), ("cuda_version", _S),
        ("cpu_model", _S), ("cpu_count", _I), ("os", _S),
        ("torch_version", _S), ("python_version", _S), ("harness_version", _S), ("git_sha", _S),
        ("git_dirty", _B), ("impl_hash", _S), ("data_fingerprint", _S), ("started_at", _S),
    ]
)


def trial_path(results: Path, suite: str, trial_id: str) -> Path:
    return Path(results) / f"suite={suite}" / f"{trial_id}.parquet"


def write_row(results: Path, row: dict) -> Path:
    """Write one trial row atomically; unknown keys are an error, missing ones are null."""
    unknown = set(row) - set(SCHEMA.names)
    if unknown:
        raise ValueError(f"row has columns outside the schema: {sorted(unknown)}")
    table = pa.Table.from_pylist([{k: row.get(k) for k in SCHEMA.names}], schema=SCHEMA)
    final = trial_path(results, row["suite"], row["trial_id"])
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pq.write_table(table, f)
        f.flush()
        os.fsync(f.fileno())  # the bytes are on disk before the name is: a crash never leaves an empty file
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stored_ids(results: Path, suite: str) -> set[str]:
    """Trial ids already in the store for ``suite`` (resume skips them)."""
    folder = Path(results) / f"suite={suite}"
    return {p.stem for p in folder.glob("*.parquet")} if folder.is_dir() else set()


def _conform(table: pa.Table) -> pa.Table:
    """Cast a file's table to ``SCHEMA``: missing columns become nulls, extra ones are dropped."""
    if table.schema.equals(SCHEMA):
        return table
    cols = []
    for f in SCHEMA:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=SCHEMA)


def read_results(results: Path, suite: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """All rows (optionally of one suite) and a list of ``"path: problem"`` for skipped files."""
    root = Path(results)
    pattern = f"suite={suite}/*.parquet" if suite else "suite=*/*.parquet"
    tables, problems = [], []
    for path in sorted(root.glob(pattern)) if root.is_dir() else []:
        try:
            table = pq.read_table(path, partitioning=None)
            if "trial_id" not in table.column_names:
                raise ValueError("not a speedproof results file (no trial_id column)")
            tables.append(_conform(table))
        except Exception as exc:  # a corrupt or foreign file is reported, never fatal
            problems.append(f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    frame = table.to_pandas()
    twice = frame["trial_id"].duplicated()
    for trial_id in frame.loc[twice, "trial_id"].unique():  # e.g. a file copied under another name
        problems.append(f"trial {trial_id}: stored in more than one file; counted once")
    return frame[~twice].reset_index(drop=True), problems


OUTCOME = ("trial_id", "study_id", "phase", "status", "final_val_loss")


def outcomes(results: Path, suite: str, cache: dict[str, dict] | None = None) -> pd.DataFrame:
    """The ``OUTCOME`` columns of every stored trial of ``suite`` (what tuning protocols decide on).

    ``cache`` (trial id -> row) keeps what earlier calls read, so a loop that asks after every round
    reads each file once. An unreadable file counts as a trial with ``status="error"``.
    """
    cache = {} if cache is None else cache
    folder = Path(results) / f"suite={suite}"
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        if path.stem not in cache:
            try:
                cache[path.stem] = pq.read_table(path, columns=list(OUTCOME), partitioning=None).to_pylist()[0]
            except Exception:  # corrupt or foreign: read_results reports it; here it is a failed trial
                cache[path.stem] = {"trial_id": path.stem, "status": "error"}
    return pd.DataFrame(list(cache.values()), columns=list(OUTCOME))
