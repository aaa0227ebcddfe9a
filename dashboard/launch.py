"""``harness dashboard [results=PATH] [port=N]``: start the Streamlit app on HOST:PORT (127.0.0.1 by default)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

APP = Path(__file__).resolve().parent / "app.py"
ROOT = APP.parent.parent


def command(results: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line; the app reads ``--results`` after ``--``."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
            "--server.address", host, "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
            "--", "--results", str(Path(results).resolve())]


def environment() -> dict[str, str]:
    """This environment with the repository root on PYTHONPATH (the app imports ``dashboard`` and ``harness``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def launch(results: str, port: int, host: str = "127.0.0.1") -> NoReturn:
    """Become the Streamlit server (this process is replaced: a SIGTERM or Ctrl-C reaches Streamlit itself)."""
    print(f"speedproof dashboard on http://{host}:{port} (results: {results}); Ctrl-C stops it", flush=True)
    cmd = command(results, port, host)
    os.execve(cmd[0], cmd, environment())
