"""What is stored: a suite's files, what makes a file a trial, reading compacted files, and the outcomes index that
resume and tuning protocols use.

A file is a trial when it is *whole*: every identity column (``IDENTITY``) set, a finite ``final_val_loss`` where
its status is ``ok``, its trial id the one its name says, and its format (``FORMAT``, in the Parquet file's
key-value metadata) one this version reads. Anything else is not a trial, whatever its name: it is set aside
before a run, reported by readers, skipped by compaction, and its trial runs again.

A compacted file is never rewritten (a new compaction writes a new name), so what was read from it by name stays
true: the outcomes index caches each file's ``OUTCOME`` columns under its name, and a loop that asks after every
round reads only the files that appeared since. Parquet is columnar: reading a few columns of a compacted file
does not touch its curves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.errors import StoreError, counted
from harness.store.schema import SCHEMA, _conform, check_schema, check_values

PREFIX = "compacted-"
NAME = re.compile(r"[\w-][\w.-]*")  # a suite's name: its folder is suite=<name>
FORMAT = 1  # this version's file format, written into every file; files without one are format 1
FORMAT_KEY = b"speedproof.format"
IDENTITY = ("trial_id", "suite", "study_id", "phase", "method", "seed", "status")  # every trial row has them
WHOLE = (*IDENTITY, "final_val_loss")  # the columns ``whole`` reads
OUTCOME = ("trial_id", "study_id", "phase", "status", "final_val_loss", "seed")


def suite_folder(results: Path, suite: str) -> Path:
    """``<results>/suite=<suite>``; ``StoreError`` for a name that is not a suite's (``a/../../x``) or a folder that
    a symbolic link takes outside ``results`` (files are written, merged and removed only inside it)."""
    if not NAME.fullmatch(suite):
        raise StoreError(f"suite={suite}: a suite's name holds letters, digits, '_', '.' and '-' only")
    folder = Path(results) / f"suite={suite}"
    real = os.path.realpath(folder)
    if not Path(real).is_relative_to(os.path.realpath(results)):
        raise StoreError(f"{folder} is a symbolic link to {real}, outside {results}: nothing is written through it "
                         f"(remove the link, or give results=PATH of the folder you mean)")
    return folder


def is_compacted(path: Path) -> bool:
    return path.name.startswith(PREFIX)


def files(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(compacted files oldest first, small per-trial files)`` of one suite folder."""
    every = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return [p for p in every if is_compacted(p)], [p for p in every if not is_compacted(p)]


def metadata() -> dict[bytes, bytes]:
    """The key-value metadata every file of this version carries."""
    return {FORMAT_KEY: str(FORMAT).encode()}


def newer(schema: pa.Schema, path: Path) -> str:
    """Why this version must not read or rewrite a file (written by a newer version), or ``""``."""
    raw = (schema.metadata or {}).get(FORMAT_KEY, b"1")
    try:
        version = int(raw)
    except ValueError:
        return f"{path}: unknown store format {raw[:20]!r}"
    return f"{path}: written by a newer speedproof (store format {version}; this one reads {FORMAT})" \
        if version > FORMAT else ""


def whole(table: pa.Table) -> tuple[np.ndarray, str]:
    """Which rows are whole trials, and what the others lack (``""`` when every row is whole)."""
    keep, why, n = np.ones(table.num_rows, dtype=bool), "", table.num_rows
    for name in IDENTITY:
        column = table.column(name) if name in table.column_names else pa.nulls(n)
        if column.null_count:  # most files have none: no mask to compute
            keep &= pc.is_valid(column).to_numpy(zero_copy_only=False)
            why = why or f"no {name}"
    if "status" in table.column_names and n:
        ok = pc.fill_null(pc.equal(table.column("status"), "ok"), False)
        loss = table.column("final_val_loss") if "final_val_loss" in table.column_names else pa.nulls(n, pa.float64())
        bad = pc.and_(ok, pc.invert(pc.fill_null(pc.is_finite(loss.cast(pa.float64())), False)))
        if pc.any(bad).as_py():
            keep &= ~bad.to_numpy(zero_copy_only=False)
            why = why or "status ok without a finite final_val_loss"
    return keep, why


def check_types(table: pa.Table) -> None:
    """``ValueError`` unless a file's columns hold the types and values ``SCHEMA`` allows (``_conform`` checks the
    same before it casts)."""
    check_schema(table.schema)
    check_values(table)


def check_trial(table: pa.Table, path: Path) -> None:
    """``ValueError`` unless ``table``, the rows of the small file ``path`` (types checked: ``check_types`` or
    ``_conform``), is one whole trial, the one its name says, of a format this version reads."""
    problem = newer(table.schema, path)
    if problem:
        raise ValueError(problem.removeprefix(f"{path}: "))
    _, why = whole(table)
    if why:
        raise ValueError(f"not a whole trial: {why}")
    if table.num_rows != 1 or table.column("trial_id")[0].as_py() != path.stem:
        ids = table.column("trial_id").to_pylist()[:2]
        raise ValueError(f"holds trial {', '.join(ids)}, not the {path.stem} its name says")


def reason(exc: Exception) -> str:
    """An exception as one line: its type and the first line of its message."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def read_compacted(paths: list[Path], schema: pa.Schema, exclude: pa.ChunkedArray | None,
                   problems: list[str]) -> pa.Table:
    """Rows of compacted files (``schema``'s columns), newest file first, without the ids in ``exclude`` (newer
    small files) and without ids a newer compacted file already gave (a compaction killed before its clean-up);
    rows that are not whole trials are left out and reported."""
    tables = []
    for path in reversed(paths):
        try:
            table = _read_part(path, schema.names, problems)
        except Exception as exc:  # a compacted file is never half-written; an unreadable one is still reported
            problems.append(f"{path}: {reason(exc)}")
            continue
        table = _conform(table, schema)
        if exclude is not None and len(exclude):
            table = table.filter(pc.invert(pc.is_in(table.column("trial_id"), value_set=exclude.combine_chunks())))
        tables.append(table)
        ids = table.column("trial_id")
        exclude = ids if exclude is None else pa.chunked_array([*exclude.chunks, *ids.chunks], pa.string())
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _read_part(path: Path, columns, problems: list[str]) -> pa.Table:
    """The whole trials of one compacted file (``columns``, and those ``whole`` reads); the rest reported."""
    with pq.ParquetFile(path) as file:
        problem = newer(file.schema_arrow, path)
        if problem:
            raise ValueError(problem.removeprefix(f"{path}: "))
        names = file.schema_arrow.names
        table = file.read(columns=[c for c in dict.fromkeys([*columns, *WHOLE]) if c in names])
    check_types(table)
    keep, why = whole(table)
    if why:
        problems.append(f"{path}: not whole trials ({why}): {counted(int((~keep).sum()), 'row')} left out")
        table = table.filter(pa.array(keep))
    return table


def compacted_ids(folder: Path) -> set[str]:
    """Trial ids held by the compacted files of one suite folder (whole trials only)."""
    ids: set[str] = set()
    for path in files(folder)[0]:
        try:
            ids.update(_read_part(path, ["trial_id"], []).column("trial_id").to_pylist())
        except Exception:  # reported by read_results
            continue
    return ids


def outcomes(results: Path, suite: str, cache: dict | None = None) -> pd.DataFrame:
    """The ``OUTCOME`` columns of every stored trial of ``suite`` (what tuning protocols decide on).

    ``cache`` (file key -> rows) keeps what earlier calls read: a small file by its trial id, a compacted one by
    its name. A small file's row wins over a compacted one. A small file that is not a trial (unreadable,
    not whole, another trial's) is a trial with ``status="error"`` (a run sets such files aside first).
    """
    cache = {} if cache is None else cache
    packed, small = files(Path(results) / f"suite={suite}")
    for path in small:
        if path.stem not in cache:
            try:
                with pq.ParquetFile(path) as file:
                    table = file.read(columns=[c for c in WHOLE if c in file.schema_arrow.names])
                check_types(table)
                check_trial(table, path)
                cache[path.stem] = {c: v for c, v in table.to_pylist()[0].items() if c in OUTCOME}
            except Exception:  # corrupt or foreign: read_results reports it; here it is a failed trial
                cache[path.stem] = {"trial_id": path.stem, "status": "error"}
    for path in packed:
        if path.name not in cache:
            cache[path.name] = read_compacted([path], _schema(OUTCOME), None, []).to_pandas()
    rows = pd.DataFrame([v for v in cache.values() if isinstance(v, dict)], columns=list(OUTCOME))
    frames = [rows, *(v for v in cache.values() if isinstance(v, pd.DataFrame))]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else rows
    return frame[~frame["trial_id"].duplicated()].reset_index(drop=True)


def _schema(columns) -> pa.Schema:
    return pa.schema([SCHEMA.field(c) for c in columns])
