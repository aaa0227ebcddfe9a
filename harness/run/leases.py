"""Leases: two runs sharing a results folder never train the same trial at once.

Before a run starts a trial it creates ``<results>/suite=<s>/.<trial_id>.lease`` with ``O_CREAT | O_EXCL``
(atomic on local file systems and NFSv3+), holding its host, pid, process start time and run id. A
second run finds the file and skips the trial (and waits for it before the final phase). The lease is
removed once the result file is in place. A lease is *stale*, and may be taken over, when its owner is
gone: on the same host, its pid is dead or belongs to a newer process; on another host, the file was
not refreshed for ``STALE_S`` (live runs touch their leases every ``HEARTBEAT_S`` from a thread).

Leases only save work. Correctness does not depend on them: a trial is one file named by its id and
written by atomic rename, so even two runs that both train it leave exactly one row. A lease that cannot be
written (full disk, read-only folder) is removed and stops the run with a one-line ``StoreError``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import psutil

from harness.errors import StoreError

HEARTBEAT_S = 30.0
STALE_S = 300.0
HALF_WRITTEN_S = 5.0  # a lease still empty after this lost its writer between create and write (a SIGKILL)
HOST = socket.gethostname()


def _me(run_id: str) -> dict:
    return {"host": HOST, "pid": os.getpid(), "start": psutil.Process().create_time(), "run_id": run_id}


def owner_alive(owner: dict, mtime: float, now: float | None = None) -> bool:
    """Is the run that wrote a lease (``owner``, last touched at ``mtime``) still alive? An empty or half-written
    lease is alive only for ``HALF_WRITTEN_S``: writing it takes microseconds."""
    if not owner:
        return (now or time.time()) - mtime < HALF_WRITTEN_S
    if owner.get("host") != HOST:
        return (now or time.time()) - mtime < STALE_S
    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["start"])) < 1.0
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def _read(path: Path) -> tuple[dict, float]:
    """A lease's owner ({} when empty or half-written) and its last touch; ``OSError`` when it is gone."""
    text, mtime = path.read_text(), path.stat().st_mtime
    try:
        owner = json.loads(text) if text else {}
    except ValueError:
        owner = {}
    return (owner if isinstance(owner, dict) else {}), mtime


class Leases:
    """The leases one run holds in one results folder, kept fresh by a heartbeat thread."""

    def __init__(self, results: Path, run_id: str):
        self.results, self.run_id = Path(results), run_id
        self.held: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    def path(self, suite: str, trial_id: str) -> Path:
        return self.results / f"suite={suite}" / f".{trial_id}.lease"

    def take(self, suite: str, trial_id: str) -> bool:
        """Lease a trial; False when another live run holds it. A stale lease is taken over."""
        path = self.path(suite, trial_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale(path):
                    return False
                continue
            except OSError as exc:
                raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(_me(self.run_id), f)
            except OSError as exc:  # a full disk: no empty lease is left behind
                path.unlink(missing_ok=True)
                raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
            with self._lock:
                self.held[trial_id] = path
            return True
        return False

    def _break_if_stale(self, path: Path) -> bool:
        """Remove ``path`` if its owner is dead. Renaming first means only one breaker wins."""
        try:
            owner, mtime = _read(path)
        except OSError:  # vanished: try again
            return False
        if owner_alive(owner, mtime):
            return False
        grave = path.with_name(f"{path.name}.stale.{os.getpid()}")
        try:
            os.rename(path, grave)
        except FileNotFoundError:  # another run broke it first
            return True
        if _read(grave)[0] != owner:  # we moved a fresh lease: put it back
            try:
                os.link(grave, path)
            except FileExistsError:
                pass
        grave.unlink(missing_ok=True)
        return True

    def release(self, trial_id: str) -> None:
        with self._lock:
            path = self.held.pop(trial_id, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def live_elsewhere(self, suite: str, trial_id: str) -> bool:
        """Does another live run hold this trial's lease?"""
        path = self.path(suite, trial_id)
        try:
            owner, mtime = _read(path)
        except OSError:  # vanished
            return False
        return owner.get("run_id") != self.run_id and owner_alive(owner, mtime)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                paths = list(self.held.values())
            for path in paths:
                try:
                    os.utime(path)
                except OSError:  # gone, or the folder turned read-only: the lease only goes stale
                    pass

    def close(self) -> None:
        """Stop the heartbeat and drop every lease still held (the trials were not finished)."""
        self._stop.set()
        for trial_id in list(self.held):
            self.release(trial_id)
