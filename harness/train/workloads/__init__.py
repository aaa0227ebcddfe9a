"""The workloads, one module each (``SCALES``, ``build``, optionally ``check_data``).

``scale_names`` and ``sizes`` answer what planning needs without importing them (and torch): the scale names from
each module's ``SCALES`` literal, a task's parameter count and units per step from a cache built the first time.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
from pathlib import Path

from harness import cache
from harness.errors import ConfigError, suggest

FOLDER = Path(__file__).parent


def load(name: str):
    """The workload module ``name``."""
    return importlib.import_module(f"{__name__}.{name}")


def scale_names() -> dict[str, list[str]]:
    """{workload: its scale names}, read from each module's ``SCALES = {...}`` literal."""
    out = {}
    for path in sorted(FOLDER.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SCALES" for t in node.targets)
                    and isinstance(node.value, ast.Dict)):
                out[path.stem] = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    return out


def sizes(workload: str, scale: str, data: dict) -> tuple[int, int]:
    """(trainable parameters, units a step holds) of ``workload`` at ``scale`` with ``data`` (``batch_size``
    among them), once its ``check_data`` accepts ``data`` (else its one-line ``ValueError``).

    Built once and cached (``harness.cache``), keyed by the engine's training sources, the installed
    packages, ``data`` and the names, sizes and times of the files it names (a changed data folder is checked
    and counted again).
    """
    data = {k: v for k, v in data.items() if v is not None}

    def build() -> tuple[int, int]:
        module = load(workload)
        if hasattr(module, "check_data"):
            module.check_data(data)
        task = module.build(scale, 0, data)
        return int(task.params), int(task.units_per_step)

    key = json.dumps([workload, scale, data, _files(data)], sort_keys=True, default=str)
    params, units = cache.remember("sizes", _sources(), key, build)
    return params, units


@functools.cache
def _sources() -> list[Path]:
    """The engine's training sources (the workloads, and what builds and counts them)."""
    return sorted(FOLDER.parent.rglob("*.py"))


def _files(data: dict) -> list:
    """(name, size, mtime) of every file a ``data`` value names (a folder: the files in it)."""
    out = []
    for value in data.values():
        path = Path(value) if isinstance(value, str) else None
        if path is not None and path.exists():
            found = sorted(path.iterdir()) if path.is_dir() else [path]
            out += [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in found if f.is_file()]
    return out


def check(workloads: dict, data: dict) -> None:
    """The owner's check of a run's ``workloads`` (name -> scales and budgets) with ``data`` (``batch_size``
    among it): known workloads and scales, something left to run, and the data each one reads (before any trial;
    a one-line ``ConfigError``)."""
    if not workloads:
        raise ConfigError("no workloads to run")
    known = scale_names()
    for name, spec in workloads.items():
        if name not in known:
            raise ConfigError(f"unknown workload {name!r}{suggest(str(name), known)}")
        for scale in spec.scales:
            if scale not in known[name]:
                raise ConfigError(f"workload {name!r} has no scale {scale!r}{suggest(scale, known[name])}; "
                                  f"its scales: {', '.join(known[name])}")
        if not spec.scales or not spec.budgets:
            raise ConfigError(f"workload {name!r}: no scales or no budgets left to run")
        for scale in spec.scales:  # a workload that reads files checks them here (and counts its size)
            try:
                sizes(name, scale, data)
            except (ValueError, TypeError, OSError) as exc:
                raise ConfigError(str(exc).splitlines()[0]) from None
