"""Optimizers we did not write, by name, and the memory an optimizer's state takes.

``resolve_optimizer`` turns a name into a registered-style ``Optimizer``:
- ``pytorch_optimizer.<Name>``: any optimizer of the pytorch-optimizer package (case-insensitive);
- ``package.module:Class``: any importable ``torch.optim.Optimizer`` subclass.
The adapted optimizer gets weight decay on matrices/embeddings/head (none on scalars) and, unless
the constructor has none, a default search space: lr log-uniform and weight decay log-uniform.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable

import torch

from harness.contracts.interface import LogUniform, Optimizer, param_groups

PYTORCH_OPTIMIZER = "pytorch_optimizer."
# pytorch-optimizer classes that estimate the Hessian diagonal from gradients carrying their graph.
_HESSIAN = {"adahessian", "sophiah"}


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pytorch_optimizer_class(name: str) -> type:
    import pytorch_optimizer

    supported = pytorch_optimizer.get_supported_optimizers()
    key = name.lower()
    if key not in supported:
        hint = _did_you_mean(key, supported).replace("'", "'pytorch_optimizer.", 1)
        raise ValueError(f"pytorch_optimizer has no optimizer {name!r}{hint}")
    return pytorch_optimizer.load_optimizer(key)


def _import_class(spec: str) -> type:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"bad optimizer spec {spec!r}: expected 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for optimizer {spec!r}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None:
        names = [n for n, v in vars(module).items() if inspect.isclass(v)]
        raise ValueError(f"module {module_name!r} has no class {attr!r}{_did_you_mean(attr, names)}")
    if not (inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"{spec!r} is not a torch.optim.Optimizer subclass")
    return cls


def _adapt(cls: type, name: str, needs: tuple[str, ...]) -> Optimizer:
    signature = inspect.signature(cls.__init__).parameters
    lr = signature["lr"].default if "lr" in signature else inspect.Parameter.empty
    defaults = {"lr": float(lr) if isinstance(lr, int | float) and lr > 0 else 1e-3}
    space = {"lr": LogUniform(1e-5, 1e-1)}
    if "weight_decay" in signature:
        defaults["weight_decay"] = 0.0
        space["weight_decay"] = LogUniform(1e-4, 0.3)

    def build(groups, **hp):
        return cls(param_groups(groups, hp.get("weight_decay", 0.0)), lr=hp["lr"])

    doc = (inspect.getdoc(cls) or "").strip().splitlines()
    return Optimizer(
        build=build,
        defaults=defaults,
        search_space=space,
        needs=needs,
        name=name,
        citation=f"{cls.__module__}.{cls.__qualname__}",
        summary=doc[0] if doc else "",
    )


def resolve_optimizer(name: str) -> Optimizer:
    """The ``Optimizer`` for ``pytorch_optimizer.<Name>`` or ``package.module:Class``.

    Raises ``ValueError`` with a one-line message (and a did-you-mean where one fits) otherwise.
    """
    if name.startswith(PYTORCH_OPTIMIZER):
        short = name[len(PYTORCH_OPTIMIZER) :]
        cls = _pytorch_optimizer_class(short)
        return _adapt(cls, name, ("create_graph",) if short.lower() in _HESSIAN else ())
    if ":" in name:
        return _adapt(_import_class(name), name, ())
    raise ValueError(
        f"unknown optimizer {name!r}: use a registered name, "
        "'pytorch_optimizer.<Name>' or 'package.module:Class'"
    )


def _tensors(obj, seen: set[int], depth: int = 0):
    """Tensors reachable from ``obj`` through dicts, sequences and plain objects' attributes."""
    if depth > 6 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v, seen, depth + 1)
    elif isinstance(obj, list | tuple | set):
        for v in obj:
            yield from _tensors(v, seen, depth + 1)
    elif hasattr(obj, "__dict__") and not callable(obj) and not isinstance(obj, torch.nn.Module):
        yield from _tensors(vars(obj), seen, depth + 1)


def optimizer_state_bytes(opts) -> int:
    """Bytes of all tensors an optimizer (or list of them) holds, parameters excluded.

    Counts ``opt.state`` and tensors the optimizer keeps in its own attributes (M-FAC's gradient
    window); each storage is counted once.
    """
    opts = opts if isinstance(opts, list | tuple) else [opts]
    seen: set[int] = set()
    storages: dict[int, int] = {}
    for opt in opts:
        params = {id(p) for g in opt.param_groups for p in g["params"]}
        seen.update(params)
        extra = {k: v for k, v in vars(opt).items() if k not in ("param_groups", "state", "defaults")}
        for t in [*_tensors(opt.state, seen), *_tensors(extra, seen)]:
            storage = t.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())
