"""The cifar10 workload on tiny CIFAR-10-format binary files the test writes (no real data here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.spec import Trial
from harness.train.trainer import run_trial
from harness.train.workloads import cifar10

PER_FILE = 40  # records per fake batch file (the real ones hold 10,000)


def write_fake(folder, per_file: int = PER_FILE, seed: int = 0) -> dict:
    """Learnable fake CIFAR-10: class k tints channel k % 3 by +20 k/9 over uniform noise in [100, 156)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in (*cifar10.TRAIN_FILES, cifar10.TEST_FILE):
        labels = rng.integers(0, 10, per_file).astype(np.uint8)
        pixels = rng.integers(100, 156, (per_file, 3, 32, 32))
        pixels[np.arange(per_file), labels % 3] += (20 * labels // 9)[:, None, None]
        records = np.concatenate([labels[:, None], pixels.reshape(per_file, -1).astype(np.uint8)], axis=1)
        records.tofile(folder / name)
        out[name] = (pixels.astype(np.uint8), labels.astype(np.int64))
    return out


def test_reads_records_channel_major_with_their_labels(tmp_path):
    record = np.concatenate([[7], np.arange(1024) % 256, np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    record.tofile(tmp_path / "one.bin")
    images, labels = cifar10.read_batch(tmp_path / "one.bin")
    assert images.shape == (1, 3, 32, 32) and images.dtype == np.uint8 and labels.tolist() == [7]
    assert images[0, 0, 1, 0] == 32 and images[0, 0, 2, 5] == 69  # red plane: row-major 32 x 32
    assert (images[0, 1] == 20).all() and (images[0, 2] == 30).all()


def test_loads_shapes_labels_and_standardises_with_training_statistics(tmp_path):
    truth = write_fake(tmp_path)
    x_tr, y_tr, x_te, y_te, fingerprint = cifar10.load(str(tmp_path))
    assert x_tr.shape == (5 * PER_FILE, 3, 32, 32) and x_te.shape == (PER_FILE, 3, 32, 32)
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert y_tr.tolist() == np.concatenate([truth[f][1] for f in cifar10.TRAIN_FILES]).tolist()
    assert y_te.tolist() == truth[cifar10.TEST_FILE][1].tolist()
    raw = np.concatenate([truth[f][0] for f in cifar10.TRAIN_FILES]).astype(np.float64) / 255
    mean, std = raw.mean(axis=(0, 2, 3)), raw.std(axis=(0, 2, 3))  # float64 reference
    assert x_tr.double().mean(dim=(0, 2, 3)).numpy() == pytest.approx(0.0, abs=1e-5)
    assert x_tr.double().std(dim=(0, 2, 3), correction=0).numpy() == pytest.approx(1.0, rel=1e-5)
    expected = (truth[cifar10.TEST_FILE][0] / 255 - mean[:, None, None]) / std[:, None, None]
    assert x_te.numpy() == pytest.approx(expected, abs=1e-5)  # the test set uses the training statistics
    assert fingerprint.startswith("cifar10-bin-") and fingerprint == cifar10.load(str(tmp_path))[4]


@pytest.mark.parametrize("problem, message", [
    (None, "needs data.path"),
    ("missing", "no such folder"),
    ("no_test", "missing test_batch.bin"),
    ("truncated", "not a positive multiple of the 3073-byte record"),
])
def test_bad_data_is_one_line_and_exit_2(tmp_path, capsys, problem, message):
    write_fake(tmp_path)
    if problem == "no_test":
        (tmp_path / cifar10.TEST_FILE).unlink()
    if problem == "truncated":
        with open(tmp_path / "data_batch_3.bin", "ab") as f:
            f.write(b"\x01\x02")
    path = {None: None, "missing": str(tmp_path / "nope")}.get(problem, str(tmp_path))
    args = ["validate", "suite=backprop_free", "preset=cifar10"] + ([f"data.path={path}"] if path else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    if problem in ("no_test", "truncated"):
        with pytest.raises(ValueError, match=message):
            cifar10.load(str(tmp_path))


def test_valid_data_validates_and_labels_outside_0_9_are_rejected(tmp_path, capsys):
    write_fake(tmp_path)
    assert main(["validate", "suite=backprop_free", "preset=cifar10", f"data.path={tmp_path}"]) == 0
    record = np.zeros(cifar10.RECORD, np.uint8)
    record[0] = 42
    record.tofile(tmp_path / "bad.bin")
    with pytest.raises(ValueError, match="label 42"):
        cifar10.read_batch(tmp_path / "bad.bin")


def test_a_short_training_run_learns_the_fake_classes(tmp_path):
    write_fake(tmp_path, per_file=60)
    task = cifar10.build("mlp", 0, {"path": str(tmp_path)})
    assert task.architecture == "mlp" and task.units_per_step == 128
    assert task.params == 3072 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    # harness.train.flops: 3x forward per layer, 2x for the first (no gradient of the data)
    assert task.flops_per_unit == 4 * 3072 * 256 + 6 * (256 * 256 + 256 * 10)
    first = task.evaluate(task.model)[0]
    r = run_trial(Trial(suite="t", workload="cifar10", scale="mlp", budget_multiple=0.0, budget_tokens=32 * 30,
                        method="adamw", kind="optimizer", optimizer="adamw", schedule="cosine", training_method=None,
                        hparams={"lr": 1e-3}, seed=0, evals=1, warmup_steps=1, batch_size=32, codecarbon=False,
                        data={"path": str(tmp_path)}))
    assert r["status"] == "ok", r["error"]
    assert r["final_val_loss"] < 0.7 * first and r["final_val_metric"] > 0.5  # chance: 0.1


def test_the_cnn_scale_trains(tmp_path):
    write_fake(tmp_path, per_file=16)
    task = cifar10.build("cnn", 0, {"path": str(tmp_path)})
    assert task.architecture == "cnn" and task.model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    opt, batches = torch.optim.Adam(task.model.parameters(), lr=1e-3), task.batches(0)
    losses = []
    for _ in range(6):
        loss = task.loss(task.model, next(batches))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
