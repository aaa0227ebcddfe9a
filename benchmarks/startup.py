"""Start-up of the commands that train nothing: ``harness ls``, ``harness validate`` (every suite) and
``harness report``, each a fresh process, timed from outside (interpreter start included).

    PYTHONPATH=. python benchmarks/startup.py [--repeats 5] [--results reference]

``cold``: the first run with an empty cache folder (``$SPEEDPROOF_CACHE``: the method catalog, workload sizes and
quasi-random points are built, which imports torch and scipy.stats); ``warm``: the median of ``--repeats`` runs
after it, which is what a user sees from the second command on. Each run also says whether torch or
scipy.stats were imported. Target: warm ``ls``, ``validate`` and ``report`` under 1 s, none importing torch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = """
import json, resource, sys
from harness import cli
code = cli.main(sys.argv[1:])
heavy = [m for m in ("torch", "scipy.stats") if m in sys.modules]
print(json.dumps({"rc": code, "heavy": heavy, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
      file=sys.stderr)
"""


def once(args: list[str], env: dict) -> tuple[float, dict]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    info = json.loads(done.stderr.strip().splitlines()[-1])
    if info["rc"] != 0:
        raise SystemExit(f"harness {' '.join(args)} exited {info['rc']}: {done.stderr[-500:]}")
    return wall, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", default="reference", help="the results folder `report` reads")
    opts = parser.parse_args()
    suites = sorted(p.stem for p in (ROOT / "suites").glob("*.yaml") if not p.stem.startswith("_"))
    commands = [["ls"], *(["validate", f"suite={s}"] for s in suites), ["report", f"results={opts.results}"]]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SPEEDPROOF_CACHE": cache, "PYTHONPATH": str(ROOT)}
        print(f"{'command':<32} {'cold s':>7} {'warm s':>7} {'warm MB':>8}  imported (warm)")
        for args in commands:
            cold, _ = once(args, env)
            runs = [once(args, env) for _ in range(opts.repeats)]
            warm = statistics.median(w for w, _ in runs)
            heavy = sorted({m for _, info in runs for m in info["heavy"]}) or ["-"]
            mb = max(info["mb"] for _, info in runs)
            print(f"{' '.join(args):<32} {cold:7.2f} {warm:7.2f} {mb:8.0f}  {', '.join(heavy)}", flush=True)


if __name__ == "__main__":
    main()
