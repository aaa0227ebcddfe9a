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

What is not a trial is never merged (``harness.store.index``): a small file that is not one stays for ``set_aside``;
a compacted part that is unreadable, in part or whole, or holds rows that are not whole trials gives the new file
what can be read of it and is then kept as ``<name>.unreadable`` (its unreadable rows are lost: their trials run
again); a file of a newer format is left as it is. A failure to write (full disk, read-only folder) is a one-line
``StoreError`` that loses no row and removes its temporary file.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.errors import StoreError, counted
from harness.store.index import PREFIX, check_trial, files, metadata, newer, reason, suite_folder, whole
from harness.store.schema import SCHEMA, _conform, _fsync_dir

ROW_GROUP = 65_536  # rows per row group of a compacted file
MAX_PARTS = 8  # compacted parts in a folder before they are merged into one
MIN_SMALL = 256  # small files before the end of a suite compacts them (merge=False)


def _stamp() -> str:
    return f"{time.time_ns():020d}-{os.getpid()}"


def compact(results: Path, suite: str | None = None, merge: bool = True,
            warnings: list[str] | None = None) -> dict[str, int]:
    """Compact every suite folder (or one): ``{suite: rows in its new compacted file}``; a folder that another
    compaction holds, or that has nothing to merge, is left as it is. ``merge=False``: only the small files go
    into a new part, if there are ``MIN_SMALL`` (the older parts too once there are ``MAX_PARTS``). ``warnings``
    receives one line for each file left out or set aside."""
    root = Path(results)
    names = [suite] if suite else [p.name.removeprefix("suite=") for p in sorted(root.glob("suite=*")) if p.is_dir()]
    done, warnings = {}, [] if warnings is None else warnings
    for name in names:
        folder = suite_folder(root, name)
        if folder.is_dir():
            try:
                rows = _compact_folder(folder, merge, warnings)
            except OSError as exc:
                raise StoreError(f"cannot compact {folder}: {exc.strerror or exc}; no row was lost") from None
            if rows is not None:
                done[name] = rows
    return done


def _compact_folder(folder: Path, merge: bool, warnings: list[str]) -> int | None:
    """Compact one folder under its lock: the rows of its new compacted file, or None where nothing was done."""
    lock = os.open(folder / ".compact.lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another compaction of this folder is running
        inputs = _inputs(folder, merge, warnings)
        if inputs is None:
            return None
        old, small = inputs
        fresh, read = _read_small(small, warnings)
        final = folder / f"{PREFIX}{_stamp()}.parquet"
        tmp = folder / f".{final.name}.tmp"
        try:
            rows, damaged = _write(tmp, old, fresh)
            os.replace(tmp, final)  # from here the new file holds every row: the inputs may go
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        _remove_inputs(old, read, damaged, warnings)
        _fsync_dir(folder)
        return rows
    finally:
        os.close(lock)


def _inputs(folder: Path, merge: bool, warnings: list[str]) -> tuple[list[Path], list[Path]] | None:
    """``(compacted parts, small files)`` to merge now, or None where there is nothing worth doing; parts of a
    newer format stay out."""
    old, small = files(folder)
    if not merge and len(small) < MIN_SMALL:
        return None
    if not merge and len(old) < MAX_PARTS:
        old = []  # the existing parts stay; readers use them with the new one
    kept = []
    for path in old:
        try:
            problem = newer(pq.read_schema(path), path)
        except Exception:  # unreadable: _write takes what it can and sets it aside
            problem = ""
        if problem:
            warnings.append(f"{problem}: left as it is")
        else:
            kept.append(path)
    if not small and len(kept) <= 1:
        return None
    return kept, small


def _read_small(small: list[Path], warnings: list[str]) -> tuple[pa.Table, dict[Path, tuple[int, int, int]]]:
    """The small files' rows in one table, and the ``(inode, size, mtime)`` of each file read, as it was read; a
    file that is not a trial stays where it is (``set_aside`` moves it before the next run)."""
    tables, read = [], {}
    for path in small:
        try:
            stat = path.stat()
            table = pq.read_table(path, partitioning=None)
            conformed = _conform(table)  # types and values checked
            check_trial(table, path)
        except Exception as exc:  # left in place for read_results to report (and a human to look at)
            warnings.append(f"{path}: {reason(exc)}; not merged")
            continue
        tables.append(conformed)
        read[path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return (pa.concat_tables(tables) if tables else SCHEMA.empty_table()), read


def _write(tmp: Path, old: list[Path], fresh: pa.Table) -> tuple[int, dict[Path, str]]:
    """Write ``tmp`` and fsync it: the parts' rows newest part first, each trial id once (a newer write wins), then
    the small files' rows sorted by study; the rows written, and each part not taken whole with why."""
    seen = pa.array(fresh.column("trial_id").to_pylist(), pa.string())
    rows, damaged = 0, {}
    with open(tmp, "xb") as f:
        with pq.ParquetWriter(f, SCHEMA.with_metadata(metadata()), compression="zstd") as writer:
            for k, path in enumerate(reversed(old)):  # newest first: an id already written is skipped later
                written, n = _copy_part(writer, path, seen, k < len(old) - 1, damaged)
                rows += n
                seen = pa.concat_arrays([seen, *written]) if written else seen
            if fresh.num_rows:
                fresh = _newest_per_id(fresh).sort_by([("study_id", "ascending"), ("trial_id", "ascending")])
                writer.write_table(fresh, row_group_size=ROW_GROUP)
                rows += fresh.num_rows
        f.flush()
        os.fsync(f.fileno())
    return rows, damaged


def _copy_part(writer: pq.ParquetWriter, path: Path, seen: pa.Array, keep_ids: bool,
               damaged: dict[Path, str]) -> tuple[list[pa.Array], int]:
    """Stream the whole trials of one compacted part into ``writer`` row group by row group, less the ids in
    ``seen``: the ids written (``keep_ids``: an older compacted file follows; else none) and the rows written.
    What cannot be read, or is not a whole trial, is left out and said in ``damaged``."""
    written, rows = [], 0
    try:
        part = pq.ParquetFile(path)
    except Exception as exc:
        damaged[path] = f"unreadable ({type(exc).__name__}): its rows are lost (their trials run again)"
        return written, rows
    with part:
        for group in range(part.num_row_groups):
            try:
                table = _conform(part.read_row_group(group))
            except Exception as exc:
                damaged[path] = (f"row group {group + 1} of {part.num_row_groups} unreadable ({type(exc).__name__}): "
                                 f"its {part.metadata.row_group(group).num_rows} rows are lost (their trials run "
                                 "again), the rest merged")
                continue
            keep, why = whole(table)
            if why:
                damaged.setdefault(path, f"not whole trials ({why}): {counted(int((~keep).sum()), 'row')} left out, "
                                         "the rest merged")
                table = table.filter(pa.array(keep))
            table = table.filter(pc.invert(pc.is_in(table.column("trial_id"), value_set=seen)))
            if keep_ids:
                written.append(table.column("trial_id").combine_chunks())
            writer.write_table(table, row_group_size=ROW_GROUP)
            rows += table.num_rows
    return written, rows


def _remove_inputs(old: list[Path], read: dict[Path, tuple[int, int, int]], damaged: dict[Path, str],
                   warnings: list[str]) -> None:
    """Remove the merged parts (one not taken whole is kept as ``<name>.unreadable``), and each small file read
    that is unchanged since (one rewritten meanwhile stays)."""
    for path in old:
        if path in damaged:
            aside = path.with_name(f"{path.name}.unreadable")
            os.replace(path, aside)
            warnings.append(f"{path}: {damaged[path]}; set aside as {aside.name}")
        else:
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
