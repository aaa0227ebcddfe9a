"""The fast paths of issue 20: contention flag, threads per row."""

from __future__ import annotations

import torch

from harness.train import hardware


def test_contention_flags_load_above_the_cores():
    cores = hardware.cores()
    assert hardware.contention([0.5, cores + 0.5]) == {"threads": torch.get_num_threads(), "load_avg": cores + 0.5,
                                                         "contended": True}
    assert hardware.contention([0.1])["contended"] is False
    assert hardware.contention([])["contended"] is None
