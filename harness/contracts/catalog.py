"""What every method says about itself — summary, paper, search space, claims, or why it is unavailable — read
without importing it (and torch): ``harness ls`` and the dashboard's claims start in a fraction of a second.

Built once from ``registry.registry()`` (which imports every file) and cached as JSON under
``~/.cache/speedproof/`` (``$SPEEDPROOF_CACHE`` overrides), keyed by the implementation files (path, size,
mtime) and the installed packages (the site-packages folders' mtime: installing or removing one changes it), so
an edit or an install rebuilds it. A cache that cannot be read or written is rebuilt or skipped, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import sysconfig
from functools import cache
from pathlib import Path

from harness.contracts.interface import Claim, Space, space_from_json, space_json
from harness.contracts.registry import FOLDERS, ROOT


@dataclasses.dataclass(frozen=True)
class Entry:
    """One method as the catalog knows it; ``reason`` is set (and the rest empty) when it is unavailable."""

    kind: str
    name: str
    summary: str = ""
    citation: str = ""
    search_space: dict[str, Space] = dataclasses.field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    reason: str | None = None


def _folder() -> Path:
    return Path(os.environ.get("SPEEDPROOF_CACHE", Path.home() / ".cache" / "speedproof"))


def _key() -> str:
    digest = hashlib.sha256(sys.prefix.encode())
    files = sorted(ROOT.rglob("*.py")) + [Path(__file__).with_name("interface.py")]
    packages = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    for path in files + [Path(p) for p in sorted(packages) if Path(p).is_dir()]:
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _build() -> dict[str, dict[str, Entry]]:
    from harness.contracts import registry  # imports every method file

    out: dict[str, dict[str, Entry]] = {}
    for kind, entries in registry.registry().items():
        out[kind] = {name: Entry(kind, name, reason=m.reason) if isinstance(m, registry.Unavailable) else
                     Entry(kind, name, m.summary, m.citation, dict(m.search_space), tuple(m.claims))
                     for name, m in entries.items()}
    return out


def _dump(entries: dict[str, dict[str, Entry]]) -> str:
    return json.dumps({kind: {name: {**dataclasses.asdict(e), "search_space": space_json(e.search_space)}
                              for name, e in part.items()} for kind, part in entries.items()})


def _load(text: str) -> dict[str, dict[str, Entry]]:
    out = json.loads(text)
    return {kind: {name: Entry(**{**e, "search_space": space_from_json(e["search_space"]),
                                  "claims": tuple(Claim(**c) for c in e["claims"])})
                   for name, e in part.items()} for kind, part in out.items()}


@cache
def catalog() -> dict[str, dict[str, Entry]]:
    """``{kind: {name: Entry}}`` for every file under ``implementations/`` (kinds as ``registry.FOLDERS``)."""
    path = _folder() / f"catalog-{_key()}.json"
    try:
        return _load(path.read_text())
    except (OSError, ValueError, TypeError, KeyError):
        pass
    entries = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_dump(entries))
        tmp.replace(path)
        for stale in set(path.parent.glob("catalog-*.json")) - {path}:  # earlier keys
            stale.unlink(missing_ok=True)
    except OSError:
        pass
    return entries


def claims() -> list[tuple[str, str, Claim]]:
    """(kind, method, claim) for every claim of every available method."""
    return [(kind, name, c) for kind in FOLDERS for name, e in catalog()[kind].items() if e.reason is None
            for c in e.claims]
