"""End-to-end: the real server and the real front end in headless Chromium (Debian's package,
driven by Playwright). Screenshots of each view land in artifacts/screenshots/."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from explorer_fixtures import make_fake_run

CHROMIUM = os.environ.get("HARK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    run = make_fake_run(tmp_path_factory.mktemp("explorer-e2e"))
    server = subprocess.Popen([sys.executable, "-m", "hark.cli", "explore", str(run), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    match = re.search(r"http://\S+/", server.stdout.readline())
    assert match, "the explorer printed no URL"
    yield run, match.group(0)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"headless Chromium not found at {CHROMIUM} (run scripts/setup-browser.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def clips_table(run) -> pd.DataFrame:
    return pd.read_parquet(run / "analysis" / "clips.parquet")


def test_filter_to_disagreements_play_a_clip_and_go_back(page, served):
    run, url = served
    clips = clips_table(run)
    page.goto(url)
    page.wait_for_selector(".card")
    assert page.locator(".card").count() == len(clips)
    page.select_option("select[name=agree]", "disagree")
    page.wait_for_function("n => document.querySelectorAll('.card').length === n",
                           arg=int((clips.label != clips.pred).sum()))
    assert "agree=disagree" in page.url
    assert page.locator(".card.wrong").count() == page.locator(".card").count()
    shoot(page, "clips")
    page.locator(".card button.play").first.click()  # the button becomes the card's player
    page.wait_for_function("() => { const a = document.querySelector('.card audio');"
                           " return a.readyState >= 2 && a.duration > 0.9; }")
    page.go_back()
    page.wait_for_function("n => document.querySelectorAll('.card').length === n", arg=len(clips))
    assert page.input_value("select[name=agree]") == ""


def test_map_selection_shows_cards_and_click_plays(page, served):
    run, url = served
    clips = clips_table(run)
    page.goto(url + "?view=map")
    page.wait_for_function("() => { const p = document.getElementById('map-plot');"
                           " return p && p.dataset.shown && p.pointcloud; }")
    assert page.text_content("#map-legend").count("agree") == 2  # agree and disagree, with counts
    # Aim at the point farthest from any other, so hover and click cannot pick a neighbour.
    point = page.evaluate("""() => {
        const cloud = document.getElementById('map-plot').pointcloud, n = cloud.x.length;
        let best = [-1, -1];
        for (let i = 0; i < n; i++) {
            const [x, y] = cloud.toScreen(i);
            let nearest = Infinity;
            for (let j = 0; j < n; j++) {
                if (j === i) continue;
                const [u, v] = cloud.toScreen(j);
                nearest = Math.min(nearest, Math.hypot(x - u, y - v));
            }
            const inside = x > 10 && y > 10 && x < cloud.width - 10 && y < cloud.height - 10;
            if (inside && nearest > best[1]) best = [i, nearest];
        }
        return [...cloud.toScreen(best[0]), best[0]];
    }""")
    box = page.locator("#map-plot canvas.overlay").bounding_box()
    x, y = box["x"] + point[0], box["y"] + point[1]
    page.mouse.move(x - 4, y - 4)
    page.mouse.move(x, y, steps=3)
    page.wait_for_selector("#map-tip:not([hidden])")  # hovering shows label -> pred
    row = clips.iloc[point[2]]
    assert page.text_content("#map-tip") == f"{row.label} → {row.pred}"
    page.mouse.click(x, y)
    page.wait_for_function("() => document.getElementById('player').src.includes('/api/audio')")
    assert httpx.URL(page.evaluate("document.getElementById('player').src")).params["path"] == row.path
    # Lasso around the left half of the plot area.
    page.click("#map-modes button[value=lasso]")
    left, top, right, bottom = box["x"] + 2, box["y"] + 2, box["x"] + box["width"] / 2, box["y"] + box["height"] - 2
    page.mouse.move(left, top)
    page.mouse.down()
    for x, y in ((right, top), (right, bottom), (left, bottom), (left, top + 1)):
        page.mouse.move(x, y, steps=5)
    page.mouse.up()
    page.wait_for_selector("#selection-grid .card")
    title = page.text_content("#selection-title")
    selected = int(title.split()[0])
    middle = (clips.x.min() + clips.x.max()) / 2
    assert 0 < selected <= (clips.x <= middle + 0.3).sum()
    assert page.locator("#selection-grid .card").count() == min(selected, 60)
    shown = [p.text_content() for p in page.locator("#selection-grid .card .path").all()]
    assert clips.set_index("path").loc[shown].x.max() <= middle + 0.3
    shoot(page, "map")
    # Box selection (shift-drag in any mode) of the right half, with the filter on disagreements:
    # only the filter's clips are selected.
    page.select_option("select[name=agree]", "disagree")
    page.wait_for_function("n => document.getElementById('map-plot').dataset.shown === String(n)",
                           arg=int((clips.label != clips.pred).sum()))
    box = page.locator("#map-plot canvas.overlay").bounding_box()  # selecting the filter may scroll
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("() => { const cards = document.querySelectorAll('#selection-grid .card');"
                           " return cards.length && [...cards].every((c) => c.classList.contains('wrong')); }")
    shown = [p.text_content() for p in page.locator("#selection-grid .card .path").all()]
    picked = clips.set_index("path").loc[shown]
    assert len(shown) == int(page.text_content("#selection-title").split()[0]) > 0
    assert (picked.label != picked.pred).all() and picked.x.min() >= middle - 0.3


def test_issue_with_a_note_survives_reload_and_shows_markup_as_text(page, served):
    run, url = served
    page.goto(url)
    page.wait_for_selector(".card")
    page.locator(".card .pick").nth(0).check()
    page.locator(".card .pick").nth(1).check()
    page.click("#issue-from-picked")
    note = "<script>window.__injected = 1</script><b>not bold</b>"
    page.fill("#new-issue input[name=title]", "Cut-off clips")
    page.fill("#new-issue textarea[name=notes]", note)
    page.click("#create-issue")
    page.wait_for_selector(".toast >> text=created with 2 clips")
    page.goto(url + "?view=issues")
    page.reload()
    issue = page.locator(".issue", has_text="Cut-off clips")
    issue.wait_for()
    assert issue.locator(".notes").text_content() == note
    assert issue.locator(".notes b").count() == 0
    assert page.evaluate("window.__injected") is None
    assert "2 clips" in issue.locator(".size").text_content()
    shoot(page, "issues")
    issue.locator("button.open").click()
    page.wait_for_selector(".issue-banner")
    assert page.locator(".card").count() == 2
    assert page.locator(".issue-banner .notes").text_content() == note


def test_correct_a_label(page, served):
    run, url = served
    page.goto(url + "?agree=disagree")
    page.wait_for_selector(".card")
    card = page.locator(".card").first
    path = card.locator(".path").text_content()
    card.locator("select.correct").select_option("_cutoff_")
    page.wait_for_selector(".toast >> text=marked cut-off")
    assert httpx.get(url + "api/corrections").json()["corrections"] == [{"path": path, "label": "_cutoff_"}]
    page.reload()
    page.wait_for_selector(".card.corrected")
    assert page.locator(".card.corrected .correction").first.text_content() == "corrected: cut-off"
    page.click("#tabs a[data-view=corrections]")
    page.wait_for_selector("table.corrections")
    assert path in page.text_content("table.corrections")
    shoot(page, "corrections")


def test_confusion_cell_opens_its_clips_by_confidence(page, served):
    run, url = served
    page.goto(url + "?view=metrics")
    cell = page.locator("table.confusion td.cell:not(.zero)[data-label=yes][data-pred=no]")
    cell.wait_for()
    shoot(page, "metrics")
    cell.click()
    page.wait_for_selector(".card")
    assert "label=yes" in page.url and "pred=no" in page.url and "sort=confidence" in page.url
    clips = clips_table(run)
    expected = clips[(clips.label == "yes") & (clips.pred == "no")].sort_values("confidence", ascending=False)
    shown = [p.text_content() for p in page.locator(".card .path").all()]
    assert shown == expected.path.tolist()
