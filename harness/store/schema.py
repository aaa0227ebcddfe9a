"""The canonical row schema of the store (one pyarrow schema: add columns here) and the helpers every store
module shares: checking a file's types and values, casting its table to the schema, and fsyncing a folder."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

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
        # repeated tuning studies (tuning.repeats): this row's study repeat; the seeds and repeats the suite planned
        # per study before verify added any (its first look)
        ("repeat", _I), ("tuning_seeds", _I), ("tuning_repeats", _I),
        # a cooldown branch of a warmup-stable-decay trunk (train.branches): the trunk's trial id
        ("parent_trial", _S),
        # hyperparameters
        ("hparams_json", _S), ("search_space_json", _S), ("hp_lr", _F), ("hp_weight_decay", _F), ("hp_momentum", _F),
        ("hp_warmup", _F),
        # outcome
        ("status", _S), ("error", _S),
        # quality
        ("final_val_loss", _F), ("final_val_metric", _F), ("val_metric_name", _S),
        ("target_value", _F), ("chance_loss", _F), ("reached_target", _B),
        # the final evaluation's correctness per example of a fixed test set (classification), bit-packed
        # (numpy.packbits, big-endian bit order), and how many examples: the paired test-set sampling variance
        # of an accuracy difference
        ("eval_correct", pa.binary()), ("eval_examples", _I),
        # continual workloads: average forgetting (Chaudhry et al. 2018) and per-task numbers
        ("forgetting", _F), ("task_metrics_json", _S),
        # cost
        ("steps", _I), ("tokens", _I), ("flops", _F), ("train_time_s", _F),
        ("step_time_ms_p50", _F), ("step_time_ms_p90", _F), ("time_to_target_s", _F),
        ("steps_to_target", _I), ("energy_j", _F), ("energy_to_target_j", _F),
        # the crossing of the target bracketed between two evaluations: the last one above it (0: the first
        # evaluation was already at or below it) and, in ``*_to_target``, the first at or below it; the fraction
        # of the way between them where the validation loss, interpolated linearly, reaches the target
        ("steps_to_target_lo", _I), ("time_to_target_lo_s", _F), ("energy_to_target_lo_j", _F),
        ("target_crossing", _F),
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
        # contention (harness.train.hardware.contention): torch threads, highest 1-min load, load > cores
        ("threads", _I), ("load_avg", _F), ("contended", _B),
        # where a row comes from: null = measured here; "published" = transcribed (harness.store.published)
        ("source", _S), ("citation", _S),
    ]
)


STATUSES = ("ok", "diverged", "oom", "timeout", "error", "skipped")


def _fits(have: pa.DataType, want: pa.DataType) -> bool:
    """Whether a file's column type is ``want`` or one that holds the same kind of value."""
    if pa.types.is_null(have) or have == want:
        return True
    if pa.types.is_list(want):
        return (pa.types.is_list(have) or pa.types.is_large_list(have)) and _fits(have.value_type, want.value_type)
    for kind in (pa.types.is_string, pa.types.is_integer, pa.types.is_boolean, pa.types.is_binary):
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


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _conform(table: pa.Table, schema: pa.Schema = SCHEMA) -> pa.Table:
    """Check a file's table (``check_schema``, ``check_values``), then cast it to ``schema``: missing columns
    become nulls, extra ones are dropped."""
    check_schema(table.schema)
    check_values(table)
    if table.schema.equals(schema):
        return table
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)
