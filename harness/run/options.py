"""How to run a suite: the executor options, their check (the owner's validation of ``executor``, ``workers``,
``threads``, ``shard``, ``ray`` and ``train.kill_after_s``) and the shard assignment."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from harness.errors import ConfigError, suggest
from harness.spec import MAX_COUNT, RunSpec, positive

EXECUTORS = ("local", "pool", "ray")


@dataclass
class Options:
    """How to run: executor name, parallelism, share of the suite, and the trial function."""

    executor: str = "local"
    workers: int = 1
    shard: tuple[int, int] | None = None
    address: str | None = None
    kill_after_s: float | None = None  # None: 2 x the trial's time_limit_s + 300 s
    runner: str = "harness.train.trainer:run_trial"  # "module:function" taking (Trial, run_id) -> row
    threads: int | None = None  # torch threads per trial (None: local all, pool the cores divided among workers)
    poll_s: float = 1.0

    @property
    def parallel(self) -> int:
        """Trials running at once: the workers of a pool or Ray (at most one per core here), else one."""
        return 1 if self.executor == "local" else max(1, min(self.workers, os.cpu_count() or 1))

    @classmethod
    def from_spec(cls, spec: RunSpec) -> Options:
        return cls(executor=spec.executor, workers=spec.workers, shard=parse_shard(spec.shard),
                   address=spec.ray.address, kill_after_s=spec.train.kill_after_s, threads=spec.threads)


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check(spec: RunSpec) -> None:
    """The executor options, before any trial (one-line ``ConfigError``)."""
    if spec.executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {spec.executor!r}{suggest(spec.executor, EXECUTORS)}; available: "
                          + ", ".join(EXECUTORS))
    here = cores()
    positive("workers", spec.workers, here if spec.executor == "pool" and spec.train.device == "cpu" else MAX_COUNT)
    if spec.threads is not None:
        positive("threads", spec.threads, here)  # more threads than cores only slows every trial down
    if spec.executor == "local" and spec.workers != 1:
        raise ConfigError(f"workers={spec.workers} needs executor=pool or executor=ray (local runs one at a time)")
    try:
        parse_shard(spec.shard)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if spec.ray.address is not None and spec.executor != "ray":
        raise ConfigError("ray.address is only used with executor=ray")


def parse_shard(text) -> tuple[int, int] | None:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` stays ``None``. Raises ``ValueError``."""
    if text is None:
        return None
    i, slash, n = str(text).partition("/")
    if not slash or not i.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"shard must look like i/n (e.g. 0/2), got {text!r}")
    i, n = int(i), int(n)
    if not 0 <= i < n:
        raise ValueError(f"shard i/n needs 0 <= i < n, got {text!r}")
    return i, n


def in_shard(trial_id: str, shard: tuple[int, int] | None) -> bool:
    """Stable assignment: the trial id's hash modulo ``n`` (the same on every machine and Python)."""
    if shard is None:
        return True
    return int(hashlib.sha256(trial_id.encode()).hexdigest()[:12], 16) % shard[1] == shard[0]
