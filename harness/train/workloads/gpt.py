"""gpt: a decoder-only transformer language model over bytes (or GPT-2 tokens from shards).

Default corpus: the Python standard library's own source files on this machine — real text that
every machine has, offline; its sha256 fingerprint goes into every row. ``data.path=DIR`` reads
nanoGPT (raw uint16 ``train.bin``/``val.bin``) or modded-nanogpt (256 x int32 header, magic
20240520, then uint16 tokens) shards instead.

FLOPs per token: 6 N (non-embedding parameters) + 6 n_layer ctx d_model (causal attention,
forward + backward, PaLM appendix B convention).
"""

from __future__ import annotations

import hashlib
import math
import sysconfig
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.train import flops
from harness.train.workloads.base import Task, split_roles

UNIT = "tokens"
# d_model, n_layer, n_head, ctx, batch (sequences), val loss target (bits/byte-ish level reached at 1x)
SCALES = {
    "nano": dict(d_model=32, n_layer=2, n_head=2, ctx=64, batch=16, target=2.6),
    "micro": dict(d_model=48, n_layer=3, n_head=4, ctx=64, batch=16, target=2.4),
    "mini": dict(d_model=128, n_layer=4, n_head=4, ctx=128, batch=16, target=1.8),
    "small": dict(d_model=256, n_layer=6, n_head=8, ctx=256, batch=32, target=1.4),
    "gpt2-124m": dict(d_model=768, n_layer=12, n_head=12, ctx=1024, batch=32, target=1.0),
}
CORPUS_BYTES = 8_000_000
VAL_FRACTION = 0.05
EVAL_BATCHES = 8
SHARD_MAGIC = 20240520


class Block(nn.Module):
    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.n_head, d // self.n_head).transpose(1, 3).unbind(2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    """Token + position embeddings, pre-LN blocks, final LayerNorm, untied head."""

    def __init__(self, vocab: int, d_model: int, n_layer: int, n_head: int, ctx: int) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d_model), nn.Embedding(ctx, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head) for _ in range(n_layer))
        self.ln_f, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.ndim >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("proj.weight", "out.weight")) else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


# --------------------------------------------------------------------------- data


@cache
def stdlib_corpus(limit: int = CORPUS_BYTES) -> np.ndarray:
    """The first ``limit`` bytes of the standard library's ``.py`` files, sorted by path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    chunks, size = [], 0
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        data = path.read_bytes()
        chunks.append(data)
        size += len(data)
        if size >= limit:
            break
    return np.frombuffer(b"".join(chunks)[:limit], dtype=np.uint8).astype(np.uint16)


def read_shard(path: Path) -> np.ndarray:
    """uint16 tokens of one shard: modded-nanogpt (with header) or nanoGPT (raw) format."""
    header = np.fromfile(path, dtype=np.int32, count=256)
    if header.size == 256 and header[0] == SHARD_MAGIC:
        if header[1] != 1:
            raise ValueError(f"{path}: unsupported shard version {header[1]}")
        tokens = np.memmap(path, dtype=np.uint16, mode="r", offset=256 * 4, shape=(int(header[2]),))
    else:
        tokens = np.memmap(path, dtype=np.uint16, mode="r")
    return np.asarray(tokens)


def shards(path: str, pattern: str) -> list[Path]:
    """The shards of ``path`` that match ``pattern``, sorted; ``ValueError`` for one that is not a regular file
    (reading a FIFO or a device would wait forever, or never end)."""
    found = sorted(Path(path).glob(pattern))
    for f in found:
        if not f.is_file():
            raise ValueError(f"data.path={path}: {f.name} is not a regular file (a FIFO, a device or a folder)")
    return found


def check_data(data: dict | None) -> None:
    """``data.path``, when given, is a folder of ``*train*.bin`` and ``*val*.bin`` shards, regular files (checked
    before any trial)."""
    path = (data or {}).get("path")
    if path and not (Path(path).is_dir() and shards(path, "*train*.bin") and shards(path, "*val*.bin")):
        raise ValueError(f"data.path={path}: needs a folder with *train*.bin and *val*.bin shards")


def load_tokens(path: str | None) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(train tokens, val tokens, vocab size, fingerprint), read and hashed once per process while the shards'
    names, sizes and mtimes stay the same (the arrays are shared, read-only)."""
    stamp = tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in shards(path, "*.bin")) if path else ()
    return _load_tokens(path or None, stamp)


@cache
def _load_tokens(path: str | None, stamp: tuple) -> tuple[np.ndarray, np.ndarray, int, str]:
    if not path:
        corpus = stdlib_corpus()
        n_val = int(len(corpus) * VAL_FRACTION)
        digest = hashlib.sha256(corpus.tobytes()).hexdigest()[:16]
        corpus.flags.writeable = False  # shared by every build of this process
        return corpus[:-n_val], corpus[-n_val:], 256, f"stdlib-py{sysconfig.get_python_version()}-{digest}"
    train_files, val_files = shards(path, "*train*.bin"), shards(path, "*val*.bin")
    if not train_files or not val_files:
        raise FileNotFoundError(f"data.path={path}: needs *train*.bin and *val*.bin shards")
    train = np.concatenate([read_shard(f) for f in train_files])
    val = np.concatenate([read_shard(f) for f in val_files])
    digest = hashlib.sha256()
    for f in train_files + val_files:
        digest.update(f.read_bytes())
    vocab = 50304 if max(int(train.max()), int(val.max())) >= 256 else 256
    train.flags.writeable = val.flags.writeable = False  # shared by every build of this process
    return train, val, vocab, f"shards-{digest.hexdigest()[:16]}"


def _windows(tokens: np.ndarray, starts: np.ndarray, ctx: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = starts[:, None] + np.arange(ctx + 1)[None, :]
    chunk = torch.from_numpy(tokens[idx].astype(np.int64))
    return chunk[:, :-1], chunk[:, 1:]


# --------------------------------------------------------------------------- build


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    tokens = load_tokens((data or {}).get("path"))
    vocab = tokens[2]
    torch.manual_seed(seed)
    model = GPT(vocab, cfg["d_model"], cfg["n_layer"], cfg["n_head"], cfg["ctx"])
    flops_per_token = flops.gpt_flops_per_token(cfg["n_layer"], cfg["d_model"], cfg["ctx"], vocab)
    return language_task(model, cfg, tokens, data, roles=dict(embedding=("tok.", "pos."), head=("head.",)),
                         flops_per_unit=flops_per_token, architecture="gpt")


def language_task(model: nn.Module, cfg: dict, tokens: tuple, data: dict | None, *, roles: dict,
                  flops_per_unit: float, architecture: str) -> Task:
    """The Task of a next-token ``model`` on ``tokens`` (``load_tokens``'s), shared by the language workloads.

    Loss: mean cross-entropy of every position's next token. Batches: ``batch`` (``cfg``'s, or ``data.batch_size``)
    windows of ``cfg["ctx"]`` + 1 tokens at uniform random starts in the training tokens, endless. Evaluation: a
    fixed set of ``EVAL_BATCHES`` such batches of the held-out tokens (starts from seed 12345), the mean loss and
    loss / ln 2 (bits per token: per byte on the default corpus). Chance: ln V. Parameters by role with
    ``split_roles(model, **roles)``.
    """
    train, val, vocab, fingerprint = tokens
    ctx, batch = cfg["ctx"], int((data or {}).get("batch_size") or cfg["batch"])

    def loss(m: nn.Module, b) -> torch.Tensor:
        x, y = b
        return F.cross_entropy(m(x).flatten(0, 1), y.flatten())

    def sampled_loss(m: nn.Module, b) -> torch.Tensor:
        logits = m(b[0]).flatten(0, 1)
        with torch.no_grad():
            y = torch.multinomial(F.softmax(logits.float(), -1), 1).squeeze(-1)
        return F.cross_entropy(logits, y, reduction="none")

    def batches(batch_seed: int):
        rng = np.random.default_rng(batch_seed)
        while True:
            yield _windows(train, rng.integers(0, len(train) - ctx - 1, size=batch), ctx)

    eval_rng = np.random.default_rng(12345)
    eval_set = [_windows(val, eval_rng.integers(0, len(val) - ctx - 1, size=batch), ctx) for _ in range(EVAL_BATCHES)]

    @torch.no_grad()
    def evaluate(m: nn.Module) -> tuple[float, float]:
        device = next(m.parameters()).device
        total = sum(loss(m, (x.to(device), y.to(device))).item() for x, y in eval_set) / len(eval_set)
        return total, total / math.log(2)  # metric: bits per token (per byte on the default corpus)

    n_params = sum(p.numel() for p in model.parameters())
    return Task(
        model=model,
        groups=split_roles(model, **roles),
        loss=loss,
        sampled_loss=sampled_loss,
        batches=batches,
        evaluate=evaluate,
        metric_name="bits_per_token",
        units_per_step=batch * ctx,
        params=n_params,
        flops_per_unit=flops_per_unit,
        target=cfg["target"],
        chance_loss=math.log(vocab),
        data_fingerprint=fingerprint,
        architecture=architecture,
    )
