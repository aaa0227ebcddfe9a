"""Tests that follow the registry: every registered optimizer, no per-method test code.

``train`` below plays the trainer's part of the contract in ``harness/contracts/interface.py``: parameters by
role, ``needs`` honoured (``create_graph``, ``sampled_loss``), and the schedule acting through each
group's ``lr``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.contracts.adapters import optimizer_state_bytes, resolve_optimizer
from harness.contracts.interface import METRICS, Method
from harness.contracts.registry import available

OPTIMIZERS = sorted(available("optimizer"))


class TinyNet(torch.nn.Module):
    """Tokens -> embedding -> two tanh layers -> class logits; one parameter of every role."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 8)
        self.fc1 = torch.nn.Linear(8, 16)
        self.fc2 = torch.nn.Linear(16, 16)
        self.head = torch.nn.Linear(16, 4)

    def forward(self, tokens):
        x = torch.tanh(self.fc1(self.embed(tokens)))
        return self.head(torch.tanh(self.fc2(x)))

    def groups(self):
        return {
            "matrix": [self.fc1.weight, self.fc2.weight],
            "embedding": [self.embed.weight],
            "head": [self.head.weight],
            "scalar": [self.fc1.bias, self.fc2.bias, self.head.bias],
        }


def _data():
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 10, (64,), generator=gen)
    labels = (tokens * 7 + 3) % 4  # a fixed function of the token
    return tokens, labels


def _as_list(opts):
    return opts if isinstance(opts, list) else [opts]


def train(method: Method, steps: int, hp: dict | None = None, schedule=lambda step: 1.0):
    """Full-batch training of TinyNet; returns (losses, model, optimizers)."""
    torch.manual_seed(0)
    model = TinyNet()
    tokens, labels = _data()
    opts = _as_list(method.build(model.groups(), **method.hparams(hp or {})))
    for opt in opts:
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    needs = method.needs_for(hp or {})
    if "sampled_loss" in needs:
        gen = torch.Generator().manual_seed(1)

        def sampled_loss():
            logits = model(tokens)
            sampled = torch.multinomial(torch.softmax(logits.detach(), -1), 1, generator=gen).squeeze(1)
            return F.cross_entropy(logits, sampled, reduction="none")

        for opt in opts:
            if hasattr(opt, "set_sampled_loss"):
                opt.set_sampled_loss(sampled_loss)
    losses = []
    for step in range(steps):
        for opt in opts:
            for group in opt.param_groups:
                group["lr"] = group["initial_lr"] * schedule(step)
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward(create_graph="create_graph" in needs)
        for opt in opts:
            opt.step()
        losses.append(loss.item())
    model.zero_grad(set_to_none=True)  # break create_graph's grad <-> graph cycle
    return losses, model, opts


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_lowers_the_loss(name):
    losses, _, _ = train(available("optimizer")[name], steps=40)
    assert all(map(torch.isfinite, map(torch.tensor, losses))), losses
    assert losses[-1] < 0.95 * losses[0], f"{name}: {losses[0]:.3f} -> {losses[-1]:.3f}"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_parameter_owned_once(name):
    model = TinyNet()
    method = available("optimizer")[name]
    opts = _as_list(method.build(model.groups(), **method.defaults))
    owned = [id(p) for opt in opts for g in opt.param_groups for p in g["params"]]
    assert sorted(owned) == sorted(id(p) for p in model.parameters())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_schedule_acts_through_group_lr(name):
    """A zero multiplier from the first step leaves every weight where it started."""
    _, model, _ = train(available("optimizer")[name], steps=3, schedule=lambda step: 0.0)
    torch.manual_seed(0)
    start = TinyNet()
    for p, q in zip(model.parameters(), start.parameters(), strict=False):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_claims_are_well_formed(name):
    method = available("optimizer")[name]
    for claim in method.claims:
        assert claim.metric in METRICS and claim.suite == "optimizers" and claim.quote
        assert claim.baseline in available("optimizer"), claim.baseline
        if claim.metric == "time":
            assert claim.hardware == "gpu"
    assert set(method.search_space) <= set(method.defaults)


# --------------------------------------------------------------------------- adapters


@pytest.mark.parametrize(
    "spec", ["pytorch_optimizer.Lion", "pytorch_optimizer.adabelief", "torch.optim:RAdam"]
)
def test_adapted_optimizers_train(spec):
    method = resolve_optimizer(spec)
    assert "lr" in method.search_space and method.name == spec
    losses, _, _ = train(method, steps=40, hp={"lr": 1e-2})
    assert losses[-1] < 0.95 * losses[0]


def test_adapted_hessian_optimizer_declares_create_graph():
    method = resolve_optimizer("pytorch_optimizer.AdaHessian")
    assert method.needs == ("create_graph",)
    losses, _, _ = train(method, steps=40, hp={"lr": 0.1})
    assert losses[-1] < 0.95 * losses[0]


@pytest.mark.parametrize(
    "spec, hint",
    [
        ("pytorch_optimizer.Lino", "did you mean 'pytorch_optimizer.lion'"),
        ("torch.optim:AdamWW", "did you mean 'AdamW'"),
        ("no_such_package.mod:Opt", "cannot import"),
        ("torch.nn:Linear", "not a torch.optim.Optimizer"),
        ("adamw2", "package.module:Class"),
    ],
)
def test_bad_names_raise_one_line(spec, hint):
    with pytest.raises(ValueError) as info:
        resolve_optimizer(spec)
    assert hint in str(info.value) and "\n" not in str(info.value)


def test_state_bytes():
    model = TinyNet()
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    n_params = len(list(model.parameters()))
    _, model, opts = train(available("optimizer")["adamw"], steps=1)
    # exp_avg + exp_avg_sq per parameter, plus torch's 4-byte float32 step counter per parameter
    assert optimizer_state_bytes(opts) == 2 * n_bytes + 4 * n_params
    _, model, opts = train(available("optimizer")["mfac"], steps=1, hp={"ngrads": 8})
    d = sum(p.numel() for p in model.parameters())
    assert optimizer_state_bytes(opts) >= 8 * d * 4  # the gradient window
