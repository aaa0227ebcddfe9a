"""Start-up of the commands that train nothing: ``harness ls``, ``harness validate`` (every suite) and
``harness report``, each a fresh process, timed from outside (interpreter start included).

    PYTHONPATH=. python benchmarks/startup.py [--repeats 5] [--results reference]

``cold``: the first run with an empty cache folder (``$SPEEDPROOF_CACHE``: the method catalog, workload sizes and
quasi-random points are built, which imports torch and scipy.stats); ``warm``: the median of ``--repeats`` runs
after it, which is what a user sees from the second command on. Each run also says whether torch or
scipy.stats were imported. Target: warm ``ls``, ``validate`` and ``report`` under 1 s, none importing torch.

    PYTHONPATH=. python benchmarks/startup.py --versus-torch 15 [--results reference] [--fresh-report]

``--versus-torch N``: only ``harness report`` against ``python -c "import torch"``, both warm (each run 3 times
first), in N interleaved pairs (which runs first alternates); prints the median of the N ratios report ÷ import
torch with its 95% interval (``paired.ratio_ci``) and the load average before and after. Target (#28): at most
0.5. ``--fresh-report``: the report's own cache (``<cache>/report``) removed before each of its runs (the catalog
cache stays warm): what the first report of a changed results folder costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paired

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
    parser.add_argument("--versus-torch", type=int, default=0, metavar="N",
                        help="only report vs `import torch`: N interleaved pairs")
    parser.add_argument("--fresh-report", action="store_true", help="with --versus-torch: the report cache removed "
                        "before each report run")
    opts = parser.parse_args()
    if opts.versus_torch:
        versus_torch(opts.versus_torch, opts.results, opts.fresh_report)
        return
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


def versus_torch(pairs: int, results: str, fresh: bool) -> None:
    """``harness report results=<results>`` ÷ ``import torch``, wall time of fresh processes, in interleaved pairs."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SPEEDPROOF_CACHE": cache, "PYTHONPATH": str(ROOT)}
        report = [sys.executable, "-m", "harness", "report", f"results={results}"]
        torch = [sys.executable, "-c", "import torch"]

        def timed(command: list[str]) -> float:
            if fresh and command is report:
                shutil.rmtree(Path(cache) / "report", ignore_errors=True)
            began = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
            return time.perf_counter() - began

        for _ in range(3):  # warm: the page cache, the catalog and (unless fresh) the report cache
            timed(report), timed(torch)
        load = os.getloadavg()
        a, b = [], []
        for i in range(pairs):
            if i % 2:
                b.append(timed(torch))
                a.append(timed(report))
            else:
                a.append(timed(report))
                b.append(timed(torch))
        after = os.getloadavg()
    cache_state = "its cache removed before each run" if fresh else "warm cache"
    print(f"harness report results={results} ({cache_state}): median {statistics.median(a):.3f} s; "
          f"import torch: median {statistics.median(b):.3f} s")
    print(f"report ÷ import torch: {paired.text(a, b, target=0.5)}")
    print(f"load average (1, 5, 15 min) before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after "
          f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
