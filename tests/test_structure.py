"""Code shape: no function in ``harness/`` nests its blocks more than ``MAX_DEPTH`` deep."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"
MAX_DEPTH = 4
BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.Match,
          ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def depth(node: ast.AST, level: int = 0) -> int:
    """The deepest block under ``node`` (a function body is level 0; each nested block adds one, an ``elif`` not)."""
    deepest = level
    for child in ast.iter_child_nodes(node):
        elif_ = isinstance(node, ast.If) and isinstance(child, ast.If) and node.orelse == [child]
        nested = isinstance(child, BLOCKS) and not elif_
        deepest = max(deepest, depth(child, level + 1 if nested else level))
    return deepest


def test_depth_counts_blocks_not_elifs():
    code = "def f(x):\n    for i in x:\n        if i:\n            pass\n        elif x:\n            pass\n"
    assert depth(ast.parse(code).body[0]) == 2


def test_no_function_nests_blocks_more_than_four_deep():
    deep = []
    for path in sorted(HARNESS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and depth(node) > MAX_DEPTH:
                deep.append(f"{path.relative_to(HARNESS.parent)}:{node.lineno} {node.name} (depth {depth(node)})")
    assert not deep, f"functions nesting blocks more than {MAX_DEPTH} deep: {', '.join(deep)}"


def test_no_branch_on_the_protocol_name_outside_its_registry():
    """Protocols are plugins (``harness/run/protocols/``): nothing else compares ``tuning.protocol`` to a name."""
    found = []
    for path in sorted(HARNESS.rglob("*.py")):
        if path.parent.name == "protocols":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")
                     for n in ([node.left, *node.comparators] if isinstance(node, ast.Compare) else [])]
            if any(name == "protocol" for name in names):
                found.append(f"{path.relative_to(HARNESS.parent)}:{node.lineno}")
    assert not found, f"comparisons with the protocol's name outside harness/run/protocols: {found}"
