"""An analytic trial runner for the protocol tests: the final loss is a separable function of the hyperparameters.

    loss = sum_k (log10 v_k - log10 o_k)^2 for the log-scaled ones, (v_k - o_k)^2 / 0.01 for the linear ones,
    + 0.5 if nesterov is True (``OPTIMUM`` holds o_k), so the grid's optimum is found coordinate by coordinate.
"""

from __future__ import annotations

import math

from harness.spec import Trial, identity_row

OPTIMUM = {"lr": 0.01, "weight_decay": 0.003, "beta2": 0.97, "momentum": 0.9}
LOG = ("lr", "weight_decay")


def loss(hp: dict) -> float:
    total = 0.5 * bool(hp.get("nesterov", False))
    for k, v in hp.items():
        if k in LOG:
            total += (math.log10(max(v, 1e-12)) - math.log10(OPTIMUM[k])) ** 2
        elif k in OPTIMUM:
            total += (v - OPTIMUM[k]) ** 2 / 0.01
    return total


def run(trial: Trial, run_id: str) -> dict:
    row = {"run_id": run_id, "status": "ok", "error": None, "final_val_loss": loss(trial.hparams)}
    return identity_row(trial) | row
