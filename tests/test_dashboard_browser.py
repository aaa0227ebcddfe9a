"""The dashboard in a real browser: ``streamlit run`` on a free port, Debian's chromium driven by
Playwright; every page opens with its key elements, a filter changes the URL and the table;
screenshots go to ``screenshots/`` (gitignored). Skipped when /usr/bin/chromium is absent."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import launch
from tests.fake_results import write_fake_results

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = {  # url path -> (title, selectors that must be visible)
    "": ("Leaderboard", ["[data-testid='stDataFrame']", "[data-testid='stDownloadButton']"]),
    "speedup": ("Speedup vs scale", ["[data-testid='stVegaLiteChart']"]),
    "loss": ("Loss vs budget", ["[data-testid='stVegaLiteChart']", "[data-testid='stDataFrame']"]),
    "pareto": ("Pareto: loss against cost", ["[data-testid='stVegaLiteChart']"]),
    "claims": ("Claims", ["[data-testid='stDataFrame']", "text=Fantastic Pretraining Optimizers"]),
    "runs": ("Runs", ["[data-testid='stVegaLiteChart']", "text=Provenance"]),
    "method": ("Method", ["[data-testid='stCode']", "text=Search space"]),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    results = tmp_path_factory.mktemp("results")
    write_fake_results(results, hardware=("cpu",), seeds=2)
    write_fake_results(results, hardware=("h100",), scales=("nano",), budgets=(0.5, 1.0), seeds=2)
    port = _free_port()
    env = launch.environment()
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w+")
    proc = subprocess.Popen(launch.command(str(results), port), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            log.seek(0)
            pytest.fail(f"streamlit did not start:\n{log.read()}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1500, "height": 2000})
        tab.set_default_timeout(45_000)
        yield tab
        browser.close()


def _open(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for()
    page.wait_for_selector(IDLE)


def test_every_page_opens_with_its_key_elements(server, page):
    SHOTS.mkdir(exist_ok=True)
    for path, (title, selectors) in PAGES.items():
        _open(page, f"{server}/{path}", title)
        for selector in selectors:
            page.locator(selector).first.wait_for(state="visible")  # fails the test after the default timeout
        page.wait_for_selector(IDLE)
        assert page.locator("[data-testid='stException']").count() == 0, f"{path} raised"
        assert page.get_by_text("Page not found").count() == 0, f"{path}: no such page"
        page.screenshot(path=str(SHOTS / f"{path or 'leaderboard'}.png"))


def _rows(page) -> str:
    return page.get_by_text(re.compile(r"^\d+ rows")).first.inner_text().split()[0]


def test_a_filter_changes_the_table_and_the_url(server, page):
    _open(page, f"{server}/", "Leaderboard")
    before = _rows(page)
    page.locator("[data-testid='stMultiSelect']").filter(has_text="Scale").click()
    page.get_by_role("option", name="nano").click()
    page.keyboard.press("Escape")
    page.wait_for_url("**scale=nano**")
    page.wait_for_selector(IDLE)
    page.screenshot(path=str(SHOTS / "leaderboard_filtered.png"), full_page=True)
    assert (before, _rows(page)) == ("24", "15")  # CPU: 2 scales x 3 budgets, H100: nano x 2; 3 methods each
    _open(page, page.url, "Leaderboard")  # the URL alone reproduces the view
    chips = page.locator("[data-testid='stMultiSelect']").filter(has_text="Scale").inner_text()
    assert "nano" in chips and "micro" not in chips and _rows(page) == "15"
