import sys
from pathlib import Path

from harness.cli import main

ROOT = str(Path(__file__).resolve().parents[1])
if sys.path and sys.path[0] in ("", str(Path.cwd())):  # `python -m` put the working directory first
    sys.path[0] = ROOT  # the project, not whatever module files the working directory holds
sys.exit(main())
