"""The results store: one Parquet file per trial, one canonical schema, atomic writes.

Layout: ``<results>/suite=<suite>/<trial_id>.parquet`` (hive-partitioned by suite). A file is
written as ``.<trial_id>.parquet.tmp`` then renamed, so readers (pyarrow and DuckDB ignore names
that start with ``.``) never see half a file. Reads always cast to ``SCHEMA``: pyarrow would
otherwise take the first file's schema and silently drop newer columns. Corrupt or foreign files
are reported with their path and skipped; a trial id found in two files is counted once. The temporary
file is fsynced before the rename, so even a power cut never publishes an empty or partial file.
``harness compact`` merges a suite's files into one (``harness.store.compact``); readers use it together with
the small files written since (``harness.store.index``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.store import compact, index
from harness.store.schema import SCHEMA, _conform, _fsync_dir  # noqa: F401  (the canonical schema lives there)


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


def stored_ids(results: Path, suite: str) -> set[str]:
    """Trial ids already in the store for ``suite`` (resume skips them)."""
    folder = Path(results) / f"suite={suite}"
    return {p.stem for p in compact.files(folder)[1]} | index.compacted_ids(folder)


def read_results(results: Path, suite: str | None = None,
                 columns: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """All rows (optionally of one suite; only ``columns`` and ``trial_id``, when given) and a list of
    ``"path: problem"`` for skipped files."""
    root = Path(results)
    pattern = f"suite={suite}/*.parquet" if suite else "suite=*/*.parquet"
    schema = SCHEMA if columns is None else pa.schema([SCHEMA.field(c) for c in dict.fromkeys(["trial_id", *columns])])
    every = sorted(root.glob(pattern)) if root.is_dir() else []
    tables, problems = [], []
    for path in [p for p in every if not compact.is_compacted(p)]:
        try:
            table = pq.read_table(path, partitioning=None)
            if "trial_id" not in table.column_names:
                raise ValueError("not a speedproof results file (no trial_id column)")
            tables.append(_conform(table, schema))
        except Exception as exc:  # a corrupt or foreign file is reported, never fatal
            problems.append(f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    ids = table.column("trial_id").to_pandas()
    twice = ids.duplicated().to_numpy()
    for trial_id in ids[twice].unique():  # e.g. a file copied under another name
        problems.append(f"trial {trial_id}: stored in more than one file; counted once")
    table = table.filter(pa.array(~twice))
    packed = index.read_compacted([p for p in every if compact.is_compacted(p)], schema, table.column("trial_id"),
                                  problems)
    return pa.concat_tables([table, packed]).to_pandas(), problems


OUTCOME = index.OUTCOME
outcomes = index.outcomes
