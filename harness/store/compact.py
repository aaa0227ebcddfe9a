"""Compaction: the one-file-per-trial rows of a suite merged into one Parquet file that readers use with any newer
small files.

Layout after compaction: ``<results>/suite=<s>/compacted-<stamp>.parquet`` (many rows, sorted by study) beside the
``<trial_id>.parquet`` files written since. A trial id stored in both is read from its small file (the newer write);
among compacted files the newest stamp wins.

Nothing is lost if compaction is killed at any point: the new file is written as ``.compacted-<stamp>.parquet.tmp``,
fsynced and renamed, and only then are the inputs it holds removed (a kill in between leaves rows stored twice,
which readers count once). Concurrent writers stay safe: only the small files listed at the start are merged, and
one is removed only if it is unchanged since it was read (same inode, size and mtime); a file written meanwhile
stays and is merged next time. A run that waits for another run's trials may re-run one that was compacted
meanwhile (its small file then wins; no row is lost or counted twice); the end of a suite therefore compacts only
when no other run holds a lease in the folder. Two compactions of one folder never overlap (``fcntl.flock`` on
``.compact.lock``, released by the kernel when its holder dies). Memory: the compacted inputs are streamed
row group by row group, so it grows with the small files and one row group, not with the whole suite.

Cost stays proportional to what is new: the end of a suite compacts only the small files into a new part (once there
are ``MIN_SMALL`` of them: below that, reading them costs well under a second), and the parts are merged into one
when there are ``MAX_PARTS`` of them (or on ``harness compact``), as in an LSM tree.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.store.schema import SCHEMA, _conform, _fsync_dir

PREFIX = "compacted-"
ROW_GROUP = 65_536  # rows per row group of a compacted file
MAX_PARTS = 8  # compacted parts in a folder before they are merged into one
MIN_SMALL = 256  # small files before the end of a suite compacts them (merge=False)


def is_compacted(path: Path) -> bool:
    return path.name.startswith(PREFIX)


def files(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(compacted files oldest first, small per-trial files)`` of one suite folder."""
    every = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return [p for p in every if is_compacted(p)], [p for p in every if not is_compacted(p)]


def _stamp() -> str:
    return f"{time.time_ns():020d}-{os.getpid()}"


def compact(results: Path, suite: str | None = None, merge: bool = True) -> dict[str, int]:
    """Compact every suite folder (or one): ``{suite: rows in its new compacted file}``; a folder that another
    compaction holds, or that has nothing to merge, is left as it is. ``merge=False``: only the small files go
    into a new part, if there are ``MIN_SMALL`` (the older parts too once there are ``MAX_PARTS``)."""
    root = Path(results)
    folders = [root / f"suite={suite}"] if suite else sorted(root.glob("suite=*"))
    done = {}
    for folder in folders:
        if folder.is_dir():
            rows = _compact_folder(folder, merge)
            if rows is not None:
                done[folder.name.removeprefix("suite=")] = rows
    return done


def _compact_folder(folder: Path, merge: bool) -> int | None:
    """Compact one folder under its lock: the rows of its new compacted file, or None where nothing was done."""
    lock = os.open(folder / ".compact.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another compaction of this folder is running
        inputs = _inputs(folder, merge)
        if inputs is None:
            return None
        old, small = inputs
        fresh, read = _read_small(small)
        final = folder / f"{PREFIX}{_stamp()}.parquet"
        tmp = folder / f".{final.name}.tmp"
        rows = _write(tmp, old, fresh)
        os.replace(tmp, final)  # from here the new file holds every row: the inputs may go
        _fsync_dir(folder)
        _remove_inputs(old, read)
        _fsync_dir(folder)
        return rows
    finally:
        os.close(lock)


def _inputs(folder: Path, merge: bool) -> tuple[list[Path], list[Path]] | None:
    """``(compacted parts, small files)`` to merge now, or None where there is nothing worth doing."""
    old, small = files(folder)
    if not merge and len(small) < MIN_SMALL:
        return None
    if not merge and len(old) < MAX_PARTS:
        old = []  # the existing parts stay; readers use them with the new one
    if not small and len(old) <= 1:
        return None
    return old, small


def _read_small(small: list[Path]) -> tuple[pa.Table, dict[Path, tuple[int, int, int]]]:
    """The small files' rows in one table, and the ``(inode, size, mtime)`` of each file read, as it was read."""
    tables, read = [], {}
    for path in small:
        try:
            stat = path.stat()
            table = pq.read_table(path, partitioning=None)
            if "trial_id" not in table.column_names:
                continue  # foreign: left in place, read_results reports it
            tables.append(_conform(table))
            read[path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except Exception:  # corrupt: left in place for read_results to report (and a human to look at)
            continue
    return (pa.concat_tables(tables) if tables else SCHEMA.empty_table()), read


def _write(tmp: Path, old: list[Path], fresh: pa.Table) -> int:
    """Write ``tmp`` and fsync it: the parts' rows newest part first, each trial id once (a newer write wins), then
    the small files' rows sorted by study; the rows written."""
    seen = pa.array(fresh.column("trial_id").to_pylist(), pa.string())
    rows = 0
    with open(tmp, "wb") as f:
        with pq.ParquetWriter(f, SCHEMA, compression="zstd") as writer:
            for k, path in enumerate(reversed(old)):  # newest first: an id already written is skipped later
                written, n = _copy_part(writer, path, seen, keep_ids=k < len(old) - 1)
                rows += n
                seen = pa.concat_arrays([seen, *written]) if written else seen
            if fresh.num_rows:
                fresh = _newest_per_id(fresh).sort_by([("study_id", "ascending"), ("trial_id", "ascending")])
                writer.write_table(fresh, row_group_size=ROW_GROUP)
                rows += fresh.num_rows
        f.flush()
        os.fsync(f.fileno())
    return rows


def _copy_part(writer: pq.ParquetWriter, path: Path, seen: pa.Array, keep_ids: bool) -> tuple[list[pa.Array], int]:
    """Stream one compacted part into ``writer`` row group by row group, less the ids in ``seen``: the ids written
    (``keep_ids``: an older compacted file follows; else none) and the rows written."""
    written, rows = [], 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP):
        table = _conform(pa.Table.from_batches([batch]))
        table = table.filter(pc.invert(pc.is_in(table.column("trial_id"), value_set=seen)))
        if keep_ids:
            written.append(table.column("trial_id").combine_chunks())
        writer.write_table(table, row_group_size=ROW_GROUP)
        rows += table.num_rows
    return written, rows


def _remove_inputs(old: list[Path], read: dict[Path, tuple[int, int, int]]) -> None:
    """Remove the merged parts, and each small file read that is unchanged since (one rewritten meanwhile stays)."""
    for path in old:
        path.unlink(missing_ok=True)
    for path, stat in read.items():
        try:
            now = path.stat()
        except FileNotFoundError:
            continue
        if (now.st_ino, now.st_size, now.st_mtime_ns) == stat:  # else rewritten since we read it: keep it
            path.unlink(missing_ok=True)


def _newest_per_id(table: pa.Table) -> pa.Table:
    """One row per trial id (the last one) among small files (a trial id is one file, so this is a guard)."""
    ids = table.column("trial_id").to_pylist()
    last = {tid: i for i, tid in enumerate(ids)}
    return table.take(sorted(last.values())) if len(last) < len(ids) else table
