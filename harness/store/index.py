"""Reading compacted files, and the outcomes index that resume and tuning protocols use.

A compacted file is never rewritten (a new compaction writes a new name), so what was read from it by name stays
true: the outcomes index caches each file's ``OUTCOME`` columns under its name, and a loop that asks after every
round reads only the files that appeared since. Parquet is columnar: reading five columns of a compacted file
does not touch its curves.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.store.compact import files
from harness.store.schema import SCHEMA, _conform

OUTCOME = ("trial_id", "study_id", "phase", "status", "final_val_loss", "seed")


def read_compacted(paths: list[Path], schema: pa.Schema, exclude: pa.ChunkedArray | None,
                   problems: list[str]) -> pa.Table:
    """Rows of compacted files (``schema``'s columns), newest file first, without the ids in ``exclude`` (newer
    small files) and without ids a newer compacted file already gave (a compaction killed before its clean-up)."""
    tables = []
    for path in reversed(paths):
        try:
            names = pq.read_schema(path).names
            table = _conform(pq.read_table(path, columns=[c for c in schema.names if c in names],
                                           partitioning=None), schema)
        except Exception as exc:  # a compacted file is never half-written; an unreadable one is still reported
            problems.append(f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        if exclude is not None and len(exclude):
            table = table.filter(pc.invert(pc.is_in(table.column("trial_id"), value_set=exclude.combine_chunks())))
        tables.append(table)
        ids = table.column("trial_id")
        exclude = ids if exclude is None else pa.chunked_array([*exclude.chunks, *ids.chunks], pa.string())
    return pa.concat_tables(tables) if tables else schema.empty_table()


def compacted_ids(folder: Path) -> set[str]:
    """Trial ids held by the compacted files of one suite folder."""
    ids: set[str] = set()
    for path in files(folder)[0]:
        try:
            ids.update(pq.read_table(path, columns=["trial_id"], partitioning=None).column("trial_id").to_pylist())
        except Exception:  # reported by read_results
            continue
    return ids


def outcomes(results: Path, suite: str, cache: dict | None = None) -> pd.DataFrame:
    """The ``OUTCOME`` columns of every stored trial of ``suite`` (what tuning protocols decide on).

    ``cache`` (file key -> rows) keeps what earlier calls read: a small file by its trial id, a compacted one by
    its name. A small file's row wins over a compacted one. An unreadable small file is a trial with
    ``status="error"``.
    """
    cache = {} if cache is None else cache
    packed, small = files(Path(results) / f"suite={suite}")
    for path in small:
        if path.stem not in cache:
            try:
                cache[path.stem] = pq.read_table(path, columns=list(OUTCOME), partitioning=None).to_pylist()[0]
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
