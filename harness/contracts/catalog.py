"""What every method says about itself — summary, paper, its file's docstring, defaults, search space, claims,
or why it is unavailable — read without importing it (and torch): ``harness ls``, ``harness validate`` and the
dashboard start in a fraction of a second.

Built once from ``registry.registry()`` (which imports every file) and cached (``harness.cache``),
keyed by the implementation files and the installed packages, so an edit or an install rebuilds it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
from pathlib import Path

from harness import cache
from harness.contracts import registry
from harness.contracts.interface import Claim, Space, space_from_json, space_json
from harness.contracts.registry import FOLDERS, ROOT


@dataclasses.dataclass(frozen=True)
class Entry:
    """One method as the catalog knows it; ``reason`` is set (and the rest empty) when it is unavailable."""

    kind: str
    name: str
    summary: str = ""
    citation: str = ""
    defaults: dict = dataclasses.field(default_factory=dict)  # as JSON holds them (a tuple reads back as a list)
    search_space: dict[str, Space] = dataclasses.field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    reason: str | None = None
    doc: str = ""  # the method file's docstring: its definition, as the dashboard shows it
    needs: tuple[str, ...] = ()  # what it asks of the trainer (at its defaults where that depends on them)
    architecture: str = ""  # the native architecture of a training method; empty: any


def _key() -> str:
    return cache.stamp(sorted(ROOT.rglob("*.py")) + [Path(__file__), Path(__file__).with_name("interface.py")])


def _build() -> dict[str, dict[str, Entry]]:
    out: dict[str, dict[str, Entry]] = {}
    for kind, entries in registry.registry().items():
        out[kind] = {name: Entry(kind, name, reason=m.reason) if isinstance(m, registry.Unavailable)
                     else _entry(m, _doc(kind, name)) for name, m in entries.items()}
    return out


def _doc(kind: str, name: str) -> str:
    """The docstring of the method's file, read without importing it."""
    tree = ast.parse((ROOT / FOLDERS[kind] / f"{name}.py").read_text(encoding="utf-8"))
    return (ast.get_docstring(tree, clean=False) or "").strip()


def _entry(m, doc: str = "") -> Entry:
    defaults = json.loads(json.dumps(m.defaults))  # as the cache file holds them
    needs = getattr(m, "needs", ())
    needs = m.needs_for(m.defaults) if callable(needs) else needs
    return Entry(m.kind, m.name, m.summary, m.citation, defaults, dict(m.search_space), tuple(m.claims), doc=doc,
                 needs=tuple(needs), architecture=getattr(m, "architecture", ""))


def _dump(entries: dict[str, dict[str, Entry]]) -> str:
    def one(e: Entry) -> dict:  # a ``space_json`` per hyperparameter: it sorts them, pages show the declared order
        return {**dataclasses.asdict(e), "search_space": [space_json({k: d}) for k, d in e.search_space.items()]}

    return json.dumps({kind: {name: one(e) for name, e in part.items()} for kind, part in entries.items()})


def _load(text: str) -> dict[str, dict[str, Entry]]:
    def one(e: dict) -> Entry:
        space = {k: d for hp in e["search_space"] for k, d in space_from_json(hp).items()}
        return Entry(**{**e, "search_space": space, "needs": tuple(e["needs"]),
                        "claims": tuple(Claim(**c) for c in e["claims"])})

    return {kind: {name: one(e) for name, e in part.items()} for kind, part in json.loads(text).items()}


@functools.cache
def catalog() -> dict[str, dict[str, Entry]]:
    """``{kind: {name: Entry}}`` for every file under ``implementations/`` (kinds as ``registry.FOLDERS``)."""
    path = cache.folder() / f"catalog-{_key()}.json"
    try:
        return _load(path.read_text())
    except (OSError, ValueError, TypeError, KeyError):
        pass
    entries = _build()
    cache.save(path, _dump(entries))
    return entries


def entry(kind: str, name: str) -> Entry:
    """``registry.get`` without importing the method: variants and unknown names alike (an optimizer we did not
    write, ``package.module:Class``, is imported to describe it)."""
    return registry.lookup(kind, name, catalog()[kind], _entry)


def claims() -> list[tuple[str, str, Claim]]:
    """(kind, method, claim) for every claim of every available method."""
    return [(kind, name, c) for kind in FOLDERS for name, e in catalog()[kind].items() if e.reason is None
            for c in e.claims]
