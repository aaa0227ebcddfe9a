"""Low-precision training with a format per component: weights, activations, gradients, optimizer state.

One step, with an fp32 master copy of the weights:

    w_q = Q_w(w)                               (the forward/backward see w_q; simulated cast)
    loss = L(f_{w_q}(x)) under autocast(A)      (A = bf16/fp16: real mixed precision; fp8: outputs of every
                                                 Linear/Conv2d cast by Q_A, simulated, straight-through)
    g = Q_g(d(s loss)/dw_q)                     (s: loss scale, dynamic via torch.amp.GradScaler for fp16)
    w <- opt(w, g / s);   state <- Q_s(state)   (skipped when g / s is not finite; s adapts)

Q_fmt rounds to the format and back (``_formats.quantize``): bf16/fp16 exactly, fp8 e4m3/e5m2
with per-tensor scaling (max|x| -> the format's largest value), fp4_e3m0 arithmetically.
``simulated`` says, per component, whether the format is only simulated (values rounded, compute
in fp32, or autocast on hardware without native arithmetic of the format, ``native``) or real: speed
differences are real only for the latter.

Args:
    weights, activations, gradients, optimizer_state: a format each (fp32, bf16, fp16, fp8_e4m3,
        fp8_e5m2; weights/gradients/optimizer_state also fp4_e3m0).
    loss_scale: ``dynamic`` (GradScaler, used when activations are fp16) or ``none``.
    init_scale: the initial loss scale.

References:
    Micikevicius et al., "Mixed Precision Training", ICLR 2018 (loss scaling, fp32 master weights).
    Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433, 2022.
    Hao et al., "Low-Precision Training of Large Language Models: Methods, Challenges, and
    Opportunities", arXiv:2505.01043, 2025.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from harness.contracts.interface import TrainingHooks, TrainingMethod, claim_table
from implementations.methods._formats import quantize

AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}
COMPONENTS = ("weights", "activations", "gradients", "optimizer_state")


def native(fmt: str, device: torch.device) -> bool:
    """Whether autocast in ``fmt`` runs on hardware arithmetic of that format (else its speed is not real):
    CUDA bf16 where ``torch.cuda.is_bf16_supported()``, CUDA fp16 always; CPU bf16/fp16 only with
    oneDNN's native support (AVX512-BF16/FP16 or AMX), not on AVX2, where they are emulated."""
    if fmt not in AUTOCAST:
        return False
    if device.type == "cuda":
        return fmt == "fp16" or torch.cuda.is_bf16_supported()
    mkldnn = torch.ops.mkldnn
    supported = mkldnn._is_mkldnn_bf16_supported if fmt == "bf16" else mkldnn._is_mkldnn_fp16_supported
    return device.type == "cpu" and bool(supported())


class LowPrecision(TrainingHooks):
    def setup(self, model, workload):
        self.loss = workload.loss
        hp = self.hp
        device = next(model.parameters()).device
        self.simulated = {
            c: hp[c] != "fp32" and not (c == "activations" and native(hp[c], device)) for c in COMPONENTS
        }
        if hp["activations"] not in AUTOCAST and hp["activations"] != "fp32":
            fmt = hp["activations"]
            for layer in model.modules():
                if isinstance(layer, nn.Linear | nn.Conv2d):
                    layer.register_forward_hook(
                        lambda mod, inp, out: out + (quantize(out.detach(), fmt) - out.detach())
                    )
        self.scaler = None
        return model

    def update(self, model, batch, optimizers, progress):
        hp = self.hp
        params = [p for p in model.parameters() if p.requires_grad]
        device = params[0].device
        if self.scaler is None and hp["activations"] == "fp16" and hp["loss_scale"] == "dynamic":
            self.scaler = torch.amp.GradScaler(device.type, init_scale=hp["init_scale"])
        masters = None
        if hp["weights"] != "fp32":
            with torch.no_grad():
                masters = [p.detach().clone() for p in params]
                for p in params:
                    p.copy_(quantize(p, hp["weights"]))
        dtype = AUTOCAST.get(hp["activations"])
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            loss = self.loss(model, batch)
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        (self.scaler.scale(loss) if self.scaler else loss).backward()
        with torch.no_grad():
            if masters is not None:
                for p, m in zip(params, masters, strict=False):
                    p.copy_(m)
            for p in params:
                if p.grad is not None:
                    p.grad.copy_(quantize(p.grad, hp["gradients"]))
        for opt in optimizers:
            if self.scaler:
                self.scaler.unscale_(opt)
                self.scaler.step(opt)
            else:
                opt.step()
        if self.scaler:
            self.scaler.update()
        if hp["optimizer_state"] != "fp32":
            self.quantize_state(optimizers)
        return loss.detach().float()

    @torch.no_grad()
    def quantize_state(self, optimizers) -> None:
        for opt in optimizers:
            for state in opt.state.values():
                for _key, v in state.items():
                    if torch.is_tensor(v) and v.is_floating_point() and v.ndim > 0:
                        v.copy_(quantize(v, self.hp["optimizer_state"]))


FORMATS_ALL = ("fp32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "fp4_e3m0")
FORMATS_ACT = ("fp32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2")
CLAIMS = claim_table(
    [dict(factor=1.72, metric="time", baseline="backprop", form="up_to")],
    quote="up to 1.72x faster than the FP32 baseline",
    setting="one convolutional training step, FP16 on a RISC-V microcontroller (real, not simulated, formats only)",
    source="FP16 on-device training on a RISC-V MCU (CLAIMS.md, precision suite)",
    suite="precision",
)

METHOD = TrainingMethod(
    hooks=LowPrecision,
    defaults={
        "weights": "fp32",
        "activations": "bf16",
        "gradients": "fp32",
        "optimizer_state": "fp32",
        "loss_scale": "dynamic",
        "init_scale": 2.0**16,
    },
    search_space={},  # formats are the subject of the study (set per trial), not tuned
    citation="Micikevicius et al., Mixed Precision Training, ICLR 2018; FP8 Formats for Deep Learning, "
    "arXiv:2209.05433",
    summary="Per-component formats (bf16/fp16 autocast real; fp8/fp4 casts simulated); fp16 loss scaling.",
    claims=CLAIMS,
)
