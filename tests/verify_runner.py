"""A trial runner with a known truth for the verify tests: the baseline (adamw) follows L(D) = 2 + (D/1e5)^-0.4,
the method trains as if it had ``SPEEDUP[scale]`` times the tokens; seed noise sd 0.01, tuning off the best lr
costs a little."""

from __future__ import annotations

import hashlib
import math

from harness.spec import Trial, identity_row

SPEEDUP = {"nano": 1.6, "micro": 0.9}  # the truth: the 1.4x claim holds at nano and fails at micro


def run(trial: Trial, run_id: str) -> dict:
    s = 1.0 if trial.method == "adamw" else SPEEDUP[trial.scale]
    z = int(hashlib.sha256(trial.trial_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF  # uniform, per trial
    noise = 0.01 * math.sqrt(-2 * math.log(max(z, 1e-12))) * math.cos(2 * math.pi * ((z * 7919) % 1))
    off = (math.log10(trial.hparams.get("lr", 1e-3)) + 2.5) ** 2 * 0.01  # the best lr: ~3e-3
    loss = 2.0 + (s * trial.budget_tokens / 1e5) ** -0.4 + noise + (off if trial.phase == "tune" else 0.0)
    return identity_row(trial) | {"run_id": run_id, "status": "ok", "error": None, "final_val_loss": loss,
                                  "params": 1, "device": "cpu", "energy_method": "none"}
