"""Disk caches of what is slow to learn but rarely changes (the method catalog, workload sizes, quasi-random
points), so that ``harness ls``, ``validate`` and the dashboard start without importing torch or scipy.stats.

Files live in one folder, ``folder()``: ``$SPEEDPROOF_CACHE``, else ``$XDG_CACHE_HOME/speedproof``, else
``~/.cache/speedproof`` (the step times of ``harness.run.plan`` too), named ``<prefix>-<stamp>.json``; the stamp
hashes the source files the values come from (path, size, mtime), Python and the installed packages (the
site-packages folders' mtime: installing or removing one changes it), so an edit or an install starts a fresh
file and removes the stale one. A cache that cannot be read or written is rebuilt or skipped, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

_tables: dict[Path, dict] = {}


def folder() -> Path:
    """Where every cache of the project lives: ``$SPEEDPROOF_CACHE``, else ``$XDG_CACHE_HOME/speedproof``, else
    ``~/.cache/speedproof``."""
    if os.environ.get("SPEEDPROOF_CACHE"):
        return Path(os.environ["SPEEDPROOF_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speedproof"


def stamp(files: list[Path]) -> str:
    """A key that changes when one of ``files`` (the sources a value comes from, and the module that writes it),
    Python or an installed package changes."""
    digest = hashlib.sha256(f"{sys.prefix}:{sys.version}".encode())
    for path in files + _packages():
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def results_stamp(results: Path, pattern: str = "suite=*/*.parquet") -> str:
    """A key that changes whenever a stored file (``pattern`` under ``results``) is added, removed or rewritten:
    each one's name, inode, size, modification and change times. A dangling or looping link counts by its own
    entry (the read reports it; its target appearing changes the key)."""
    parts = []
    for path in sorted(results.glob(pattern)) if results.is_dir() else []:
        try:
            info = path.stat()
        except OSError:
            info = path.lstat()
        parts.append(f"{path.relative_to(results)}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


@functools.cache
def _packages() -> list[Path]:
    found = {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    return sorted(p for p in found if p.is_dir())


def save(path: Path, text: str) -> None:
    """Write a cache file atomically and remove its stale versions (same prefix, other stamp); never raises."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        for stale in set(path.parent.glob(f"{path.name.split('-')[0]}-*.json")) - {path}:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def remember(prefix: str, files: list[Path], key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (a JSON value) kept under ``key`` in the ``prefix`` table of ``files``' stamp."""
    path = folder() / f"{prefix}-{stamp(files)}.json"
    if path not in _tables:
        try:
            _tables[path] = dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            _tables[path] = {}
    table = _tables[path]
    if key not in table:
        table[key] = json.loads(json.dumps(compute()))  # as it reads back from the file
        save(path, json.dumps(table))
    return table[key]
