"""How to run a suite: the executor options and their parsing (one place, used by the config check and the run)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

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
    def from_config(cls, cfg) -> Options:
        return cls(
            executor=str(cfg.executor),
            workers=int(cfg.workers),
            shard=parse_shard(cfg.shard),
            address=cfg.ray.address,
            kill_after_s=cfg.train.kill_after_s,
            threads=cfg.threads,
        )


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
