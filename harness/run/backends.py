"""Where trials run: in this process, in a pool of worker processes, or as Ray tasks.

Every backend has the same small interface, driven by ``harness.run.executors.run_trials``:
``free()`` (can take a trial now), ``submit(trial, run_id, runner) -> key``,
``poll(timeout) -> [(key, kind, payload)]`` with kind ``"started"`` (a worker began the trial, after its
own start-up), ``"row"`` (the result row), ``"died"`` (the worker died; payload is the reason; the driver
retries) or ``"final"`` (failed after the backend's own retry),
``kill(key)`` and ``close()``. Trials and rows cross process boundaries as JSON.
"""

from __future__ import annotations

import importlib
import itertools
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.spec import Trial

ROOT = Path(__file__).resolve().parents[2]
STARTED = b"started"  # a pool worker's first message per trial: the kill_after_s clock starts here
RETRIES = 1  # a trial whose worker died is retried this many times, then left to the next run


def resolve(runner: str):
    """``"module:function"`` -> the function (the trial runner; tests substitute their own)."""
    module, _, name = runner.partition(":")
    return getattr(importlib.import_module(module), name)


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def dumps(obj) -> bytes:
    return json.dumps(obj, default=_json_default).encode()


def run_job(job: bytes) -> bytes:
    """Run one trial described by ``{"trial", "run_id", "runner"}`` JSON; returns the row as JSON."""
    from harness.spec import Trial

    spec = json.loads(job)
    trial = Trial(**spec["trial"])
    try:
        row = resolve(spec["runner"])(trial, spec["run_id"])
    except Exception as exc:  # the trainer turns failures into rows; this catches a failing runner
        row = failure_row(trial, spec["run_id"], "error", f"{type(exc).__name__}: {exc}")
    return dumps(row)


def failure_row(trial: Trial, run_id: str, status: str, error: str) -> dict:
    """The row of a trial whose runner raised instead of returning one."""
    import torch

    from harness.spec import identity_row

    return identity_row(trial) | {"run_id": run_id, "status": status, "error": error,
                                  "threads": torch.get_num_threads(), "started_at": datetime.now(UTC).isoformat()}


def _warm() -> None:
    import harness.train.trainer  # noqa: F401


def _job(trial, run_id: str, runner: str) -> bytes:
    return dumps({"trial": asdict(trial), "run_id": run_id, "runner": runner})


def _die_with(parent: int) -> None:
    """A worker never outlives its driver (SIGKILL of the driver included)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_main(conn, gpu: int | None, threads: int, parent: int) -> None:
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    threading.Thread(target=_die_with, args=(parent,), daemon=True).start()
    import torch

    import harness.train.trainer  # noqa: F401  (imports happen before the kill_after_s clock starts)

    torch.set_num_threads(threads)
    while True:
        try:
            job = conn.recv_bytes()
        except (EOFError, OSError):
            return
        resolve(json.loads(job)["runner"])
        conn.send_bytes(STARTED)
        conn.send_bytes(run_job(job))


def _reason(code: int | None) -> str:
    if code is None:
        return "worker vanished"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"worker exited with code {code}"


class LocalBackend:
    """One trial at a time, in this process (with ``threads`` torch threads, when given)."""

    def __init__(self, threads: int | None = None):
        import torch

        self.done: list = []
        self.keys = itertools.count()
        self.threads = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)

    def free(self) -> bool:
        return not self.done

    def submit(self, trial, run_id: str, runner: str):
        key = next(self.keys)
        self.done.append((key, "row", resolve(runner)(trial, run_id)))
        return key

    def poll(self, timeout: float) -> list:
        out, self.done = self.done, []
        return out

    def kill(self, key) -> None:
        pass

    def close(self) -> None:
        import torch

        torch.set_num_threads(self.threads)


class _Slot:
    def __init__(self, index: int):
        self.index, self.proc, self.conn, self.key = index, None, None, None


class PoolBackend:
    """``workers`` spawned processes, each running one trial at a time; a dead worker is replaced."""

    announces_start = True  # sends "started" once a worker has begun the trial, after its own start-up

    def __init__(self, workers: int, gpus: bool, threads: int | None = None):
        self.ctx = mp.get_context("spawn")
        self.slots = [_Slot(i) for i in range(workers)]
        self.gpus = gpus
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.threads = threads or max(1, cores // workers)
        self.keys = itertools.count()

    def _start(self, slot: _Slot) -> None:
        parent, child = self.ctx.Pipe()
        gpu = slot.index if self.gpus else None
        slot.proc = self.ctx.Process(target=_worker_main, args=(child, gpu, self.threads, os.getpid()), daemon=True)
        slot.proc.start()
        child.close()
        slot.conn = parent

    def _stop(self, slot: _Slot) -> None:
        if slot.proc is not None:
            slot.proc.kill()
            slot.proc.join(5)
            slot.conn.close()
        slot.proc = slot.conn = slot.key = None

    def free(self) -> bool:
        return any(s.key is None for s in self.slots)

    def submit(self, trial, run_id: str, runner: str):
        slot = next(s for s in self.slots if s.key is None)
        if slot.proc is None or not slot.proc.is_alive():
            self._stop(slot)
            self._start(slot)
        slot.key = next(self.keys)
        slot.conn.send_bytes(_job(trial, run_id, runner))
        return slot.key

    def poll(self, timeout: float) -> list:
        busy = [s for s in self.slots if s.key is not None]
        if not busy:
            return []
        ready = set(wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout))
        events = []
        for slot in busy:
            if slot.conn not in ready and slot.proc.sentinel not in ready:
                continue
            key = slot.key
            try:
                message = slot.conn.recv_bytes() if slot.conn.poll() else None
                if message == STARTED and slot.conn.poll():  # a fast trial: its row may be there too
                    events.append((key, "started", None))
                    message = slot.conn.recv_bytes()
                if message == STARTED:
                    events.append((key, "started", None))
                    continue
                if message is not None:
                    events.append((key, "row", json.loads(message)))
                    slot.key = None
                    continue
            except (EOFError, OSError):
                pass
            slot.proc.join(5)
            events.append((key, "died", _reason(slot.proc.exitcode)))
            self._stop(slot)
        return events

    def kill(self, key) -> None:
        for slot in self.slots:
            if slot.key == key:
                self._stop(slot)

    def close(self) -> None:
        for slot in self.slots:
            self._stop(slot)


def _loopback_only() -> None:
    """Make the local Ray instance listen on 127.0.0.1 only (GCS, raylet, workers, agents).

    Ray (2.x) binds its servers to the node's address, and on Linux takes the machine's network address
    for the node even when given 127.0.0.1, unless its "cluster" mode is off. It reads that switch from the
    environment once, at import (``ray._private.ray_constants``), so it is set in both places; Ray's
    processes inherit the environment.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


class RayBackend:
    """Ray tasks (1 CPU, and 1 GPU for CUDA trials); Ray retries a task whose worker died once.

    Without ``ray.address`` it starts a local instance that listens on 127.0.0.1 only.
    """

    def __init__(self, workers: int, address: str | None, gpus: bool):
        self.workers, self.address, self.gpus = workers, address, gpus
        self.refs: dict = {}
        self.remote = None
        self.started_here = False

    def _start(self):
        import ray

        if not ray.is_initialized():
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path[1:]])}}
            if self.address:
                ray.init(address=self.address, runtime_env=env, log_to_driver=False)
            else:
                _loopback_only()
                ray.init(num_cpus=self.workers, include_dashboard=False, runtime_env=env, log_to_driver=False,
                         _node_ip_address="127.0.0.1")
            self.started_here = True
        self.remote = ray.remote(run_job)
        # start and import in `workers` Ray workers first, so kill_after_s does not count their start-up
        ray.get([ray.remote(_warm).options(num_cpus=1, num_gpus=1 if self.gpus else 0).remote()
                 for _ in range(self.workers)])

    def free(self) -> bool:
        return len(self.refs) < self.workers

    def submit(self, trial, run_id: str, runner: str):
        if self.remote is None:
            self._start()
        ref = self.remote.options(
            num_cpus=1, num_gpus=1 if self.gpus else 0, max_retries=RETRIES, retry_exceptions=False
        ).remote(_job(trial, run_id, runner))
        self.refs[ref] = ref
        return ref

    def poll(self, timeout: float) -> list:
        import ray

        if not self.refs:
            return []
        ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=timeout)  # returns at the first result
        if ready:
            ready, _ = ray.wait(list(self.refs), num_returns=len(self.refs), timeout=0)
        events = []
        for ref in ready:
            del self.refs[ref]
            try:
                events.append((ref, "row", json.loads(ray.get(ref))))
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                events.append((ref, "final", f"{type(exc).__name__}: {first}"[:500]))
        return events

    def kill(self, key) -> None:
        import ray

        self.refs.pop(key, None)
        ray.cancel(key, force=True)

    def close(self) -> None:
        import ray

        for ref in list(self.refs):
            ray.cancel(ref, force=True)
        self.refs.clear()
        if self.started_here:
            ray.shutdown()


def make_backend(opts, device: str):
    """The backend ``opts.executor`` names; refuses more pool workers than GPUs for CUDA trials."""
    gpus = str(device).startswith("cuda")
    if opts.executor == "local":
        return LocalBackend(opts.threads)
    if opts.executor == "pool":
        if gpus:
            import torch

            count = torch.cuda.device_count()
            if opts.workers > count:
                raise ConfigError(f"workers={opts.workers} but {count} GPUs: one trial per GPU (energy is per GPU)")
        return PoolBackend(opts.workers, gpus, opts.threads)
    if opts.executor == "ray":
        return RayBackend(opts.workers, opts.address, gpus)
    raise ConfigError(f"unknown executor {opts.executor!r}; available: local, pool, ray")
