"""The results store: one Parquet file per trial, one canonical schema, atomic writes.

Layout: ``<results>/suite=<suite>/<trial_id>.parquet`` (hive-partitioned by suite). A file is
written as ``.<trial_id>.parquet.<pid>.tmp`` then renamed, so readers (pyarrow and DuckDB ignore names
that start with ``.``) never see half a file. Reads always cast to ``SCHEMA``: pyarrow would
otherwise take the first file's schema and silently drop newer columns. Corrupt or foreign files, and files
that are not whole trials (``harness.store.index``), are reported with their path and skipped; a trial id
found in two files is counted once. The temporary file is fsynced before the rename, so even a power cut never
publishes an empty or partial file. A file that fails to write (full disk, read-only folder) leaves no
temporary file and raises ``StoreError`` naming the path. Files are written only inside the results folder:
a ``suite=<name>`` folder that a symbolic link takes elsewhere is refused. Before a run, ``set_aside`` renames
files that are not trials (``<name>.unreadable``) and infrastructure failures stored by older versions
(``<name>.infra``): their trials count as not stored and run again; a file of a newer format stops the run.
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
from harness.store import index, scan
from harness.store.index import check_trial, check_types, files, is_compacted, metadata, newer, reason, suite_folder
from harness.store.schema import SCHEMA, STATUSES, _conform, _fsync_dir  # noqa: F401


def trial_path(results: Path, suite: str, trial_id: str) -> Path:
    return Path(results) / f"suite={suite}" / f"{trial_id}.parquet"


def write_row(results: Path, row: dict) -> Path:
    """Write one trial row atomically; unknown keys are an error, missing ones are null."""
    unknown = set(row) - set(SCHEMA.names)
    if unknown:
        raise ValueError(f"row has columns outside the schema: {sorted(unknown)}")
    table = pa.Table.from_pylist([{k: row.get(k) for k in SCHEMA.names}], schema=SCHEMA.with_metadata(metadata()))
    final = suite_folder(results, row["suite"]) / f"{row['trial_id']}.parquet"
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)  # a killed writer's, or a link: "xb" never writes through one
        with open(tmp, "xb") as f:
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


PROBE_BYTES = 65_536  # written and fsynced by ``check_writable``: a full disk fails here, not in a lease


def check_writable(results: Path, suite: str) -> None:
    """Raise ``StoreError`` now, before any trial, if the suite's results folder cannot take files (read-only,
    full, a link outside ``results``); a folder made for the probe is removed again."""
    folder = suite_folder(results, suite)
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".probe.") as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        for path in made:
            with contextlib.suppress(OSError):
                path.rmdir()
        raise StoreError(f"cannot write results to {folder}: {exc.strerror or exc}") from None


def stored_ids(results: Path, suite: str) -> set[str]:
    """Trial ids already in the store for ``suite`` (resume skips them)."""
    folder = Path(results) / f"suite={suite}"
    return {p.stem for p in files(folder)[1]} | index.compacted_ids(folder)


INFRA = ("worker died ", "killed by the executor")  # how older versions stored infrastructure failures
STALE_TMP_S = 300.0  # a temporary file this old belongs to a killed writer (of this host or another)


def set_aside(results: Path, suite: str) -> list[str]:
    """Rename every small file of ``suite`` that is not a trial (unreadable, mistyped, not whole, another trial's)
    to ``<name>.unreadable``, and every infrastructure failure an older version stored to ``<name>.infra`` (kept,
    never read again), so that their trials run again; remove temporary files (of trials and of compactions) older
    than ``STALE_TMP_S``. Returns one line for each. ``StoreError`` for a file of a newer format."""
    folder = suite_folder(results, suite)
    if not folder.is_dir():
        return []
    moved = []
    for tmp in [*folder.glob(".*.parquet.*.tmp"), *folder.glob(f".{index.PREFIX}*.parquet.tmp")]:
        with contextlib.suppress(FileNotFoundError):  # a write takes milliseconds, a compaction seconds
            if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
                moved.append(f"{tmp} -> removed: the partial write of a killed run")
    for path in sorted(folder.glob("*.parquet")):
        suffix, problem = _trouble(path)
        if suffix:
            aside = path.with_name(f"{path.name}.{suffix}")
            for n in range(1, 1000):
                if not aside.exists():
                    break
                aside = path.with_name(f"{path.name}.{suffix}.{n}")
            os.replace(path, aside)
            moved.append(f"{path} -> {aside}: {problem}")
    return moved


def _trouble(path: Path) -> tuple[str | None, str]:
    """``(suffix, why)`` for a file to set aside, ``(None, "")`` for a trial or a compacted file (many trials:
    never set aside whole, compaction checks every row). ``StoreError`` for a file of a newer format."""
    try:
        with pq.ParquetFile(path) as file:  # one open: 3x faster than read_schema + read_table
            problem, names = newer(file.schema_arrow, path), file.schema_arrow.names
            if problem:
                raise StoreError(f"{problem}: run that version, or move the file out of the folder")
            if is_compacted(path):
                return None, ""
            table = file.read(columns=[c for c in (*index.WHOLE, "error") if c in names])
        check_types(table)
        check_trial(table, path)
    except StoreError:
        raise
    except Exception as exc:  # whatever is wrong with the file, its trial is not stored
        return ("unreadable", reason(exc)) if not is_compacted(path) else (None, "")
    errors = table.column("error").to_pylist() if "error" in table.column_names else []
    if any(str(e).startswith(INFRA) for e in errors if e):
        return "infra", "an infrastructure failure, not a result"
    return None, ""


def read_results(results: Path, suite: str | None = None,
                 columns: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """All rows (optionally of one suite; only ``columns`` and ``trial_id``, when given) and a list of
    ``"path: problem"`` for skipped files."""
    root = Path(results)
    pattern = f"suite={suite}/*.parquet" if suite else "suite=*/*.parquet"
    schema = SCHEMA if columns is None else pa.schema([SCHEMA.field(c) for c in dict.fromkeys(["trial_id", *columns])])
    every = sorted(root.glob(pattern)) if root.is_dir() else []
    table, _, bad = scan.read_small([p for p in every if not is_compacted(p)], schema)
    problems = [f"{path}: {why}" for path, why in bad]  # a corrupt or foreign file, or not a trial: never fatal
    ids = table.column("trial_id").to_pandas()
    twice = ids.duplicated().to_numpy()
    for trial_id in ids[twice].unique():  # e.g. a suite folder copied under another name
        problems.append(f"trial {trial_id}: stored in more than one file; counted once")
    table = table.filter(pa.array(~twice))
    packed = index.read_compacted([p for p in every if is_compacted(p)], schema, table.column("trial_id"),
                                  problems)
    return pa.concat_tables([table, packed]).to_pandas(), problems


OUTCOME = index.OUTCOME
outcomes = index.outcomes
