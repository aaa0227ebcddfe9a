"""The logreg workload: a real convex problem that plain SGD solves in a few hundred steps."""

from __future__ import annotations

import pytest
import torch

from harness.train.workloads import logreg


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train(task, steps: int, lr: float) -> tuple[float, float]:
    opt = torch.optim.SGD(task.model.parameters(), lr=lr)
    batches = task.batches(0)
    for _ in range(steps):
        loss = task.loss(task.model, next(batches))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return task.evaluate(task.model)[:2]


def test_digits_sgd_reaches_target(one_thread):
    task = logreg.build("digits", seed=0)
    loss0, acc0, _ = task.evaluate(task.model)
    loss, acc = train(task, steps=300, lr=0.5)
    assert acc0 < 0.3 and acc > 0.93
    assert loss < task.target < loss0


@pytest.mark.parametrize("scale", sorted(logreg.SCALES))
def test_full_batch_gradient_descent(scale, one_thread):
    task = logreg.build(scale, seed=1, data={"batch_size": 0})
    assert task.units_per_step == len(task.extra["x_train"])
    loss, acc = train(task, steps=200, lr=0.5)
    assert loss < task.target and acc > 0.9


def test_task_contract():
    a, b, c = logreg.build("wine", 0), logreg.build("wine", 0), logreg.build("wine", 1)
    assert a.data_fingerprint == b.data_fingerprint != c.data_fingerprint  # the split is drawn from the seed
    owned = [p for ps in a.groups.values() for p in ps]
    assert sorted(map(id, owned)) == sorted(id(p) for p in a.model.parameters())
    assert a.params == 13 * 3 + 3 and a.units_per_step == logreg.SCALES["wine"]["batch"]
    x = a.extra["x_train"]
    assert torch.allclose(x.mean(0), torch.zeros(13), atol=1e-5)  # standardised on the training split
    assert len(a.extra["x_val"]) == 45 and set(a.extra["y_val"].tolist()) == {0, 1, 2}  # stratified
    batch = next(a.batches(0))
    assert batch[0].shape == (16, 13) and a.sampled_loss(a.model, batch).shape == (16,)  # unreduced (contract)
