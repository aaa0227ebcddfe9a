"""The workloads, one module each (``SCALES``, ``build``); ``scale_names`` reads their scales without importing
them (and torch), for ``harness ls``."""

from __future__ import annotations

import ast
from pathlib import Path


def scale_names() -> dict[str, list[str]]:
    """{workload: its scale names}, read from each module's ``SCALES = {...}`` literal."""
    out = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SCALES" for t in node.targets)
                    and isinstance(node.value, ast.Dict)):
                out[path.stem] = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    return out
