"""cifar10: CIFAR-10 read from a local folder in its binary version (``data.path=DIR``; nothing is downloaded).

The folder holds ``data_batch_1.bin`` .. ``data_batch_5.bin`` (training) and ``test_batch.bin``
(the fixed held-out set), as unpacked from ``cifar-10-binary.tar.gz``: records of 1 label byte
(0-9) and 3072 pixel bytes (3 x 32 x 32, channel-major: 1024 red, 1024 green, 1024 blue, rows in
order). Read with ``numpy.fromfile`` only. Pixels are scaled to [0, 1], then standardised per
channel with the training set's mean and standard deviation: x' = (x / 255 - mu_c) / sigma_c.

Scales: ``mlp`` (3072-256-256-10, the forward-forward / mono-forward native architecture) and
``cnn`` (two 3x3 conv layers and a linear head, Cascaded Forward's), built like digits' models.

References:
    Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009
    (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version").
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import torch

from harness.train.workloads.base import Task, classification_task, cnn, mlp

UNIT = "examples"
SHAPE = (3, 32, 32)
RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
SCALES = {
    "mlp": dict(arch="mlp", hidden=256, batch=128, target=1.6),
    "cnn": dict(arch="cnn", channels=16, batch=128, target=1.3),
}


def check_data(data: dict | None) -> None:
    """Raise ``ValueError`` (one line) unless ``data.path`` is a folder with the six well-sized files."""
    path = (data or {}).get("path")
    if not path:
        raise ValueError("workload cifar10 needs data.path=DIR: a folder with data_batch_1.bin..data_batch_5.bin "
                         "and test_batch.bin (CIFAR-10 binary version, cifar-10-binary.tar.gz; not downloaded here)")
    if not isinstance(path, str):
        raise ValueError(f"data.path must be a folder name, got {path!r}")
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"data.path={path}: no such folder (cifar10 needs the CIFAR-10 binary version there)")
    missing = [f for f in (*TRAIN_FILES, TEST_FILE) if not (folder / f).is_file()]
    if missing:
        raise ValueError(f"data.path={path}: missing {', '.join(missing)} (CIFAR-10 binary version)")
    for name in (*TRAIN_FILES, TEST_FILE):
        size = (folder / name).stat().st_size
        if size == 0 or size % RECORD:
            raise ValueError(f"data.path={path}: {name} has {size} bytes, not a positive multiple of the "
                             f"{RECORD}-byte record (1 label + 3x32x32 pixels): not the CIFAR-10 binary version")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x 3 x 32 x 32, labels int64 N) of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"{path}: {raw.size} bytes is not a positive multiple of {RECORD}")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{path}: label {labels.max()} outside 0-9 (CIFAR-100's files have 2 label bytes)")
    return records[:, 1:].reshape(-1, *SHAPE), labels


@cache
def load(path: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """(x_train, y_train, x_test, y_test, fingerprint), standardised with the training set's channel statistics."""
    check_data({"path": path})
    folder = Path(path)
    train = [read_batch(folder / f) for f in TRAIN_FILES]
    x_te_u8, y_te = read_batch(folder / TEST_FILE)
    x_tr_u8, y_tr = np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])
    digest = hashlib.sha256()
    for part in (x_tr_u8, y_tr, x_te_u8, y_te):
        digest.update(part.tobytes())
    mean, std = channel_stats(x_tr_u8)
    return (standardise(x_tr_u8, mean, std), torch.from_numpy(y_tr), standardise(x_te_u8, mean, std),
            torch.from_numpy(y_te), f"cifar10-bin-{digest.hexdigest()[:16]}")


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) standard deviation of x / 255, exact, from 256-bin histograms."""
    levels = np.arange(256) / 255.0
    hists = [np.bincount(images[:, c].ravel(), minlength=256) for c in range(images.shape[1])]
    mean = np.array([h @ levels / h.sum() for h in hists])
    var = np.array([h @ (levels - m) ** 2 / h.sum() for h, m in zip(hists, mean, strict=True)])
    return mean, np.where(var > 0, np.sqrt(var), 1.0)  # a constant channel (tiny test files) is only centred


def standardise(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """(x / 255 - mean_c) / std_c as float32, computed in place."""
    x = images.astype(np.float32)
    x *= np.float32(1 / 255)
    x -= mean.astype(np.float32)[:, None, None]
    x /= std.astype(np.float32)[:, None, None]
    return torch.from_numpy(x)


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    x_tr, y_tr, x_va, y_va, fingerprint = load(str((data or {}).get("path") or ""))
    batch = int((data or {}).get("batch_size") or cfg["batch"])
    torch.manual_seed(seed)
    model = mlp(x_tr[0].numel(), cfg["hidden"]) if cfg["arch"] == "mlp" else cnn(SHAPE, cfg["channels"])
    return classification_task(model, x_tr, y_tr, x_va, y_va, batch, target=cfg["target"], fingerprint=fingerprint,
                               architecture=cfg["arch"])
