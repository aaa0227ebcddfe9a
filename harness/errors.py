"""The bottom of the engine: errors every layer may raise, and what every message may use ("did you mean",
counts with their noun).

Imports nothing of the project, so any layer can raise a ``ConfigError`` without pulling in the one above it.
"""

from __future__ import annotations

import difflib


class ConfigError(Exception):
    """A problem with what the user typed; printed as one line, exit code 2."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # one line, whatever a library's message held


class StoreError(ConfigError):
    """The results folder cannot take a file (read-only, full disk): one line naming the path, exit code 2."""


def suggest(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 trial"``, ``"3 trials"``, ``"2 studies"`` (``plural`` where adding an s is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
