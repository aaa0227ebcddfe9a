"""digits: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, shipped, offline).

Scales: ``mlp`` (64-128-128-10) and ``cnn`` (two 3x3 conv layers, then a linear head).
Fixed stratified split by seed: 80% train, 20% validation; pixels scaled to [0, 1].
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
import torch

from harness.train.workloads.base import Task, classification_task, cnn, mlp

UNIT = "examples"
SCALES = {
    "mlp": dict(arch="mlp", hidden=128, batch=64, target=0.25),
    "cnn": dict(arch="cnn", channels=16, batch=64, target=0.20),
}


@cache
def dataset() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    images, labels = dataset()
    from sklearn.model_selection import train_test_split

    x_tr, x_va, y_tr, y_va = train_test_split(images, labels, test_size=0.2, stratify=labels, random_state=0)
    x_tr, x_va = torch.from_numpy(x_tr), torch.from_numpy(x_va)
    y_tr, y_va = torch.from_numpy(y_tr), torch.from_numpy(y_va)
    batch = int((data or {}).get("batch_size") or cfg["batch"])
    torch.manual_seed(seed)
    model = mlp(64, cfg["hidden"]) if cfg["arch"] == "mlp" else cnn((1, 8, 8), cfg["channels"])
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]
    return classification_task(model, x_tr, y_tr, x_va, y_va, batch, target=cfg["target"],
                               fingerprint=f"sklearn-digits-{digest}", architecture=cfg["arch"])
