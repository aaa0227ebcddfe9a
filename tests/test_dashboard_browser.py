"""The dashboard in a real browser, at a laptop's size (1440x900) and a phone's (390x844):
``streamlit run`` on a free port of 127.0.0.1, Debian's chromium driven by Playwright. The tests read
what a user reads — the winner and its interval on the first screen, a method column that stays put
when the table scrolls, one verdict per claim and scale, a speedup axis whose decades are evenly
spaced — and write screenshots to ``screenshots/<test name>/`` (gitignored). Skipped when
/usr/bin/chromium is absent."""

from __future__ import annotations

import math
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import launch
from harness.contracts import registry
from tests.fake_results import write_fake_classification, write_fake_results

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
PAGES = {  # url path -> (title, selectors that must be visible)
    "": ("Who wins", ["[data-testid='stTable']"]),
    "leaderboard": ("Leaderboard", ["[data-testid='stDataFrame']", "[data-testid='stDownloadButton']"]),
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
    write_fake_classification(results)
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
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(SIZES))
def page(browser, request):
    width, height = SIZES[request.param]
    tab = browser.new_page(viewport={"width": width, "height": height}, is_mobile=request.param == "phone")
    tab.set_default_timeout(60_000)
    tab.size = request.param
    tab.shots = SHOTS / request.node.name
    tab.shots.mkdir(parents=True, exist_ok=True)
    yield tab
    tab.close()


def _open(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for()
    page.wait_for_selector(IDLE)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"))


def test_every_page_opens_with_its_key_elements(server, page):
    for path, (title, selectors) in PAGES.items():
        _open(page, f"{server}/{path}", title)
        for selector in selectors:
            page.locator(selector).first.wait_for(state="visible")  # fails the test after the default timeout
        page.wait_for_selector(IDLE)
        assert page.locator("[data-testid='stException']").count() == 0, f"{path} raised"
        assert page.get_by_text("Page not found").count() == 0, f"{path}: no such page"
        _shot(page, path or "overview")


def test_the_first_screen_names_the_winner_and_its_interval(server, page):
    _open(page, f"{server}/", "Who wins")
    height = page.viewport_size["height"]
    winner = page.locator("[data-testid='stTable'] td", has_text=re.compile(r"^mono_forward$")).first
    interval = page.locator("[data-testid='stTable'] td", has_text=re.compile(r"^1\.2\d× \[1\.\d\d, 1\.\d\d\]$")).first
    for cell in (winner, interval):
        cell.wait_for(state="visible")
        box = cell.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, "not on the first screen"
    _shot(page, "first_screen")  # once the table is drawn (a cold server shows placeholders first)
    muon = page.locator("[data-testid='stTable'] td", has_text=re.compile(r"^muon$"))
    assert muon.count() == 8  # every gpt study of the optimizers suite, CPU and H100
    bounds = page.locator("[data-testid='stTable'] td", has_text=re.compile(r"^> 1\.00× \[1\.00, open\]$"))
    assert bounds.count() == 4  # at the largest budget the winner is only a bound, printed as such (not a quote)
    table = page.locator("[data-testid='stTable']").first.bounding_box()
    assert table["x"] + table["width"] <= page.viewport_size["width"]  # fits the screen, phone included


def test_the_method_column_stays_put_when_the_table_scrolls(server, page):
    _open(page, f"{server}/leaderboard?cols=rank&cols=speedup&cols=loss&cols=loss_ci&cols=n_seeds&cols=metric_delta"
                "&cols=metric_delta_ci&cols=target&cols=steps_ratio&cols=time_ratio&cols=energy_ratio&cols=params",
          "Leaderboard")
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.locator("th[role='columnheader']", has_text=re.compile(r"^method$")).wait_for(state="attached")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    left = {"x": box["x"] + 2, "y": box["y"] + 2, "width": 150, "height": box["height"] - 20}
    right = {"x": box["x"] + box["width"] - 160, "y": box["y"] + 2, "width": 150, "height": box["height"] - 20}
    before = page.screenshot(clip=left), page.screenshot(clip=right)
    _shot(page, "before_scroll")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(2000, 0)
    page.mouse.move(1, 1)  # no hover highlight in the picture
    time.sleep(1.0)
    _shot(page, "after_scroll")
    after = page.screenshot(clip=left), page.screenshot(clip=right)
    assert before[1] != after[1], "the table did not scroll (it should be wider than the screen)"
    assert before[0] == after[0], "the pinned scale · budget and method columns moved"


def test_one_verdict_per_claim_and_scale(server, page):
    _open(page, f"{server}/claims", "Claims")
    quote = registry.get("optimizer", "muon").claims[0].quote
    card = page.locator("[class*='st-key-claim-']", has_text=quote[:40]).first
    card.scroll_into_view_if_needed()
    _shot(page, "claim_card")
    verdicts = card.locator("li")
    texts = [verdicts.nth(i).inner_text() for i in range(verdicts.count())]
    assert len(texts) == 3, texts  # nano and micro on CPU, nano on the H100: one verdict each
    assert all(re.search(r"\b(supported|not supported|inconclusive|mixed)\b", t) for t in texts)
    link = card.get_by_role("link", name=re.compile("arXiv:2509.02046"))
    assert link.get_attribute("href") == "https://arxiv.org/abs/2509.02046"


def test_speedup_axis_is_logarithmic_and_the_legend_fits(server, page):
    _open(page, f"{server}/speedup?suite=optimizers&hardware=CPU+%28Synthetic+CPU%29", "Speedup vs scale")
    chart = page.locator("[data-testid='stVegaLiteChart'] svg").first
    chart.wait_for()
    chart.scroll_into_view_if_needed()
    time.sleep(1.0)
    _shot(page, "speedup")
    ticks = page.evaluate("""(svg) => Array.from(svg.querySelectorAll('.role-axis-label text'))
        .map(t => [t.textContent, t.getBoundingClientRect().y])""", chart.element_handle())
    where = {float(text): y for text, y in ticks if re.fullmatch(r"\d+(\.\d+)?", text or "")}
    values = sorted(where)
    assert len(values) >= 3 and values[-1] / values[0] >= 4, ticks
    steps = [(where[a] - where[b]) / (math.log10(b) - math.log10(a)) for a, b in zip(values, values[1:])]
    assert max(steps) / min(steps) < 1.1  # pixels per decade are the same everywhere: a log axis
    svg = chart.bounding_box()
    assert svg["x"] + svg["width"] <= page.viewport_size["width"] + 1  # nothing cut off on the right
    legend = page.evaluate("""(svg) => Array.from(svg.querySelectorAll('.role-legend-label text'))
        .map(t => t.textContent)""", chart.element_handle())
    assert sorted(legend) == ["adamw", "muon", "sgd"]  # only the methods drawn


def test_a_filter_changes_the_table_and_the_url(server, page):
    _open(page, f"{server}/leaderboard", "Leaderboard")
    if page.size == "phone":
        page.get_by_test_id("stExpandSidebarButton").click()
        time.sleep(1.0)  # the sidebar slides in: a click during the slide focuses the box without opening it
    page.locator("[data-testid='stMultiSelect']").filter(has_text="Scale").locator("input").click()
    page.get_by_role("option", name="micro").click()
    page.keyboard.press("Escape")
    page.wait_for_url("**scale=micro**")
    page.wait_for_selector(IDLE)
    _shot(page, "filtered")
    rows = page.get_by_text(re.compile(r"^\d+ rows in all")).first.inner_text().split()[0]
    assert rows == "9"  # optimizers on CPU: micro x 3 budgets x 3 methods
    _open(page, page.url, "Leaderboard")  # the URL alone reproduces the view
    assert page.get_by_text(re.compile(r"^\d+ rows in all")).first.inner_text().split()[0] == "9"
