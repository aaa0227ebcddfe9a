"""Analytic training FLOPs (forward + backward), counted as 2 FLOPs per multiply-accumulate.

Matmuls only: norms, activations, softmax, the optimizer update and embedding lookups are left out
(each is O(d) per token against O(d^2) for the matmuls). A matmul's backward costs twice its forward
(gradients for its input and its weight), except that nothing computes the gradient of the data:
the first layer of an MLP/CNN costs 2x its forward, not 3x.

GPT, per token (Kaplan et al. 2020 Sec. 2.1; PaLM, Chowdhery et al. 2022, Appendix B):

    C = 6 N + 12 L d T      full attention (PaLM's 6N + 12 L H Q T with H Q = d; H heads of size Q)
    C = 6 N + 6 L d T       causal attention, the convention used here by default: the masked half
                            of QK^T and AV is not useful work (Kaplan's 2 n_layer n_ctx d_attn forward)

with N the parameters that multiply activations (attention and MLP matrices and the output head; not
the embedding tables), L layers, width d, context T. Dense attention kernels (SDPA, FlashAttention)
still do some masked work; ``torch.utils.flop_counter.FlopCounterMode`` counts the full-attention
figure, and ``causal=False`` reproduces it exactly (tests/test_measure.py).

A gated (SwiGLU) MLP has three d x d_ff matrices (gate, up, down) where GPT's has two, so for the ``lm``
workload N = L (4 d^2 + 3 d d_ff) + d V (``lm_matmul_params``: Marin's ``calculate_param`` in
github.com/marin-community/marin ``marin/optimizer_sweep/models.py``, plus the head), with the same
attention term (tests/test_lm.py checks it against FlopCounterMode).

References:
    Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1.
    Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022, Appendix B.
    Hoffmann et al., "Training Compute-Optimal Large Language Models", 2022, Appendix F.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def gpt_matmul_params(n_layer: int, d_model: int, vocab: int, d_ff: int | None = None) -> int:
    """N: weights of the q, k, v, output projections (4 d^2), the MLP (2 d d_ff) and the head (d V)."""
    d_ff = 4 * d_model if d_ff is None else d_ff
    return n_layer * (4 * d_model * d_model + 2 * d_model * d_ff) + d_model * vocab


def attention_flops_per_token(n_layer: int, ctx: int, d_model: int, causal: bool = True) -> float:
    """QK^T and AV, forward + backward: 12 L d T per token, half of it with a causal mask."""
    return (6.0 if causal else 12.0) * n_layer * ctx * d_model


def gpt_flops_per_token(
    n_layer: int, d_model: int, ctx: int, vocab: int, d_ff: int | None = None, causal: bool = True
) -> float:
    """Training FLOPs per token of a GPT: 6 N + attention (module docstring).

    Args:
        n_layer: transformer blocks L.
        d_model: residual width d (= heads x head size).
        ctx: sequence length T the model is trained at.
        vocab: output vocabulary V (the head is a d x V matmul, tied to the embedding or not).
        d_ff: MLP hidden width (default 4 d).
        causal: count only the unmasked half of attention.
    """
    return 6.0 * gpt_matmul_params(n_layer, d_model, vocab, d_ff) + attention_flops_per_token(
        n_layer, ctx, d_model, causal
    )


def lm_matmul_params(n_layer: int, d_model: int, vocab: int, d_ff: int) -> int:
    """N of a gated-MLP LM: q, k, v, o (4 d^2), the MLP's gate, up and down (3 d d_ff) and the head (d V)."""
    return n_layer * (4 * d_model * d_model + 3 * d_model * d_ff) + d_model * vocab


def lm_flops_per_token(n_layer: int, d_model: int, ctx: int, vocab: int, d_ff: int, causal: bool = True) -> float:
    """Training FLOPs per token of a gated-MLP LM (the ``lm`` workload): 6 N + attention, N = ``lm_matmul_params``.

    RMSNorm, QK-norm, the rotary rotation and the gate's elementwise product are O(d) per token and left out,
    like GPT's LayerNorm and GELU.
    """
    return 6.0 * lm_matmul_params(n_layer, d_model, vocab, d_ff) + attention_flops_per_token(
        n_layer, ctx, d_model, causal
    )


def linear_flops(d_in: int, d_out: int) -> float:
    """Forward FLOPs of one example through a d_in x d_out linear layer (bias ignored): 2 d_in d_out."""
    return 2.0 * d_in * d_out


def conv2d_flops(c_in: int, c_out: int, kernel: int | tuple[int, int], h_out: int, w_out: int,
                 groups: int = 1) -> float:
    """Forward FLOPs of one example through a conv layer: 2 (c_in / groups) k_h k_w c_out h_out w_out."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return 2.0 * (c_in // groups) * kh * kw * c_out * h_out * w_out


def training_flops(forward_by_layer: Sequence[float]) -> float:
    """Forward + backward of a chain of layers whose input needs no gradient: 3 sum(f) - f_first."""
    return 3.0 * sum(forward_by_layer) - (forward_by_layer[0] if forward_by_layer else 0.0)


def mlp_flops_per_example(sizes: Sequence[int]) -> float:
    """Training FLOPs per example of an MLP with layer widths ``sizes`` (input, hidden..., output)."""
    return training_flops([linear_flops(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)])


def counted_training_flops(step: Callable[[], torch.Tensor]) -> int:
    """FLOPs PyTorch's FlopCounterMode counts for ``step()`` (forward, returning a loss) + backward.

    A cross-check for a workload's analytic ``flops_per_unit``; it runs the computation (gradients
    accumulate into the model: zero them afterwards).
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step().backward()
    return int(counter.get_total_flops())
