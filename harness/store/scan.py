"""Reading the one-file-per-trial files of a run together (``read_small``, one DuckDB query) instead of one pyarrow
call per file: a report before compaction.

Every guarantee of ``harness.store.index`` holds: a file or row is taken only where the per-file reader would take
it, and every file or row left out is reported with the same words. Files are read together only when their stored
Arrow schema holds this store's own types (what ``write_row`` writes, of this version or an older one) and their
format is one this version reads; every check of ``check_trial`` then runs column-wise on the rows, and a file that
fails any of them, or that DuckDB cannot read, is read again alone, by the per-file reader, which says why.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.store.index import FORMAT, FORMAT_KEY, IDENTITY, WHOLE, check_trial, reason
from harness.store.schema import SCHEMA, STATUSES, _conform

TOGETHER = 32  # fewer small files than this are read one by one (starting DuckDB costs more)


def read_small(paths: list[Path], schema: pa.Schema) -> tuple[pa.Table, list[Path], list[tuple[Path, str]]]:
    """The rows of the small files ``paths`` that are trials (``schema``'s columns, in the order of ``paths``),
    the files they came from, and ``(path, why)`` for each file that is not a trial."""
    got: dict[int, pa.Table] = {}
    together = _read_together(paths, schema) if len(paths) >= TOGETHER else None
    if together is not None:
        table, taken = together
        got[-1] = table
    else:
        taken = np.zeros(len(paths), bool)
    bad = []
    for i in np.flatnonzero(~taken):
        try:
            table = pq.read_table(paths[i], partitioning=None)
            conformed = _conform(table, schema)  # types and values checked
            check_trial(table, paths[i])
            got[i] = conformed.append_column("_i", pa.array([i], pa.int64()))
        except Exception as exc:  # a corrupt or foreign file, or one that is not a trial, is reported, never fatal
            bad.append((paths[i], reason(exc)))
    tables = list(got.values())
    table = pa.concat_tables(tables).sort_by("_i") if tables else schema.empty_table().append_column(
        "_i", pa.array([], pa.int64()))
    kept = [paths[i] for i in table.column("_i").to_pylist()]
    return table.drop_columns("_i"), kept, bad


def _read_together(paths: list[Path], schema: pa.Schema) -> tuple[pa.Table, np.ndarray] | None:
    """The rows of the files DuckDB reads together and that pass every check (with their index ``_i`` in
    ``paths``), and which files those are; None without DuckDB."""
    try:
        import duckdb
    except ImportError:
        return None
    con = duckdb.connect(config={"threads": 1})  # small files: threads add memory, not speed
    names = [str(p) for p in paths]
    kv, _ = _query(con, names, "SELECT file_name, key, value FROM parquet_kv_metadata($files)")
    groups: dict[frozenset, list[str]] = {}  # one query per column set: union_by_name over 10k files took 2.6 GB
    for name, columns in zip(names, _plain_files(kv, names), strict=True):
        if columns is not None and "trial_id" in columns:
            groups.setdefault(columns, []).append(name)
    parts = []
    for columns, files in groups.items():
        select = ", ".join(f'"{c}"' for c in sorted(columns & {*schema.names, *WHOLE}))
        part, _ = _query(con, files, f"SELECT filename, {select} FROM read_parquet($files, filename=true, "
                                     "hive_partitioning=false)")
        if part is not None:
            parts.append(part)
    if not parts:
        return pa.table({}), np.zeros(len(paths), bool)
    rows = pa.concat_tables(parts, promote_options="default")
    index = {n: i for i, n in enumerate(names)}
    at = np.array([index[n] for n in rows.column("filename").to_pylist()], np.int64)
    good = _trials(rows, at, [p.stem for p in paths])
    taken = np.bincount(at[good], minlength=len(paths)) == 1
    taken &= np.bincount(at, minlength=len(paths)) == 1  # one row, and that row a whole trial
    keep = taken[at]
    rows = rows.filter(pa.array(keep))
    table = pa.table({f.name: (rows.column(f.name).cast(f.type) if f.name in rows.column_names else
                               pa.nulls(rows.num_rows, f.type)) for f in schema})
    return table.append_column("_i", pa.array(at[keep])), taken


def _query(con, names: list[str], sql: str) -> tuple[pa.Table | None, list[str]]:
    """``sql`` over the files ``names`` (``$files``): its rows from the files DuckDB can read, and the files it
    cannot (a failing list is halved until the file that fails is found)."""
    import duckdb

    try:
        return con.sql(sql, params={"files": names}).to_arrow_table(), []
    except duckdb.Error:
        if len(names) == 1:
            return None, names
        half = len(names) // 2
        (a, bad_a), (b, bad_b) = _query(con, names[:half], sql), _query(con, names[half:], sql)
        tables = [t for t in (a, b) if t is not None]
        return pa.concat_tables(tables) if tables else None, bad_a + bad_b


def _plain_files(kv: pa.Table | None, names: list[str]) -> list[frozenset | None]:
    """Per file: its columns when its stored Arrow schema holds only this store's columns with their own types and
    its format is one this version reads, else None (read alone)."""
    schemas, formats = {}, {}
    for name, key, value in zip(*(kv.column(c).to_pylist() for c in ("file_name", "key", "value")), strict=True) \
            if kv is not None else ():
        if key in (b"ARROW:schema", FORMAT_KEY):
            (schemas if key == b"ARROW:schema" else formats)[name] = value
    return [_columns(schemas[n]) if n in schemas and _readable(formats.get(n, b"1")) else None for n in names]


def _readable(raw: bytes) -> bool:
    return raw.isdigit() and int(raw) <= FORMAT


@functools.lru_cache(maxsize=64)
def _columns(blob: bytes) -> frozenset | None:
    """The columns of a stored Arrow schema (``ARROW:schema``), if every one is a store column of its own type."""
    try:
        stored = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(blob)))
    except Exception:  # not a schema pyarrow wrote: read alone
        return None
    names = stored.names
    if len(set(names)) != len(names) or "trial_id" not in names:
        return None
    if any(f.name not in SCHEMA.names or f.type != SCHEMA.field(f.name).type for f in stored):
        return None
    return frozenset(names)


def _trials(rows: pa.Table, at: np.ndarray, stems: list[str]) -> np.ndarray:
    """Per row: whether it passes ``check_values`` and ``check_trial`` (a whole trial of the id its file's name
    says); ``at``: each row's file."""
    n, ok = rows.num_rows, np.ones(rows.num_rows, bool)
    for name in IDENTITY:
        column = rows.column(name) if name in rows.column_names else pa.nulls(n)
        ok &= pc.is_valid(column).to_numpy(zero_copy_only=False)
    ids = rows.column("trial_id").to_numpy(zero_copy_only=False)
    ok &= ids == np.array(stems, object)[at]  # an empty id is never a file's name
    if "status" in rows.column_names:
        status = rows.column("status")
        ok &= pc.fill_null(pc.is_in(status, value_set=pa.array(STATUSES)), False).to_numpy(zero_copy_only=False)
        loss = rows.column("final_val_loss").cast(pa.float64()) if "final_val_loss" in rows.column_names else \
            pa.nulls(n, pa.float64())
        finite = pc.fill_null(pc.is_finite(loss), False).to_numpy(zero_copy_only=False)
        ok &= ~(pc.fill_null(pc.equal(status, "ok"), False).to_numpy(zero_copy_only=False) & ~finite)
    return ok
