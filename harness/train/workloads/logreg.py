"""logreg: convex multinomial logistic regression on scikit-learn's bundled data sets (offline).

Scales are data sets: ``digits`` (1,797 x 64, 10 classes), ``breast_cancer`` (569 x 30, 2),
``wine`` (178 x 13, 3), ``iris`` (150 x 4, 3). A stratified 75/25 train/validation split is drawn
from the seed (the same seed gives the same split); features are standardised with the training
statistics. The model is one linear layer, the loss softmax cross-entropy without a penalty (weight
decay, if any, is the optimizer's). Batch size ``<= 0`` means full-batch gradient descent.

Targets are validation losses a tuned run reaches on every split (the best L2-regularised
scikit-learn fits reach 0.11-0.12, 0.08-0.10, 0.03-0.08 and 0.02-0.08 respectively).
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
import torch
from torch import nn

from harness.train import flops
from harness.train.workloads.base import Task, classification_task

UNIT = "examples"
SCALES = {
    "digits": dict(batch=64, target=0.20),
    "breast_cancer": dict(batch=32, target=0.15),
    "wine": dict(batch=16, target=0.15),
    "iris": dict(batch=16, target=0.20),
}


@cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")()
    return d.data.astype(np.float64), d.target.astype(np.int64)


def split(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 75/25 split drawn from ``seed``; features standardised with training statistics."""
    from sklearn.model_selection import train_test_split

    x, y = dataset(name)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    mean, std = x_tr.mean(0), x_tr.std(0)
    std[std == 0] = 1.0
    return ((x_tr - mean) / std).astype(np.float32), ((x_va - mean) / std).astype(np.float32), y_tr, y_va


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    x_tr, x_va, y_tr, y_va = split(scale, seed)
    classes = int(max(y_tr.max(), y_va.max()) + 1)
    requested = (data or {}).get("batch_size")
    batch = int(cfg["batch"] if requested is None else requested)
    batch = len(x_tr) if batch <= 0 or batch > len(x_tr) else batch
    digest = hashlib.sha256(b"".join(a.tobytes() for a in (x_tr, y_tr, x_va, y_va))).hexdigest()[:16]
    x_tr, x_va = torch.from_numpy(x_tr), torch.from_numpy(x_va)
    y_tr, y_va = torch.from_numpy(y_tr), torch.from_numpy(y_va)
    torch.manual_seed(seed)
    model = nn.Linear(x_tr.shape[1], classes)
    return classification_task(model, x_tr, y_tr, x_va, y_va, batch, target=cfg["target"],
                               fingerprint=f"sklearn-{scale}-split{seed}-{digest}", architecture="linear",
                               flops_per_unit=flops.mlp_flops_per_example([x_tr.shape[1], classes]))
