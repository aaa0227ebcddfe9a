"""continual: a sequence of T shifted tasks on scikit-learn's digits, trained one after the other.

The budget is split into T equal segments; the training stream serves task k's examples while
``k/T <= progress < (k+1)/T`` (the trainer calls ``set_progress`` before each batch). Scales:

- ``permuted5`` (domain-incremental, Goodfellow et al. 2013): task 0 is the digits as they are,
  task k > 0 the same images under a fixed random pixel permutation; one 10-way head.
- ``split5`` (task-incremental split digits, Zenke et al. 2017): task k holds classes {2k, 2k+1};
  the loss and the accuracy of an example are taken over its own task's classes only (a multi-headed
  classifier sharing one output layer), so the task identity is given at test time.

Every evaluation scores all T tasks on their held-out examples (the stratified 80/20 split of
``digits``). ``final_val_loss`` / ``final_val_metric`` are the means over all T tasks at the end
(the latter is the average accuracy A_T of Chaudhry et al.); ``forgetting`` is their average
forgetting at the last task k:

    f_j = max_{l < k} a_{l,j} - a_{k,j}        F = mean_{j < k} f_j

where a_{l,j} is the accuracy on task j at the end of task l (the last evaluation made while the
stream served task l: with ``evals`` a multiple of T, exactly at the task boundary).
``task_metrics_json`` holds the a_{l,j} matrix, the final per-task accuracies and losses, and every
evaluation's per-task accuracies.

References:
    Chaudhry et al., "Riemannian Walk for Incremental Learning: Understanding Forgetting and
    Intransigence", ECCV 2018, arXiv:1801.10112 (average accuracy, forgetting);
    Goodfellow et al., "An Empirical Investigation of Catastrophic Forgetting in Gradient-Based
    Neural Networks", arXiv:1312.6211, 2013 (permuted tasks); Zenke et al., "Continual Learning
    Through Synaptic Intelligence", ICML 2017 (split tasks); van de Ven and Tolias, "Three Scenarios
    for Continual Learning", arXiv:1904.07734, 2019 (domain- vs task-incremental).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.train.workloads import digits
from harness.train.workloads.base import Task, classification, flops_per_example, mlp, split_roles

UNIT = "examples"
SCALES = {
    "permuted5": dict(scenario="permuted", tasks=5, hidden=128, batch=64, target=0.3),
    "split5": dict(scenario="split", tasks=5, hidden=128, batch=64, target=0.1),
}
PERMUTATION_SEED = 2018  # the task sequence is fixed data, the same for every trial seed


def task_data(scenario: str, tasks: int) -> list[dict[str, torch.Tensor]]:
    """Per task: x_train, y_train, x_val, y_val, and ``allowed`` (10 x 10 bool: the classes an
    example of class c is scored over)."""
    from sklearn.model_selection import train_test_split

    images, labels = digits.dataset()
    x_tr, x_va, y_tr, y_va = train_test_split(images, labels, test_size=0.2, stratify=labels, random_state=0)
    x_tr, x_va = x_tr.reshape(len(x_tr), -1), x_va.reshape(len(x_va), -1)
    out = []
    if scenario == "permuted":
        rng = np.random.default_rng(PERMUTATION_SEED)
        perms = [np.arange(64)] + [rng.permutation(64) for _ in range(tasks - 1)]
        for perm in perms:
            out.append(dict(x_train=x_tr[:, perm], y_train=y_tr, x_val=x_va[:, perm], y_val=y_va,
                            allowed=np.ones((10, 10), bool)))
    elif scenario == "split":
        if 10 % tasks:
            raise ValueError(f"split digits: {tasks} tasks do not divide the 10 classes")
        width = 10 // tasks
        allowed = np.equal.outer(np.arange(10) // width, np.arange(10) // width)
        for k in range(tasks):
            tr, va = y_tr // width == k, y_va // width == k
            out.append(dict(x_train=x_tr[tr], y_train=y_tr[tr], x_val=x_va[va], y_val=y_va[va], allowed=allowed))
    else:
        raise ValueError(f"unknown continual scenario {scenario!r}")
    return [{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in t.items()} for t in out]


def segment(progress: float, tasks: int) -> int:
    """The task the stream serves at ``progress``: k while k/T <= progress < (k+1)/T."""
    return min(int(progress * tasks), tasks - 1)


def masked_cross_entropy(logits: torch.Tensor, y: torch.Tensor, allowed: torch.Tensor, reduction: str = "mean"):
    """Cross-entropy of each example over the classes ``allowed[y]`` (all 10 when every entry is True)."""
    return F.cross_entropy(logits.masked_fill(~allowed[y], float("-inf")), y, reduction=reduction)


def forgetting(end_of_task: dict[int, list[float]]) -> float | None:
    """Average forgetting (Chaudhry et al. 2018) at the last task k present in ``end_of_task``
    (l -> accuracies a_{l,j} on every task j at the end of task l): mean over j < k of
    max_{l < k} a_{l,j} - a_{k,j}. None before a second task has been evaluated."""
    k = max(end_of_task, default=0)
    earlier = [a for task, a in end_of_task.items() if task < k]
    if not earlier:
        return None
    best = np.max(np.asarray(earlier, float), axis=0)
    return float(np.mean(best[:k] - np.asarray(end_of_task[k], float)[:k]))


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    n_tasks, batch = cfg["tasks"], int((data or {}).get("batch_size") or cfg["batch"])
    parts = task_data(cfg["scenario"], n_tasks)
    allowed = parts[0]["allowed"]
    torch.manual_seed(seed)
    model = mlp(64, cfg["hidden"])
    state = {"task": 0}
    history: dict = {"end_of_task": {}, "curve": []}

    def loss(m: nn.Module, b) -> torch.Tensor:
        return masked_cross_entropy(m(b[0]), b[1], allowed.to(b[1].device))

    def sampled_loss(m: nn.Module, b) -> torch.Tensor:
        logits = m(b[0]).masked_fill(~allowed.to(b[1].device)[b[1]], float("-inf"))
        with torch.no_grad():
            y = torch.multinomial(F.softmax(logits, -1), 1).squeeze(-1)
        return F.cross_entropy(logits, y, reduction="none")

    def set_progress(progress: float) -> None:
        state["task"] = segment(progress, n_tasks)

    def batches(batch_seed: int):
        streams = [classification(p["x_train"], p["y_train"], p["x_val"], p["y_val"], batch)["batches"](
            batch_seed * n_tasks + k) for k, p in enumerate(parts)]
        while True:
            yield next(streams[state["task"]])

    @torch.no_grad()
    def evaluate(m: nn.Module) -> tuple[float, float, dict]:
        device = next(m.parameters()).device
        losses, accs = [], []
        for p in parts:
            x, y = p["x_val"].to(device), p["y_val"].to(device)
            logits = m(x).masked_fill(~allowed.to(device)[y], float("-inf"))
            losses.append(F.cross_entropy(logits, y).item())
            accs.append((logits.argmax(-1) == y).float().mean().item())
        history["end_of_task"][state["task"]] = accs  # the last evaluation within a task is its end
        history["curve"].append(accs)
        record = {"tasks": n_tasks, "scenario": cfg["scenario"], "final_accuracy": accs, "final_loss": losses,
                  "end_of_task_accuracy": {str(k): a for k, a in sorted(history["end_of_task"].items())},
                  "curve_accuracy": history["curve"]}
        extra = {"forgetting": forgetting(history["end_of_task"]), "task_metrics_json": json.dumps(record)}
        return float(np.mean(losses)), float(np.mean(accs)), extra

    digest = hashlib.sha256(b"".join(p[k].numpy().tobytes() for p in parts for k in ("x_train", "y_train")))
    return Task(
        model=model,
        groups=split_roles(model),
        loss=loss,
        sampled_loss=sampled_loss,
        batches=batches,
        evaluate=evaluate,
        set_progress=set_progress,
        metric_name="accuracy",
        units_per_step=batch,
        params=sum(p.numel() for p in model.parameters()),
        flops_per_unit=flops_per_example(model, torch.zeros(1, 64)),
        target=cfg["target"],
        data_fingerprint=f"continual-{scale}-{digest.hexdigest()[:16]}",
        architecture="mlp",
        extra={"tasks": n_tasks, "task_data": parts},
    )
