"""The ``lm`` workload (RMSNorm, RoPE, QK-norm, SwiGLU, no biases, untied head) against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from harness.contracts.registry import available
from harness.spec import Trial
from harness.train import flops
from harness.train.trainer import run_trial
from harness.train.workloads import gpt, lm, scale_names

F64 = torch.float64


def hand_count(vocab: int, d: int, layers: int, heads: int) -> int:
    """P = 2 V d + L (4 d^2 + 3 d d_ff + 2 d + 2 h) + d with d_ff = 4 d, h = d / heads: token table and head (V d
    each); per block q, k, v, o (d^2 each), gate, up, down (d d_ff each), two RMSNorm gains (d each) and the q and k
    norms' gains (h each); the final gain (d)."""
    d_ff, h = 4 * d, d // heads
    return 2 * vocab * d + layers * (4 * d * d + 3 * d * d_ff + 2 * d + 2 * h) + d


def tiny(vocab=11, d=8, layers=2, heads=2, seed=0) -> lm.LM:
    """A float64 model with random gains (so that a gain applied in the wrong place shows)."""
    torch.manual_seed(seed)
    model = lm.LM(vocab, d, layers, heads).double()
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 1:
                p.copy_(1 + 0.5 * torch.randn_like(p))
    return model


def logit(q: torch.Tensor, k: torch.Tensor, i: int, j: int) -> float:
    """<R_i q, R_j k>: q rotated as at position i, k as at position j (one head)."""
    hd = q.numel()

    def at(x, p):
        cos, sin = lm.rope_tables(torch.tensor([p]), hd, F64)
        return lm.rotate(x.view(1, 1, hd), cos, sin).flatten()

    return float(at(q, i) @ at(k, j))


def test_rope_logit_depends_only_on_the_offset():
    torch.manual_seed(0)
    q, k = torch.randn(8, dtype=F64), torch.randn(8, dtype=F64)
    for i, j in [(0, 0), (5, 2), (2, 5), (17, 3), (63, 0)]:
        ref = logit(q, k, i, j)
        for shift in (1, 7, 100, 1000):  # shifting both positions leaves the logit as it was
            assert logit(q, k, i + shift, j + shift) == pytest.approx(ref, abs=1e-12)
        assert logit(q, k, max(i - j, 0), max(j - i, 0)) == pytest.approx(ref, abs=1e-12)  # only i - j counts
    assert logit(q, k, 3, 0) != pytest.approx(logit(q, k, 0, 0), abs=1e-6)  # the offset does matter
    cos, sin = lm.rope_tables(torch.arange(4), 8, F64)
    x = torch.randn(4, 1, 8, dtype=F64)
    assert torch.allclose(lm.rotate(x, cos, sin).norm(dim=-1), x.norm(dim=-1))  # a rotation
    assert torch.equal(lm.rotate(x, cos, sin)[0], x[0])  # position 0: the identity
    # pair (0, 4) at position 1 turns by 1 radian, pair (1, 5) by 10000^(-1/4) radians
    e = torch.zeros(1, 1, 8, dtype=F64)
    e[..., 1] = 1
    turned = lm.rotate(e, *lm.rope_tables(torch.tensor([1]), 8, F64)).flatten()
    a = 10000 ** -0.25
    assert turned[1].item() == pytest.approx(math.cos(a)) and turned[5].item() == pytest.approx(math.sin(a))


@pytest.mark.parametrize("scale", list(lm.SCALES))
def test_parameter_counts_by_hand(scale):
    cfg = lm.SCALES[scale]
    with torch.device("meta"):
        model = lm.LM(256, cfg["d_model"], cfg["n_layer"], cfg["n_head"])
    assert sum(p.numel() for p in model.parameters()) == hand_count(256, cfg["d_model"], cfg["n_layer"],
                                                                    cfg["n_head"])


def test_parameter_counts_of_the_cpu_scales():
    # nano: 2*256*32 + 2*(16*32^2 + 2*32 + 2*16) + 32 = 16384 + 32960 + 32
    assert hand_count(256, 32, 2, 2) == lm.build("nano", 0).params == 49_376
    assert hand_count(256, 48, 3, 4) == 24_576 + 3 * (36_864 + 96 + 24) + 48 == 135_576
    assert hand_count(256, 64, 3, 4) == lm.build("milli", 0).params == 32_768 + 3 * (65_536 + 128 + 32) + 64 == 229_920


def reference_logits(model: lm.LM, idx: torch.Tensor) -> torch.Tensor:
    """The forward pass written out step by step (float64): embedding -> per block [RMSNorm -> q, k, v -> QK-norm
    (RMSNorm per head, with gains) -> RoPE -> causal softmax attention -> o -> residual; RMSNorm -> SwiGLU ->
    residual] -> RMSNorm -> head."""
    b, t = idx.shape
    d = model.tok.weight.shape[1]
    heads = model.blocks[0].n_head
    hd = d // heads

    def rms(z, gain=None):
        z = z / torch.sqrt((z * z).mean(-1, keepdim=True) + lm.EPS)
        return z if gain is None else z * gain

    angle = torch.tensor([[p * 10000.0 ** (-2 * i / hd) for i in range(hd // 2)] for p in range(t)], dtype=F64)
    cos, sin = angle.cos()[:, None, :], angle.sin()[:, None, :]

    def rope(z):  # z (b, t, heads, hd): pair (z_i, z_{i + hd/2}) turned by angle[position, i]
        lo, hi = z[..., : hd // 2], z[..., hd // 2 :]
        return torch.cat([lo * cos - hi * sin, lo * sin + hi * cos], -1)

    x = model.tok.weight[idx]
    future = torch.ones(t, t).triu(1).bool()
    for blk in model.blocks:
        h = rms(x, blk.norm1.weight)
        q, k, v = ((h @ w.weight.T).view(b, t, heads, hd) for w in (blk.q, blk.k, blk.v))
        q, k = rope(rms(q, blk.q_norm.weight)), rope(rms(k, blk.k_norm.weight))
        scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(hd)
        att = torch.softmax(scores.masked_fill(future, -math.inf), dim=-1)
        y = torch.einsum("bhij,bjhd->bihd", att, v).reshape(b, t, d)
        x = x + y @ blk.o.weight.T
        h = rms(x, blk.norm2.weight)
        g = h @ blk.gate.weight.T
        x = x + ((g / (1 + torch.exp(-g))) * (h @ blk.up.weight.T)) @ blk.down.weight.T
    return rms(x, model.norm.weight) @ model.head.weight.T


def test_forward_matches_the_step_by_step_reference_in_float64():
    model = tiny()
    idx = torch.randint(0, 11, (3, 6))
    out = model(idx)
    assert out.dtype == F64 and out.shape == (3, 6, 11)
    torch.testing.assert_close(out, reference_logits(model, idx), rtol=0, atol=1e-12)


def test_causal_masking():
    model = tiny()
    idx = torch.randint(0, 11, (2, 7))
    later = idx.clone()
    later[:, 4:] = (later[:, 4:] + 1) % 11  # change positions 4..6 only
    a, b = model(idx), model(later)
    torch.testing.assert_close(a[:, :4], b[:, :4], rtol=0, atol=1e-13)
    assert (a[:, 4:] - b[:, 4:]).abs().amax(-1).min() > 1e-6


def test_parameter_roles_follow_the_papers():
    """Muon/SOAP/Sophia take the 2-D block matrices; AdamW the token table, the head and the RMSNorm gains."""
    task = lm.build("micro", 0)
    model, names = task.model, {id(p): n for n, p in task.model.named_parameters()}
    roles = {role: sorted(names[id(p)] for p in ps) for role, ps in task.groups.items()}
    per_block = ("q", "k", "v", "o", "gate", "up", "down")
    assert roles["matrix"] == sorted(f"blocks.{i}.{w}.weight" for i in range(3) for w in per_block)
    assert roles["embedding"] == ["tok.weight"] and roles["head"] == ["head.weight"]
    gains = ("norm1", "norm2", "q_norm", "k_norm")
    assert roles["scalar"] == sorted([f"blocks.{i}.{g}.weight" for i in range(3) for g in gains] + ["norm.weight"])
    assert all(p.ndim == 2 for p in task.groups["matrix"]) and all(p.ndim == 1 for p in task.groups["scalar"])
    assert sorted(n for ns in roles.values() for n in ns) == sorted(n for n, _ in model.named_parameters())
    assert not any("bias" in n for n, _ in model.named_parameters())  # no biases
    assert model.head.weight.data_ptr() != model.tok.weight.data_ptr()  # untied
    assert task.extra["roles"] == lm.ROLES  # the same split after a training method rebuilds layers


def test_flops_per_token_by_hand_and_by_flop_counter():
    # L=2, d=8, V=16, d_ff=32: N = 2 (4*64 + 3*8*32) + 8*16 = 2176
    assert flops.lm_matmul_params(2, 8, 16, 32) == 2176
    assert flops.lm_flops_per_token(2, 8, 4, 16, 32) == 6 * 2176 + 6 * 2 * 4 * 8
    torch.manual_seed(0)
    model = lm.LM(16, 12, 2, 2)
    idx = torch.randint(0, 16, (5, 8))
    with sdpa_kernel(SDPBackend.MATH):  # attention as matmuls the counter sees (the full, unmasked square)
        counted = flops.counted_training_flops(lambda: F.cross_entropy(model(idx).flatten(0, 1), idx.flatten()))
    assert counted == 5 * 8 * flops.lm_flops_per_token(2, 12, 8, 16, 48, causal=False)
    cfg = lm.SCALES["nano"]
    assert lm.build("nano", 0).flops_per_unit == flops.lm_flops_per_token(2, 32, 64, 256, 128)
    assert cfg["d_model"] == 32 and cfg["n_layer"] == 2 and cfg["ctx"] == 64


def test_same_data_and_metric_as_gpt():
    a, b = lm.build("nano", 0), gpt.build("nano", 0)
    xa, ya = next(a.batches(3))
    xb, yb = next(b.batches(3))
    assert torch.equal(xa, xb) and torch.equal(ya, yb) and torch.equal(xa[:, 1:], ya[:, :-1])
    for field in ("metric_name", "units_per_step", "target", "chance_loss", "data_fingerprint"):
        assert getattr(a, field) == getattr(b, field), field
    assert a.architecture == "lm" and a.chance_loss == math.log(256)


def test_heads_must_split_the_width_into_rope_pairs():
    assert lm.LM(16, 30, 1, 5).head_dim == 6
    for heads in (4, 2):  # 30 / 4 is no head size; heads of 15 have no pairs
        with pytest.raises(ValueError, match="even size"):
            lm.LM(16, 30, 1, heads)


def test_smoke_training_loss_falls():
    """Two seconds of AdamW on nano: the training loss falls well below chance (ln 256 = 5.55)."""
    torch.manual_seed(0)
    task = lm.build("nano", 0)
    opt = torch.optim.AdamW(task.model.parameters(), lr=1e-2)
    batches, losses = task.batches(0), []
    for _ in range(40):
        loss = task.loss(task.model, next(batches))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(256), abs=0.1)
    assert sum(losses[-5:]) / 5 < losses[0] - 2.0
    assert task.evaluate(task.model)[0] < losses[0] - 2.0


@pytest.mark.parametrize("optimizer", sorted(available("optimizer")))
def test_every_optimizer_trains_on_the_lm_groups(optimizer):
    """Each registered optimizer builds on the lm's roles and runs a few steps through the trainer."""
    trial = Trial(suite="t", workload="lm", scale="nano", budget_multiple=0.003, budget_tokens=3072, method=optimizer,
                  kind="optimizer", optimizer=optimizer, schedule="constant", training_method=None, hparams={},
                  seed=0, evals=1, warmup_steps=1, codecarbon=False)
    row = run_trial(trial)
    assert row["status"] == "ok", row.get("error")
    assert row["steps"] == 3 and math.isfinite(row["final_val_loss"])


def test_harness_ls_lists_the_lm_workload(cli):
    assert scale_names()["lm"] == list(lm.SCALES) == ["nano", "micro", "milli", "mini", "small", "gpt2-124m"]
    r = cli("ls", timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(s for s in r.stdout.splitlines() if s.split()[:1] == ["lm"])
    assert "nano, micro, milli, mini, small, gpt2-124m" in line
