"""The dashboard in a real browser, at a laptop's size (1440x900) and a phone's (390x844):
``streamlit run`` on a free port of 127.0.0.1, Debian's chromium driven by Playwright, on synthetic results
(tests/fake_results.py) and on the shipped ``reference/``. The tests read what a user reads — every suite's
winner and interval among the text inside the first screen, the engine's numbers, legends that never give two
methods one colour, caveats inside a phone's width, a method column that stays put when the table scrolls, one
verdict per claim and scale, a speedup axis whose decades are evenly spaced — and write screenshots to
``$SPEEDPROOF_SCREENSHOTS/<test name>/`` (default: the temporary folder's ``screens/``, never the repository).
Skipped when /usr/bin/chromium is absent."""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import launch, look
from harness import report, store
from harness.contracts import registry
from harness.stats import analysis
from tests.fake_results import write_fake_classification, write_fake_results

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
SHOTS = Path(os.environ.get("SPEEDPROOF_SCREENSHOTS") or Path(tempfile.gettempdir()) / "screens")
REFERENCE = Path(__file__).resolve().parent.parent / "reference"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
PAGES = {  # url path -> (title, selectors that must be visible)
    "": ("Who wins", ["#answer"]),
    "leaderboard": ("Leaderboard", ["[data-testid='stDataFrame']", "[data-testid='stDownloadButton']"]),
    "speedup": ("Speedup vs scale", ["[data-testid='stVegaLiteChart']"]),
    "loss": ("Loss vs budget", ["[data-testid='stVegaLiteChart']", "[data-testid='stDataFrame']"]),
    "pareto": ("Pareto: loss against cost", ["[data-testid='stVegaLiteChart']"]),
    "claims": ("Claims", ["[class*='st-key-claim-']", "text=Fantastic Pretraining Optimizers"]),
    "runs": ("Runs", ["[data-testid='stVegaLiteChart']", "text=Provenance"]),
    "method": ("Method", ["[data-testid='stCode']", "text=Search space"]),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(results: Path, log_folder: Path):
    """A ``streamlit run`` of the dashboard on ``results``; yields its URL, stops it after."""
    port = _free_port()
    log = open(log_folder / "streamlit.log", "w+")
    proc = subprocess.Popen(launch.command(str(results), port), env=launch.environment(), stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
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
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    results = tmp_path_factory.mktemp("results")
    write_fake_results(results, hardware=("cpu",), seeds=2)
    write_fake_results(results, hardware=("h100",), scales=("nano",), budgets=(0.5, 1.0), seeds=2)
    write_fake_classification(results)
    yield from _serve(results, tmp_path_factory.mktemp("log"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The dashboard on the shipped reference results."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    yield from _serve(REFERENCE, tmp_path_factory.mktemp("log"))


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
    page.get_by_role("heading", name=title).first.wait_for(timeout=600_000)  # a first-ever load judges every claim
    page.wait_for_selector(IDLE, timeout=600_000)


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


VISIBLE_TEXT = """() => {
    const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode, range = document.createRange();
        if (!node.textContent.trim()) continue;
        range.selectNodeContents(node);
        const box = range.getBoundingClientRect();
        if (box.width > 0 && box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth)
            out.push(node.textContent.trim());
    }
    return out;
}"""  # the text nodes whose box lies inside the viewport: what the first screen shows (inner_text has it all)
ANSWER_ROWS = """() => Array.from(document.querySelectorAll('#answer tbody tr')).map(tr =>
    Array.from(tr.querySelectorAll('td')).map(td => Array.from(td.childNodes).map(n => n.textContent.trim())))"""
SUPERSCRIPTS = str.maketrans("", "", "¹²³⁴⁵⁶⁷⁸⁹")


def _answer(page) -> tuple[list[list[list[str]]], set[str]]:
    """The first screen's rows (per cell, the text of each child: the head first) and the text inside the
    viewport, once the answer is drawn."""
    page.locator("#answer").wait_for(state="visible")
    return page.evaluate(ANSWER_ROWS), set(page.evaluate(VISIBLE_TEXT))


def test_a_method_that_did_not_learn_is_never_the_winner(server, page):
    _open(page, f"{server}/", "Who wins")
    rows, visible = _answer(page)
    _shot(page, "first_screen")
    winners = page.locator(".sp-winner").all_inner_texts()  # every winner's name, first screen and studies
    assert winners and "forward_forward" not in winners and set(winners) <= {"mono_forward", "muon"}
    digits = next(r for r in rows if r[0][0] == "backprop_free")
    assert digits[1][0] == "mono_forward" and "not ranked: forward_forward (did not learn, single seed" in digits[1][1]
    assert {"mono_forward", "muon", "backprop_free", "optimizers"} <= visible  # on the first screen, phone included
    for line in rows:
        assert line[2][0].translate(SUPERSCRIPTS) in visible or line[2][0] in visible, line


def test_the_method_column_stays_put_when_the_table_scrolls(server, page):
    _open(page, f"{server}/leaderboard?cols=rank&cols=speedup&cols=loss&cols=loss_ci&cols=n_seeds&cols=metric_delta"
                "&cols=metric_delta_ci&cols=flags&cols=metric&cols=metric_ci&cols=overhead_ratio&cols=memory_ratio"
                "&cols=params&cols=hardware&cols=suite_version",
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


# --------------------------------------------------------------------------- the shipped reference results


def _engine_boards() -> dict[str, object]:
    """suite -> ``report.board`` of its reference rows against its recorded baseline (what ``harness report``
    prints), to check the first screen's numbers against."""
    rows, _ = store.read_results(REFERENCE)
    return {suite: report.board(part, analysis.recorded_baseline(part)) for suite, part in rows.groupby("suite")}


def test_the_first_screen_on_reference_shows_every_suites_winner_and_interval(reference, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(600_000)
    _open(page, f"{reference}/", "Who wins")
    rows, visible = _answer(page)
    (SHOTS / "reference").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reference" / "first_screen_desktop.png"))
    boards = _engine_boards()
    assert sorted(r[0][0] for r in rows) == sorted(boards)  # one line per suite (one hardware here)
    assert rows[0][0][0] == "optimizers"  # measured speedups and judged claims first
    for suite, best, versus, where, claims in rows:
        for text in (suite[0], best[0], versus[0], where[0], claims[0]):  # each line, inside 1440x900
            assert text in visible, (suite[0], text)
        board = boards[suite[0]]
        workload, scale, budget = where[0].split(" · ")
        study = board[(board["workload"] == workload) & (board["scale"] == scale)
                      & (board["budget_multiple"] == float(budget.rstrip("×")))]
        method = best[0] if not best[0].startswith(("no clear", "none beats")) else best[1].split(": ")[-1].split(
            ",")[0]
        row = study[study["method"] == method].iloc[0]
        assert "did not learn" not in str(row["flags"]) and row["n_seeds"] >= 2  # never a winner
        shown = versus[0].translate(SUPERSCRIPTS)
        if row["data_speedup_kind"] in ("value", "lower_bound", "upper_bound"):
            assert shown == look.times(row["data_speedup_text"]), (suite[0], shown)  # the engine's own text
        else:  # the loss difference: the engine's point and interval, rounded
            got = [float(x) for x in re.findall(r"-?\d+\.?\d*", shown)]
            sign = 1 if shown.endswith("lower") else -1
            want = sorted(sign * row[c] for c in ("loss_delta", "loss_delta_lo", "loss_delta_hi"))
            assert got == pytest.approx([want[1], want[0], want[2]], rel=0.05, abs=1e-3)  # 2 significant digits
    assert any("open¹" in r[2][0] for r in rows)  # reference has open ends: each explained right below the table
    assert page.get_by_text("¹ open: that end of the interval lies beyond what adamw's budgets can measure").count()
    page.close()


LEGENDS = """(svg) => Array.from(svg.querySelectorAll('.role-legend')).map(legend => ({
    title: Array.from(legend.querySelectorAll('.role-legend-title text')).map(t => t.textContent).join(''),
    labels: Array.from(legend.querySelectorAll('.role-legend-label text')).map(t => t.textContent),
    fills: Array.from(legend.querySelectorAll('.role-legend-symbol path')).map(p =>
        p.getAttribute('fill') || p.style.fill || getComputedStyle(p).fill)}))"""


def test_no_chart_on_reference_gives_two_shown_methods_one_colour(reference, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(600_000)
    seen: dict[str, str] = {}
    for path in ("speedup", "loss", "pareto", "pareto?task=schedules+%C2%B7+digits", "runs"):
        _open(page, f"{reference}/{path}", PAGES[path.split("?")[0]][0])
        charts = page.locator("[data-testid='stVegaLiteChart'] svg")
        charts.first.wait_for()
        assert charts.count() > 0, path
        for i in range(charts.count()):
            for legend in page.evaluate(LEGENDS, charts.nth(i).element_handle()):
                if legend["title"] != "method":
                    continue
                pairs = dict(zip(legend["labels"], legend["fills"], strict=True))
                assert len(set(pairs.values())) == len(pairs), (path, pairs)  # one colour per shown method
                for method, fill in pairs.items():
                    assert seen.setdefault(method, fill) == fill, (path, method)  # and the same on every page
    assert len(seen) >= 12
    page.close()


def test_on_a_phone_the_caveats_and_verdicts_stay_inside_the_screen(reference, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.set_default_timeout(600_000)
    _open(page, f"{reference}/", "Who wins")
    page.locator("#answer").wait_for(state="visible")
    (SHOTS / "reference").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reference" / "first_screen_phone.png"))
    scroller = "document.querySelector('[data-testid=stMain]')"
    bottom = page.evaluate(f"() => document.querySelector('#answer').getBoundingClientRect().bottom "
                           f"+ {scroller}.scrollTop")
    assert bottom <= 2 * 844, bottom  # every suite within two phone screens
    cells = page.locator(".sp-cards .sp-warn, #answer td[data-label='claims'], #answer td[data-label='best']")
    assert cells.count() >= 14
    for i in range(cells.count()):
        cell = cells.nth(i)
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, (cell.inner_text(), box)
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_on_reference_opens_and_is_photographed(reference, browser, size):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=size == "phone")
    page.set_default_timeout(600_000)
    folder = SHOTS / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    for path, (title, selectors) in PAGES.items():
        _open(page, f"{reference}/{path}", title)
        page.locator(selectors[0]).first.wait_for(state="visible")
        assert page.locator("[data-testid='stException']").count() == 0, f"{path} raised"
        time.sleep(1.0)
        page.screenshot(path=str(folder / f"{path or 'overview'}-{size}.png"))
    page.close()
