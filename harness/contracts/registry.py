"""Discovery of methods by walking ``implementations/``: one file = one method, name = file stem.

A file whose import fails (or that defines no ``METHOD``) is recorded as ``Unavailable`` with the
reason; it never crashes the harness. The registry is the only global state of the harness.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from harness.contracts.interface import Method, Unavailable

ROOT = Path(__file__).resolve().parents[2] / "implementations"
FOLDERS = {"optimizer": "optimizers", "schedule": "schedules", "method": "methods"}


def _load(kind: str, stem: str) -> Method | Unavailable:
    module_name = f"implementations.{FOLDERS[kind]}.{stem}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure makes the method unavailable, not the suite
        return Unavailable(stem, kind, f"{type(exc).__name__}: {exc}".splitlines()[0])
    method = getattr(module, "METHOD", None)
    if not isinstance(method, Method) or method.kind != kind:
        return Unavailable(stem, kind, f"{module_name} defines no {kind} METHOD")
    return dataclasses.replace(method, name=stem)


@cache
def registry() -> dict[str, dict[str, Method | Unavailable]]:
    """``{kind: {name: Method | Unavailable}}`` for every file under ``implementations/``."""
    out: dict[str, dict[str, Method | Unavailable]] = {}
    for kind, folder in FOLDERS.items():
        files = sorted((ROOT / folder).glob("*.py"))
        out[kind] = {f.stem: _load(kind, f.stem) for f in files if not f.stem.startswith("_")}
    return out


def available(kind: str) -> dict[str, Method]:
    """The methods of one kind that imported cleanly."""
    return {n: m for n, m in registry()[kind].items() if isinstance(m, Method)}


VARIANT = re.compile(r"^\s*([^()\s]+)\s*\((.*)\)\s*$")


def variant(name: str) -> tuple[str, dict]:
    """``"low_precision(activations=bf16)"`` -> ``("low_precision", {"activations": "bf16"})``.

    A variant is one method with some hyperparameters fixed (and so not tuned): ``name(key=value, ...)``,
    values read as numbers, booleans or strings. A plain name has no fixed values. ``ValueError`` when malformed.
    """
    match = VARIANT.match(name)
    if not match:
        if "(" in name or ")" in name:
            raise ValueError(f"malformed variant {name!r}; write name(key=value, ...)")
        return name, {}
    fixed = {}
    for item in (i for i in match.group(2).split(",") if i.strip()):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or not key.isidentifier() or not value:
            raise ValueError(f"malformed variant {name!r}: expected key=value, got {item.strip()!r}")
        fixed[key] = _scalar(value)
    if not fixed:
        raise ValueError(f"variant {name!r} fixes no hyperparameter")
    return match.group(1), fixed


def _scalar(text: str):
    """``"2"`` -> 2, ``"1e-3"`` -> 0.001, ``"true"`` -> True, anything else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def variant_name(base: str, fixed: dict) -> str:
    """The canonical spelling of a variant (keys sorted), used as its method name in results."""
    return f"{base}({', '.join(f'{k}={fixed[k]}' for k in sorted(fixed))})" if fixed else base


def get(kind: str, name: str) -> Method:
    """The method ``name`` of ``kind``; ``KeyError`` with a one-line reason when it is missing or broken.

    Optimizers we did not write are reached by name too: ``pytorch_optimizer.Lion`` or
    ``package.module:Class`` (``harness.contracts.adapters``). A variant ``name(key=value, ...)`` is the method
    with those hyperparameters fixed: in its defaults, out of its search space.
    """
    return lookup(kind, name, registry()[kind], lambda m: m)


def lookup(kind: str, name: str, entries: dict, external: Callable[[Method], Any]):
    """``get`` over ``entries`` (``{name: method}``, a broken one having a ``reason``): the registry's methods,
    or the catalog's descriptions of them; ``external`` turns an optimizer we did not write into such an entry."""
    try:
        base, fixed = variant(name)
    except ValueError as exc:
        raise KeyError(str(exc)) from None
    if fixed:
        method = lookup(kind, base, entries, external)
        unknown = [k for k in fixed if k not in method.defaults]
        if unknown:
            has = ", ".join(method.defaults)
            raise KeyError(f"{kind} {base!r} has no hyperparameter {unknown[0]!r} (it has: {has})")
        space = {k: v for k, v in method.search_space.items() if k not in fixed}
        return dataclasses.replace(method, name=variant_name(base, fixed), defaults={**method.defaults, **fixed},
                                   search_space=space)
    entry = entries.get(name)
    if entry is None and kind == "optimizer" and ("." in name or ":" in name):
        from harness.contracts.adapters import resolve_optimizer

        try:
            return external(resolve_optimizer(name))
        except ValueError as exc:
            raise KeyError(str(exc)) from None
    if entry is None:
        close = difflib.get_close_matches(name, entries, n=1)
        raise KeyError(f"unknown {kind} {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if getattr(entry, "reason", None) is not None:
        raise KeyError(f"{kind} {name!r} is unavailable: {entry.reason}")
    return entry
