"""Trial runners for the scale-out tests: each trial's ``hparams["behave"]`` says how its worker behaves.

``ok`` returns a row; ``segfault`` dereferences NULL (SIGSEGV); ``exit`` calls ``os._exit(3)``;
``raise`` raises; ``sleep`` sleeps ``hparams["seconds"]``; ``once`` dies (``os._exit``) the first time
and succeeds on the retry (``hparams["marker"]`` remembers the first attempt); ``hang_once`` writes its pid
to the marker and sleeps so the test can SIGKILL it, then succeeds on the retry. ``killable`` is the real
trainer, one second slower, whose first trial hangs on its first two attempts (its pids go to
``$SPEEDPROOF_KILL_DIR/pids``) so that a test can SIGKILL its workers twice.
"""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

from harness.spec import Trial, identity_row
from harness.train.trainer import run_trial


def fake_trial(i: int, behave: str = "ok", suite: str = "fake", **hp) -> Trial:
    return Trial(suite=suite, workload="quadratic", scale="tiny", budget_multiple=1.0, budget_tokens=100,
                 method="adamw", kind="optimizer", optimizer="adamw", schedule="cosine", training_method=None,
                 hparams={"i": i, "behave": behave, **hp}, seed=0, study_id="s")


def run(trial: Trial, run_id: str) -> dict:
    hp = trial.hparams
    behave = hp["behave"]
    marker = Path(hp["marker"]) if "marker" in hp else None
    if behave == "segfault":
        ctypes.string_at(0)
    elif behave == "exit":
        os._exit(3)
    elif behave == "raise":
        raise RuntimeError("runner failed on purpose")
    elif behave == "sleep":
        time.sleep(float(hp["seconds"]))
    elif behave == "once" and not marker.exists():
        marker.write_text("died")
        os._exit(5)
    elif behave == "hang_once" and not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    time.sleep(float(hp.get("work", 0)))
    return identity_row(trial) | {"run_id": run_id, "status": "ok", "final_val_loss": float(hp["i"]),
                                  "error": None}


def killable(trial: Trial, run_id: str) -> dict:
    folder = Path(os.environ["SPEEDPROOF_KILL_DIR"])
    try:
        fd = os.open(folder / "target", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.write(fd, trial.trial_id.encode())
        os.close(fd)
    except FileExistsError:
        pass
    pids = folder / "pids"
    if (folder / "target").read_text() == trial.trial_id and len(pids.read_text().split() if pids.exists() else []) < 2:
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(120)
    time.sleep(1)
    return run_trial(trial, run_id)
