"""Cold load of the dashboard's first page ("Who wins") against a bare Streamlit page, in one run.

    PYTHONPATH=. python benchmarks/dashboard_cold_load.py [--repeats 3] [--results DIR] [--compact]

Each load starts a fresh ``streamlit run`` on 127.0.0.1 and opens ``/`` in headless Debian chromium (Playwright);
times are from the server's start and from the navigation to the first answer (the first screen's table visible)
and to the page done (the script finished). Measured, in this order, with a throwaway cache folder
(``$SPEEDPROOF_CACHE``) whose method catalog is built first:

* first-ever: no copy of the first screen on disk yet (the leaderboards, every claim judged);
* cold: a server started again on the unchanged folder (the copy is read back), ``--repeats`` times;
* new tab: a second tab on that warm server;
* the floor: a fresh server showing a title and a one-row table (any Streamlit page on this machine), cold and
  in a new tab.

Then where the first-ever time goes (timed in this process). The default trials come from tests/fake_results.py
(~2,000 synthetic rows, never written into results/). Needs /usr/bin/chromium. Prints the load average beside
every figure: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from dashboard import data, launch
from harness.store import compact
from tests.fake_results import write_fake_classification, write_fake_results

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
ANSWER = "#answer, [data-testid='stTable']"  # the first screen's table; the floor's table
METHODS = ("adamw", "muon", "sgd", "soap", "lion", "sophia", "shampoo", "nadamw", "adafactor")
FLOOR_APP = 'import streamlit as st\nst.title("Who wins")\nst.table({"winner": ["a"]})\n'


def write(results: Path) -> int:
    """9 methods x 2 scales x 6 budgets x 2 hardware x (4 tuning + 5 final) + the digits suite ≈ 2,000 trials."""
    n = write_fake_results(results, budgets=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0), seeds=5, methods=METHODS)
    return n + write_fake_classification(results, seeds=5)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


class Server:
    """A fresh ``streamlit run`` of the dashboard (or of ``app``) on a free port, up when constructed."""

    def __init__(self, results: Path, env: dict, app: Path | None = None):
        self.port = _port()
        command = launch.command(str(results), self.port)
        if app is not None:
            command[command.index("run") + 1] = str(app)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)

    def open(self, browser) -> tuple[float, float, float]:
        """A new tab on ``/``: seconds from navigation to the answer and to the page done, and from the server's
        start to the answer."""
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(900_000)
        start = time.perf_counter()
        page.goto(self.url)
        page.locator(f"{ANSWER}, [data-testid='stException']").first.wait_for(state="visible")
        answer = time.perf_counter()
        if page.locator("[data-testid='stException']").count():
            raise RuntimeError(page.locator("[data-testid='stException']").first.inner_text())
        page.wait_for_selector(IDLE)
        done = time.perf_counter()
        page.close()
        return answer - start, done - start, answer - self.started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def once(results: Path, env: dict, browser, app: Path | None = None, tabs: int = 1) -> list[tuple]:
    """A fresh server's first tab and ``tabs - 1`` more."""
    server = Server(results, env, app)
    try:
        return [server.open(browser) for _ in range(tabs)]
    finally:
        server.stop()


def say(what: str, t: tuple[float, float, float]) -> None:
    print(f"{what}: answer {t[0]:.2f} s after navigation ({t[2]:.2f} s after the server's start), page done "
          f"{t[1]:.2f} s ({load()})", flush=True)


def medians(runs: list[list[tuple]]) -> tuple[float, float, float]:
    """Median seconds to the answer: first tab after navigation, first tab after the server's start, new tab."""
    return (statistics.median(r[0][0] for r in runs), statistics.median(r[0][2] for r in runs),
            statistics.median(r[1][0] for r in runs))


def breakdown(results: Path) -> None:
    """What a first-ever load computes, timed here: reading the rows, the leaderboards, judging every claim."""
    from harness import report

    start = time.perf_counter()
    rows, _ = data._rows(results, [*report.ROW_COLUMNS, "target_value"])
    read = time.perf_counter() - start
    start = time.perf_counter()
    data._boards(rows)
    boards = time.perf_counter() - start
    start = time.perf_counter()
    report.judge_claims(rows, report.registered_claims())
    judged = time.perf_counter() - start
    print(f"  first-ever, of which: reading the rows {read:.2f} s · leaderboards (engine.boards) {boards:.2f} s · "
          f"every claim judged (engine.judge) {judged:.2f} s ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, help="an existing results folder (default: write ~2,000 trials)")
    parser.add_argument("--compact", action="store_true", help="compact the store first (one file per suite)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        results = args.results or Path(tmp) / "results"
        if args.results is None:
            print(f"wrote {write(results)} synthetic trials to {results}")
        if args.compact:
            print(f"compacted: {compact.compact(results)} rows per suite")
        env = {**launch.environment(), "SPEEDPROOF_CACHE": str(Path(tmp) / "cache")}
        os.environ["SPEEDPROOF_CACHE"] = env["SPEEDPROOF_CACHE"]
        subprocess.run([sys.executable, "-c", "from harness import report; report.registered_claims()"], env=env,
                       check=True)  # the method catalog, as any earlier harness command leaves it
        files = sum(1 for _ in results.glob("suite=*/*.parquet"))
        print(f"{files} Parquet files · {os.cpu_count()} CPUs · {load()}")
        floor_app = Path(tmp) / "floor.py"
        floor_app.write_text(FLOOR_APP)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            say("first-ever (nothing on disk yet)", once(results, env, browser)[0])
            cold = []
            for i in range(args.repeats):
                got = once(results, env, browser, tabs=2)
                cold.append(got)
                say(f"cold {i + 1} (read back from disk)", got[0])
                say(f"  new tab {i + 1}", got[1])
            floor = []
            for i in range(args.repeats):
                floor.append(once(results, env, browser, floor_app, tabs=2))
                say(f"floor {i + 1} (bare Streamlit page)", floor[-1][0])
                say(f"  floor new tab {i + 1}", floor[-1][1])
            browser.close()
        ours, bare = medians(cold), medians(floor)
        print(f"median cold: answer {ours[0]:.2f} s after navigation ({ours[1]:.2f} s after the server's start) · "
              f"floor {bare[0]:.2f} s ({bare[1]:.2f} s) · ratio {ours[0] / bare[0]:.2f}x ({ours[1] / bare[1]:.2f}x)")
        print(f"median new tab: answer {ours[2]:.2f} s · floor {bare[2]:.2f} s · ratio {ours[2] / bare[2]:.2f}x "
              f"({load()})")
        breakdown(results)


if __name__ == "__main__":
    main()
