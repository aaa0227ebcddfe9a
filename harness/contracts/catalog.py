"""What every method says about itself — summary, paper, defaults, search space, claims, or why it is
unavailable — read without importing it (and torch): ``harness ls``, ``harness validate`` and the dashboard's
claims start in a fraction of a second.

Built once from ``registry.registry()`` (which imports every file) and cached (``harness.cache``),
keyed by the implementation files and the installed packages, so an edit or an install rebuilds it.
"""

from __future__ import annotations

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


def _key() -> str:
    return cache.stamp(sorted(ROOT.rglob("*.py")) + [Path(__file__), Path(__file__).with_name("interface.py")])


def _build() -> dict[str, dict[str, Entry]]:
    out: dict[str, dict[str, Entry]] = {}
    for kind, entries in registry.registry().items():
        out[kind] = {name: Entry(kind, name, reason=m.reason) if isinstance(m, registry.Unavailable) else _entry(m)
                     for name, m in entries.items()}
    return out


def _entry(m) -> Entry:
    defaults = json.loads(json.dumps(m.defaults))  # as the cache file holds them
    return Entry(m.kind, m.name, m.summary, m.citation, defaults, dict(m.search_space), tuple(m.claims))


def _dump(entries: dict[str, dict[str, Entry]]) -> str:
    return json.dumps({kind: {name: {**dataclasses.asdict(e), "search_space": space_json(e.search_space)}
                              for name, e in part.items()} for kind, part in entries.items()})


def _load(text: str) -> dict[str, dict[str, Entry]]:
    out = json.loads(text)
    return {kind: {name: Entry(**{**e, "search_space": space_from_json(e["search_space"]),
                                  "claims": tuple(Claim(**c) for c in e["claims"])})
                   for name, e in part.items()} for kind, part in out.items()}


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
