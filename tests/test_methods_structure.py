"""Structural training methods do what their papers define: simulated workers, N:M masks, Monarch
factors, number formats, shape schedules — checked against independent references."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.methods_support import accuracy, mlp, task, train

# --------------------------------------------------------------------------- simulated workers

EXACT = {"outer_lr": 1.0, "outer_momentum": 0.0, "inner_steps": 1}
SAME_AS_DP = [
    ("diloco", {**EXACT, "workers": 4}),
    ("noloco", {**EXACT, "workers": 2, "group_size": 2, "pull": 0.5}),
    (
        "streaming_diloco",
        {**EXACT, "workers": 4, "fragments": 1, "overlap": 0, "mix": 0.0, "quantize": "fp32"},
    ),
]


def _sgd_run(name, hp, steps=6):
    torch.manual_seed(0)
    model, hooks, _ = train(name, task(mlp(32)), steps, {"lr": 0.2, **hp}, opt="sgd")
    return torch.cat([p.detach().flatten() for p in model.parameters()]), hooks


def test_data_parallel_equals_full_batch_training():
    dp, hooks = _sgd_run("data_parallel", {"workers": 4})
    full, _ = _sgd_run("backprop", {})
    assert torch.allclose(dp, full, atol=1e-6)
    n = full.numel()
    assert hooks.bytes_communicated == 6 * 2 * 3 * n * 4  # 6 ring all-reduces of n fp32 values, K = 4


@pytest.mark.parametrize("name,hp", SAME_AS_DP, ids=[c[0] for c in SAME_AS_DP])
def test_workers_with_h1_and_full_averaging_reproduce_data_parallel(name, hp):
    dp, _ = _sgd_run("data_parallel", {"workers": hp["workers"]})
    got, hooks = _sgd_run(name, hp)
    assert torch.allclose(got, dp, atol=1e-6), (got - dp).abs().max()
    assert hooks.communication_rounds == 6 and hooks.bytes_communicated > 0


def test_diloco_outer_step_matches_nesterov_on_the_averaged_pseudo_gradient():
    """Two rounds by hand (float64): per-worker SGD for H steps, then torch.optim.SGD(nesterov) on the
    mean delta."""
    torch.manual_seed(0)
    hp = {"workers": 2, "inner_steps": 3, "outer_lr": 0.7, "outer_momentum": 0.9, "lr": 0.1}
    t = task(mlp(16).double(), dtype=torch.float64)
    init = copy.deepcopy(t.model)
    model, _, _ = train("diloco", t, 6, hp, opt="sgd")
    data = t.batches(0)
    glob = [p.detach().clone() for p in init.parameters()]
    outer = torch.optim.SGD([torch.nn.Parameter(g) for g in glob], lr=0.7, momentum=0.9, nesterov=True)
    for _ in range(2):
        reps = [copy.deepcopy(init) for _ in range(2)]
        for _ in range(3):
            x, y = next(data)
            for k, (xs, ys) in enumerate(zip(x.chunk(2), y.chunk(2), strict=False)):
                reps[k].zero_grad()
                torch.nn.functional.cross_entropy(reps[k](xs), ys).backward()
                with torch.no_grad():
                    for p in reps[k].parameters():
                        p -= 0.1 * p.grad
        for i, p in enumerate(outer.param_groups[0]["params"]):
            p.grad = sum(p.detach() - list(r.parameters())[i].detach() for r in reps) / 2
        outer.step()
        with torch.no_grad():
            for q, p in zip(init.parameters(), outer.param_groups[0]["params"], strict=False):
                q.copy_(p)
    for q, p in zip(model.parameters(), init.parameters(), strict=False):
        assert torch.allclose(q, p, atol=1e-10)


def test_streaming_diloco_sends_fragments_in_turn_and_quantised():
    torch.manual_seed(0)
    hp = {"workers": 2, "inner_steps": 4, "fragments": 2, "overlap": 1, "quantize": "fp4_e3m0"}
    model, hooks, _ = train("streaming_diloco", task(mlp(32)), 8, hp)
    sizes = [sum(hooks.anchor[i].numel() for i in f) for f in hooks.fragments]
    # fragment 0 syncs at steps 4, 8; fragment 1 at step 2, 6: four 4-bit all-reduces with K = 2
    assert hooks.communication_rounds == 4
    assert hooks.bytes_communicated == 2 * (2 * sizes[0] * 4 // 8) + 2 * (2 * sizes[1] * 4 // 8)
    assert hooks.peak_bytes_per_step == max(2 * s * 4 // 8 for s in sizes)
    assert sorted(i for f in hooks.fragments for i in f) == list(range(len(hooks.anchor)))


@pytest.mark.parametrize("name", ["diloco", "noloco", "streaming_diloco"])
def test_low_communication_methods_learn(name):
    torch.manual_seed(0)
    model, hooks, _ = train(name, task(mlp()), 100, {"inner_steps": 10, "lr": 3e-3})
    assert accuracy(model, hooks) > 0.8
    dp_bytes = 100 * 2 * 3 * sum(p.numel() for p in model.parameters()) * 4
    assert hooks.bytes_communicated < dp_bytes / 5


# --------------------------------------------------------------------------- N:M sparsity


def _groups_nonzero(w: torch.Tensor, m: int) -> torch.Tensor:
    return (w.reshape(w.shape[0], -1, m) != 0).sum(-1)


@pytest.mark.parametrize("recipe", ["sr_ste", "mdgf", "sdgf"])
@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (1, 8)])
def test_nm_masks_are_nm_and_stay_so_after_optimizer_steps(recipe, n, m):
    torch.manual_seed(0)
    hp = {"n": n, "m": m, "recipe": recipe, "decay_end": 0.5, "lr": 1e-2}
    model, hooks, _ = train("nm_sparsity", task(mlp(64)), 12, hp)
    assert len(hooks.layers) == 2
    for layer in hooks.layers:
        assert torch.all(_groups_nonzero(layer.sparse_weight(), m) == n)
        assert layer.beta == 0.0 and layer.current_n == n  # decay finished at progress 0.5
    x = torch.rand(5, 8, 8)
    with torch.no_grad():  # evaluation runs the N:M weights
        h = x.flatten(1)
        ref = torch.relu(h @ hooks.layers[0].sparse_weight().T + hooks.layers[0].bias)
        ref = torch.relu(ref @ hooks.layers[1].sparse_weight().T + hooks.layers[1].bias)
        ref = model[5](ref)
        assert torch.allclose(model(x), ref, atol=1e-6)


def test_sr_ste_and_mdgf_gradients_match_their_definitions():
    from implementations.methods.nm_sparsity import NMLinear, nm_mask

    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 3).double()
    x, target = torch.randn(4, 8, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    mask = nm_mask(lin.weight, 2, 4)
    assert torch.all(mask.reshape(3, 2, 4).sum(-1) == 2)
    kept = lin.weight.detach().abs() * mask
    assert torch.all(kept.reshape(3, 2, 4).amax(-1) == lin.weight.detach().abs().reshape(3, 2, 4).amax(-1))
    for recipe, beta in (("sr_ste", 0.0), ("mdgf", 0.3)):
        layer = NMLinear(lin, 2, 4, recipe, sr_lambda=0.5)
        layer.beta = beta
        layer.weight.grad = None
        ((layer(x) - target) ** 2).sum().backward()
        w = lin.weight.detach()
        s = mask if recipe == "sr_ste" else mask + beta * (1 - mask)
        g_eff = 2 * ((x @ (w * s).T + lin.bias.detach() - target).T @ x)  # dL/dW~ in closed form
        expect = g_eff + 0.5 * (1 - mask) * w if recipe == "sr_ste" else g_eff * s
        assert torch.allclose(layer.weight.grad, expect, atol=1e-10)


def test_nm_flops_count_sparse_forward_and_dense_weight_gradient():
    from implementations.methods.nm_sparsity import flops_per_example, sparsify

    model = mlp(64)
    dense = flops_per_example(model)
    assert dense == 6 * (64 * 64 + 64 * 64 + 64 * 10)
    sparsify(model, 1, 8, "sr_ste", 0.0)
    assert flops_per_example(model) == 2 * (4 * 64 * 64 / 8 + 2 * 64 * 64) + 6 * 64 * 10


def test_nm_sparsity_learns():
    torch.manual_seed(0)
    model, hooks, _ = train("nm_sparsity", task(mlp()), 150, {"n": 2, "m": 4})
    assert accuracy(model, hooks) > 0.85


# --------------------------------------------------------------------------- Monarch


def _permutation(index_of_source: list[int]) -> torch.Tensor:
    """P with (P v)[g] = v[index_of_source[g]]."""
    p = torch.zeros(len(index_of_source), len(index_of_source), dtype=torch.float64)
    p[torch.arange(len(index_of_source)), torch.tensor(index_of_source)] = 1.0
    return p


@pytest.mark.parametrize("n_in,n_out,b", [(16, 16, 4), (12, 24, 3), (32, 8, 4), (64, 128, 8)])
def test_monarch_layer_equals_its_dense_matrix(n_in, n_out, b):
    from implementations.methods.monarch import MonarchLinear

    torch.manual_seed(0)
    layer = MonarchLinear(n_in, n_out, b).double()
    q, s = n_in // b, n_out // b
    r = min(q, s)
    # M = P_out blockdiag(L) P blockdiag(R), from explicit permutation matrices
    P = _permutation([i * b + j for j in range(b) for i in range(r)])
    P_out = _permutation([(g % b) * s + g // b for g in range(b * s)])
    M = P_out @ torch.block_diag(*layer.L.detach()) @ P @ torch.block_diag(*layer.R.detach())
    x = torch.randn(5, n_in, dtype=torch.float64)
    assert torch.allclose(layer(x), x @ M.T + layer.bias, atol=1e-12)
    assert torch.allclose(layer.dense_matrix(), M, atol=1e-12)
    assert layer.R.numel() + layer.L.numel() < n_in * n_out or b == 1


def test_monarch_replaces_dense_layers_and_learns():
    from implementations.methods.monarch import MonarchLinear, flops_per_example

    torch.manual_seed(0)
    dense_flops = flops_per_example(mlp())
    model, hooks, _ = train("monarch", task(mlp()), 150, {"nblocks": 4})
    assert sum(isinstance(m, MonarchLinear) for m in model.modules()) == 2
    assert dense_flops == 6 * (64 * 64 * 2 + 64 * 10)
    assert flops_per_example(model) == 6 * (
        2 * (4 * 16 * 16 + 4 * 16 * 16) + 64 * 10
    )  # b (r q + s r) per layer
    assert accuracy(model, hooks) > 0.85


# --------------------------------------------------------------------------- number formats


def _round_float64(v: torch.Tensor, mant_bits: int, min_exp: int, max_val: float) -> torch.Tensor:
    """Reference IEEE-style rounding (nearest, ties to even, subnormals) computed in float64."""
    v = v.double()
    e = torch.floor(torch.log2(v.abs().clamp_min(2.0**-60))).clamp_min(min_exp)
    step = 2.0 ** (e - mant_bits)
    return (torch.round(v / step) * step).clamp(-max_val, max_val)


@pytest.mark.parametrize(
    "fmt,mant,min_exp,max_val", [("fp8_e4m3", 3, -6, 448.0), ("fp8_e5m2", 2, -14, 57344.0)]
)
def test_fp8_simulated_casts_match_a_float64_reference(fmt, mant, min_exp, max_val):
    from implementations.methods._formats import quantize

    torch.manual_seed(0)
    x = torch.randn(4096) * torch.logspace(-8, 2, 4096)  # many binades, subnormals after scaling
    scale = max_val / x.abs().max().double()
    expect = _round_float64(x.double() * scale, mant, min_exp, max_val) / scale
    got = quantize(x, fmt)
    assert torch.allclose(got.double(), expect.float().double(), rtol=1e-6, atol=0)
    assert got.abs().max() == x.abs().max()  # per-tensor scaling maps max|x| onto the largest value
    assert (got == 0).sum() > 0 and (got != 0).sum() > 1000  # underflow below the smallest subnormal


def test_fp4_e3m0_rounds_to_signed_powers_of_two():
    from implementations.methods._formats import quantize

    torch.manual_seed(0)
    x = torch.randn(1000)
    q = quantize(x, "fp4_e3m0") / x.abs().max()
    levels = torch.tensor([0.0] + [2.0**-k for k in range(7)])
    assert torch.all(torch.isin(q.abs(), levels))
    nearest = levels[(x.abs()[:, None] / x.abs().max() - levels).abs().argmin(1)]
    assert torch.allclose(q.abs(), nearest)


def _tiny_loss_task():
    from harness.train.workloads.base import Task

    model = torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False))
    x = torch.randn(16, 8)

    def loss(m, b):
        return 1e-9 * m(b[0]).float().pow(2).mean()

    return Task(
        model=model,
        groups={"matrix": list(model.parameters())},
        loss=loss,
        batches=lambda s: iter(lambda: (x, None), None),
        evaluate=None,
        metric_name="",
        units_per_step=16,
        params=64,
        flops_per_unit=0.0,
        target=0.0,
        data_fingerprint="",
        architecture="",
    )


@pytest.mark.parametrize("loss_scale", ["dynamic", "none"])
def test_fp16_loss_scaling_recovers_gradients_that_underflow(loss_scale):
    from implementations.methods.low_precision import METHOD, native

    torch.manual_seed(0)
    t = _tiny_loss_task()
    w0 = t.model[0].weight.detach().clone()
    x = next(t.batches(0))[0]
    w = w0.double().requires_grad_()
    ref = torch.autograd.grad(1e-9 * (x.double() @ w.T).pow(2).mean(), w)[0]
    hooks = METHOD.hooks(
        **METHOD.hparams({"activations": "fp16", "loss_scale": loss_scale, "init_scale": 2.0**24})
    )
    model = hooks.setup(t.model, t)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    hooks.update(model, next(t.batches(0)), [opt], 0.0)
    grad = model[0].weight.grad.double()  # what the optimizer stepped with (unscaled)
    if loss_scale == "dynamic":
        assert torch.allclose(grad, ref, rtol=2e-2, atol=1e-14)  # fp16 rounding of the scaled gradient
        assert hooks.scaler.get_scale() == 2.0**24  # no overflow: the scale is kept
    else:
        assert torch.all(grad == 0)  # 1e-9-sized activation gradients vanish in fp16
    # fp16 autocast counts as real only where the hardware has fp16 arithmetic (not on an AVX2 CPU)
    assert hooks.simulated["activations"] is not native("fp16", torch.device("cpu"))


@pytest.mark.parametrize(
    "formats",
    [
        {"activations": "bf16"},
        {
            "weights": "fp8_e4m3",
            "activations": "fp8_e4m3",
            "gradients": "fp8_e5m2",
            "optimizer_state": "bf16",
        },
    ],
)
def test_low_precision_training_keeps_loss_parity(formats):
    torch.manual_seed(0)
    model, hooks, _ = train("low_precision", task(mlp()), 150, formats)
    assert accuracy(model, hooks) > 0.85
    assert hooks.simulated["weights"] == (formats.get("weights", "fp32") != "fp32")


# --------------------------------------------------------------------------- multigrid


def test_multigrid_shapes_keep_the_step_cost_and_end_at_full_size():
    from tests.methods_support import cnn

    torch.manual_seed(0)
    t = task(cnn(), arch="cnn")
    method = __import__("harness.contracts.registry", fromlist=["get"]).get("method", "multigrid")
    hooks = method.hooks(**method.hparams({}))
    model = hooks.setup(t.model, t)
    seen = {}
    for step in range(100):
        x, y = hooks.batch(next(t.batches(step)), step / 100)
        assert len(x) == len(y) == hooks.units_last_step
        seen[x.shape[-1]] = len(x)
        assert hooks.lr_factor == len(x) / 64  # the linear scaling rule: lr follows the batch
        assert model(x).shape == (len(x), 10)
        if step >= 80:
            assert x.shape[-1] == 8 and len(x) == 64  # final phase at the full shape
    assert seen == {4: 256, 6: 128, 8: 64}
    costs = [size * size * n for size, n in seen.items()]
    assert max(costs) / min(costs) < 1.2  # batch x pixels about constant


def test_multigrid_model_is_unchanged_at_full_resolution():
    from implementations.methods.multigrid import resolution_agnostic
    from tests.methods_support import cnn

    torch.manual_seed(0)
    model = cnn()
    x = torch.rand(7, 8, 8)
    agnostic = resolution_agnostic(model, x[:2])
    assert torch.allclose(agnostic(x), model(x), atol=1e-6)
    assert {id(p) for p in agnostic.parameters()} == {id(p) for p in model.parameters()}


def test_multigrid_sequences_keep_every_token():
    from implementations.methods.multigrid import Multigrid

    hooks = Multigrid(cycles=1, final_fraction=0.2, seed=0, lr_scaling="linear")
    hooks.tokens = True
    x = torch.arange(4 * 16).reshape(4, 16)
    sx, sy = hooks.batch((x, x + 1), 0.0)
    assert sx.shape == (8, 8) and torch.equal(sx.flatten(), x.flatten()) and torch.equal(sy, sx + 1)
    assert hooks.lr_factor == 2.0
    assert hooks.batch((x, x), 0.9)[0].shape == (4, 16) and hooks.lr_factor == 1.0
    unscaled = Multigrid(cycles=1, final_fraction=0.2, seed=0, lr_scaling="none")
    unscaled.tokens = True
    unscaled.batch((x, x), 0.0)
    assert unscaled.lr_factor == 1.0


def test_the_trainer_multiplies_the_schedule_by_the_methods_lr_factor(monkeypatch):
    from harness.contracts import registry
    from harness.contracts.interface import TrainingHooks, TrainingMethod
    from harness.spec import Trial
    from harness.train import trainer

    seen = []

    class Halve(TrainingHooks):
        lr_factor = 0.5

        def update(self, model, batch, optimizers, progress):
            seen.append(optimizers[0].param_groups[0]["lr"])
            return torch.tensor(1.0)

    fake = TrainingMethod(hooks=Halve, defaults={}, search_space={}, citation="test", name="halve")
    real_get = registry.get
    monkeypatch.setattr(registry, "get", lambda kind, name: fake if name == "halve" else real_get(kind, name))
    trial = Trial(suite="t", workload="quadratic", scale="small", budget_multiple=0.01, budget_tokens=64,
                          method="halve", kind="method", optimizer="sgd", schedule="constant",
                          training_method="halve", hparams={"lr": 0.1}, seed=0, evals=1, warmup_steps=0,
                          codecarbon=False)
    trainer.run_trial(trial)
    assert seen and all(lr == pytest.approx(0.05) for lr in seen)



def test_multigrid_learns():
    from tests.methods_support import cnn

    torch.manual_seed(0)
    model, hooks, _ = train("multigrid", task(cnn(), arch="cnn"), 100, {"lr": 1e-2})
    assert accuracy(model, hooks) > 0.85


# --------------------------------------------------------------------------- registry

ISSUE_METHODS = (
    "backprop",
    "forward_forward",
    "mono_forward",
    "cascaded_forward",
    "noprop",
    "low_precision",
    "nm_sparsity",
    "monarch",
    "multigrid",
    "data_parallel",
    "diloco",
    "noloco",
    "streaming_diloco",
)


@pytest.mark.parametrize("name", ISSUE_METHODS)
def test_method_registers_with_its_declared_hyperparameters(name):
    from harness.contracts import registry
    from harness.contracts.interface import TrainingMethod

    method = registry.get("method", name)
    assert isinstance(method, TrainingMethod) and method.citation
    assert set(method.search_space) <= set(method.defaults)
    assert all(c.baseline and c.source and c.quote for c in method.claims)
