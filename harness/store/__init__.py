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
``harness compact`` merges a suite's files into one (``harness.store.compact``); readers use it together with
the small files written since (``harness.store.index``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.errors import StoreError
from harness.store import compact, index
from harness.store.schema import SCHEMA, STATUSES, _conform, _fsync_dir, check_schema, check_values  # noqa: F401


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


def stored_ids(results: Path, suite: str) -> set[str]:
    """Trial ids already in the store for ``suite`` (resume skips them)."""
    folder = Path(results) / f"suite={suite}"
    return {p.stem for p in compact.files(folder)[1]} | index.compacted_ids(folder)


INFRA = ("worker died ", "killed by the executor")  # how older versions stored infrastructure failures
STALE_TMP_S = 300.0  # a temporary file this old belongs to a killed writer (of this host or another)


def set_aside(results: Path, suite: str) -> list[str]:
    """Rename every unreadable or invalid trial file of ``suite`` to ``<name>.unreadable``, and every
    infrastructure failure an older version stored to ``<name>.infra`` (kept, never read again), so that
    their trials run again; remove temporary files older than ``STALE_TMP_S``. Returns one line for each."""
    folder = Path(results) / f"suite={suite}"
    moved = []
    for tmp in folder.glob(".*.parquet.*.tmp") if folder.is_dir() else []:  # a write takes milliseconds
        with contextlib.suppress(FileNotFoundError):
            if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
                moved.append(f"{tmp} -> removed: the partial write of a killed run")
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        if compact.is_compacted(path):  # many trials: never set aside whole (compaction checked every row)
            continue
        try:
            with pq.ParquetFile(path) as file:  # one open: 3x faster than read_schema + read_table
                check_schema(file.schema_arrow)
                wanted = [c for c in ("trial_id", "status", "error") if c in file.schema_arrow.names]
                table = file.read(columns=wanted)
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
            tables.append(_conform(pq.read_table(path, partitioning=None), schema))
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
