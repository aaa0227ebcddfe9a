"""The results store: one Parquet file per trial, one canonical schema, atomic writes.

Layout: ``<results>/suite=<suite>/<trial_id>.parquet`` (hive-partitioned by suite). A file is
written as ``.<trial_id>.parquet.tmp`` then renamed, so readers (pyarrow and DuckDB ignore names
that start with ``.``) never see half a file. Reads always cast to ``SCHEMA``: pyarrow would
otherwise take the first file's schema and silently drop newer columns. Corrupt or foreign files
are reported with their path and skipped; a trial id found in two files is counted once. The temporary
file is fsynced before the rename, so even a power cut never publishes an empty or partial file. A file
that fails to write (full disk, read-only folder) leaves no temporary file and raises ``StoreError``
naming the path. Before a run, ``set_aside`` renames unreadable files (``<name>.unreadable``) and
infrastructure failures stored by older versions (``<name>.infra``): their trials count as not stored and
run again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.errors import StoreError

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
        ("threads", _I),
    ]
)
STATUSES = ("ok", "diverged", "oom", "timeout", "error", "skipped")


def trial_path(results: Path, suite: str, trial_id: str) -> Path:
    return Path(results) / f"suite={suite}" / f"{trial_id}.parquet"


def write_row(results: Path, row: dict) -> Path:
    """Write one trial row atomically; unknown keys are an error, missing ones are null."""
    unknown = set(row) - set(SCHEMA.names)
    if unknown:
        raise ValueError(f"row has columns outside the schema: {sorted(unknown)}")
    table = pa.Table.from_pylist([{k: row.get(k) for k in SCHEMA.names}], schema=SCHEMA)
    final = trial_path(results, row["suite"], row["trial_id"])
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name is: a crash never leaves an empty file
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {final}: {exc.strerror or exc}; its trial runs again on the next run") from None
    return final


def check_writable(results: Path, suite: str) -> None:
    """Raise ``StoreError`` now, before any trial, if the suite's results folder cannot take files."""
    folder = Path(results) / f"suite={suite}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".probe."):
            pass
    except OSError as exc:
        raise StoreError(f"cannot write results to {folder}: {exc.strerror or exc}") from None


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


def _fits(have: pa.DataType, want: pa.DataType) -> bool:
    """Whether a file's column type is ``want`` or one that holds the same kind of value."""
    if pa.types.is_null(have) or have == want:
        return True
    if pa.types.is_list(want):
        return (pa.types.is_list(have) or pa.types.is_large_list(have)) and _fits(have.value_type, want.value_type)
    for kind in (pa.types.is_string, pa.types.is_integer, pa.types.is_boolean):
        if kind(want):
            return kind(have) or (kind is pa.types.is_string and pa.types.is_large_string(have))
    return pa.types.is_floating(have) or pa.types.is_integer(have)


def check_schema(schema: pa.Schema) -> None:
    """``ValueError`` unless the columns a file has are of the types ``SCHEMA`` says (values, not only names)."""
    if "trial_id" not in schema.names:
        raise ValueError("not a speedproof results file (no trial_id column)")
    for f in SCHEMA:
        if f.name in schema.names and not _fits(schema.field(f.name).type, f.type):
            raise ValueError(f"column {f.name} holds {schema.field(f.name).type}, not {f.type}")


def check_values(table: pa.Table) -> None:
    """``ValueError`` for a row without a trial id or with a status outside ``STATUSES``."""
    ids = table.column("trial_id")
    if ids.null_count or not all(ids.to_pylist()):
        raise ValueError("a row has no trial_id")
    statuses = table.column("status").to_pylist() if "status" in table.column_names else []
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise ValueError(f"status {bad[0]!r} is none of {', '.join(STATUSES)}")


def _conform(table: pa.Table) -> pa.Table:
    """Check a file's table, then cast it to ``SCHEMA``: missing columns become nulls, extra ones are dropped."""
    check_schema(table.schema)
    check_values(table)
    if table.schema.equals(SCHEMA):
        return table
    cols = []
    for f in SCHEMA:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=SCHEMA)


INFRA = ("worker died ", "killed by the executor")  # how older versions stored infrastructure failures


def set_aside(results: Path, suite: str) -> list[str]:
    """Rename every unreadable or invalid trial file of ``suite`` to ``<name>.unreadable``, and every
    infrastructure failure an older version stored to ``<name>.infra`` (kept, never read again), so that
    their trials run again; returns ``"path -> new path: problem"`` for each."""
    folder = Path(results) / f"suite={suite}"
    moved = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        try:
            schema = pq.read_schema(path)
            check_schema(schema)
            wanted = [c for c in ("trial_id", "status", "error") if c in schema.names]
            table = pq.read_table(path, columns=wanted, partitioning=None)
            check_values(table)
            errors = table.column("error").to_pylist() if "error" in wanted else []
            suffix, problem = ("infra", "an infrastructure failure, not a result") if any(
                str(e).startswith(INFRA) for e in errors if e) else (None, "")
        except Exception as exc:  # whatever is wrong with the file, its trial is not stored
            suffix, problem = "unreadable", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if suffix:
            aside = path.with_name(f"{path.name}.{suffix}")
            for n in range(1, 1000):
                if not aside.exists():
                    break
                aside = path.with_name(f"{path.name}.{suffix}.{n}")
            os.replace(path, aside)
            moved.append(f"{path} -> {aside}: {problem}")
    return moved


def read_results(results: Path, suite: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """All rows (optionally of one suite) and a list of ``"path: problem"`` for skipped files."""
    root = Path(results)
    pattern = f"suite={suite}/*.parquet" if suite else "suite=*/*.parquet"
    tables, problems = [], []
    for path in sorted(root.glob(pattern)) if root.is_dir() else []:
        try:
            tables.append(_conform(pq.read_table(path, partitioning=None)))
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
