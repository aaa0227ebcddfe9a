"""Cold load of the dashboard's first page ("Who wins") over ~2,000 synthetic trials.

    PYTHONPATH=. python benchmarks/dashboard_cold_load.py [--repeats 3] [--results DIR] [--compact]

Each repeat starts a fresh ``streamlit run`` (empty caches) on 127.0.0.1, opens ``/`` in headless
Debian chromium (Playwright) and times from navigation until the winner table is visible and the
script has finished. Prints one line per repeat and the median, the floor (a fresh Streamlit server showing a
title and a one-row table: what any Streamlit page costs on this machine), then where the time goes (the
store's read and the leaderboards, timed in this process). The trials come from
tests/fake_results.py (synthetic rows, never written into results/). Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from dashboard import data, launch
from harness import store
from harness.stats import analysis
from harness.store import compact
from tests.fake_results import write_fake_classification, write_fake_results

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
METHODS = ("adamw", "muon", "sgd", "soap", "lion", "sophia", "shampoo", "nadamw", "adafactor")


def write(results: Path) -> int:
    """9 methods x 2 scales x 6 budgets x 2 hardware x (4 tuning + 5 final) + the digits suite ≈ 2,000 trials."""
    n = write_fake_results(results, budgets=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0), seeds=5, methods=METHODS)
    return n + write_fake_classification(results, seeds=5)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FLOOR_APP = 'import streamlit as st\nst.title("Who wins")\nst.table({"winner": ["a"]})\n'


def cold_load(results: Path, browser, app: Path | None = None) -> tuple[float, float, float]:
    """Seconds from opening ``/`` on a fresh server to the page's title (the frontend loaded and the script
    started), to the first winner table, and to the page done. ``app``: another script instead of the dashboard
    (the floor: Streamlit itself showing a title and a one-row table on this machine)."""
    port = _port()
    command = launch.command(str(results), port)
    if app is not None:
        command[command.index("run") + 1] = str(app)
    proc = subprocess.Popen(command, env=launch.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(600_000)
        start = time.perf_counter()
        page.goto(url)
        page.get_by_role("heading", name="Who wins").first.wait_for(state="visible")
        title = time.perf_counter() - start
        page.locator("[data-testid='stTable']").first.wait_for(state="visible")
        winner = time.perf_counter() - start
        page.wait_for_selector(IDLE)
        done = time.perf_counter() - start
        page.close()
        return title, winner, done
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def breakdown(results: Path) -> None:
    """The two costs of a cold first page, timed here: reading every trial, and the leaderboards."""
    start = time.perf_counter()
    df, _ = store.read_results(results)
    read = time.perf_counter() - start
    df["hardware"] = data.hardware_label(df)
    start = time.perf_counter()
    for (suite, _, _), part in df.groupby(data.PARTITION):
        analysis.leaderboard(part, data.suite_baseline(suite, part) or "")
    board = time.perf_counter() - start
    print(f"  of which: store.read_results {read:.2f} s · analysis.leaderboard {board:.2f} s "
          f"(load {os.getloadavg()[0]:.1f})")


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
        files = sum(1 for _ in results.glob("suite=*/*.parquet"))
        print(f"{files} Parquet files · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.1f}")
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for i in range(args.repeats):
                times.append(cold_load(results, browser))
                print(f"repeat {i + 1}: title after {times[-1][0]:.2f} s, winner table after {times[-1][1]:.2f} s, "
                      f"page done after {times[-1][2]:.2f} s (load {os.getloadavg()[0]:.1f})")
            floor_app = Path(tmp) / "floor.py"
            floor_app.write_text(FLOOR_APP)
            floor = statistics.median(cold_load(results, browser, floor_app)[1] for _ in range(args.repeats))
            browser.close()
        title, winner, done = (statistics.median(t[i] for t in times) for i in range(3))
        print(f"median cold load of the first page: title {title:.2f} s, winner table {winner:.2f} s, "
              f"page done {done:.2f} s; the floor (Streamlit alone: a title and a one-row table) {floor:.2f} s")
        breakdown(results)


if __name__ == "__main__":
    main()
