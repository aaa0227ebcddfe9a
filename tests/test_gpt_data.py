"""The gpt workload's real loaders, on shards the test writes in both on-disk formats."""

from __future__ import annotations

import numpy as np
import pytest

from harness.train.workloads import gpt


def write_modded(path, tokens: np.ndarray) -> None:
    header = np.zeros(256, dtype=np.int32)
    header[:3] = (gpt.SHARD_MAGIC, 1, len(tokens))
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.astype(np.uint16).tobytes())


@pytest.mark.parametrize("fmt", ["nanogpt", "modded"])
def test_reads_token_shards(tmp_path, fmt):
    rng = np.random.default_rng(0)
    train, val = rng.integers(0, 50000, 20000), rng.integers(0, 50000, 5000)
    for name, tokens in (("train.bin", train), ("val.bin", val)):
        if fmt == "modded":
            write_modded(tmp_path / name, tokens)
        else:
            tokens.astype(np.uint16).tofile(tmp_path / name)
    tr, va, vocab, fingerprint = gpt.load_tokens(str(tmp_path))
    assert np.array_equal(tr, train) and np.array_equal(va, val)
    assert vocab == 50304 and fingerprint.startswith("shards-")
    task = gpt.build("nano", 0, {"path": str(tmp_path)})
    x, y = next(task.batches(0))
    assert x.shape == (16, 64) and int(x.max()) < 50304
    assert np.isfinite(task.evaluate(task.model)[0])


def test_bad_shard_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="needs"):
        gpt.load_tokens(str(tmp_path))
    header = np.zeros(256, dtype=np.int32)
    header[:3] = (gpt.SHARD_MAGIC, 7, 10)
    (tmp_path / "x.bin").write_bytes(header.tobytes())
    with pytest.raises(ValueError, match="version 7"):
        gpt.read_shard(tmp_path / "x.bin")


def test_default_corpus_is_the_stdlib_and_fingerprinted():
    tr, va, vocab, fingerprint = gpt.load_tokens(None)
    assert vocab == 256 and len(tr) + len(va) == gpt.CORPUS_BYTES
    assert b"def " in tr[:100000].astype(np.uint8).tobytes()
    assert fingerprint == gpt.load_tokens(None)[3]


def test_a_fifo_or_device_among_the_shards_is_refused_not_read(tmp_path, cli):
    """``validate`` waited forever on a FIFO named ``train.bin``: only regular files are shards."""
    import os

    np.arange(5000, dtype=np.uint16).tofile(tmp_path / "val.bin")
    os.mkfifo(tmp_path / "train.bin")
    with pytest.raises(ValueError, match="train.bin is not a regular file"):
        gpt.check_data({"path": str(tmp_path)})
    r = cli("validate", "suite=optimizers", "preset=smoke", f"data.path={tmp_path}", timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "train.bin is not a regular file" in r.stderr
