"""End-to-end on a real analysis (`hark synth` -> train -> evaluate -> `hark analyze`): the real
server and front end in headless Chromium (Debian's package, driven by Playwright).
Screenshots of each main view land in .shots/ (not committed)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from explorer_fixtures import CHROMIUM, CHROMIUM_ARGS, make_analysed_run

from hark import schema
from hark.errors import HarkError

SHOTS = Path(__file__).resolve().parents[1] / ".shots"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
MAP_READY = "() => { const p = document.getElementById('map-plot'); return p && p.dataset.shown && p.pointcloud; }"
PAIR = re.compile(r"'([^']+)' heard as '([^']+)' \((\d+) of (\d+)")


@pytest.fixture(scope="session")
def analysed(tmp_path_factory) -> Path:
    try:
        return make_analysed_run(tmp_path_factory.getbasetemp() / "explorer-real-run")
    except (HarkError, OSError) as err:
        pytest.skip(f"cannot build a real analysis here ({err})")


@pytest.fixture(scope="module")
def served(analysed):
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "explore", str(analysed), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    match = re.search(r"http://\S+/", server.stdout.readline())
    assert match, "the explorer printed no URL"
    yield analysed, match.group(0)
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
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors, writes = [], []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("request", lambda r: writes.append(f"{r.method} {r.url}") if r.method not in ("GET", "HEAD") else None)
    page.set_default_timeout(20_000)
    page.writes = writes
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture(autouse=True)
def no_corrections_left(served):
    yield
    _, url = served
    for c in httpx.get(url + "api/corrections").json()["corrections"]:
        httpx.delete(url + "api/corrections", params={"path": c["path"]})


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def clips_of(run: Path) -> pd.DataFrame:
    clips = pd.read_parquet(run / schema.ANALYSIS_DIR / schema.CLIPS_FILE)
    return clips.rename(columns={"oos_pred": schema.OOF_PRED})  # a file from before the rename


def findings_of(run: Path) -> list[dict]:
    return json.loads((run / schema.ANALYSIS_DIR / schema.FINDINGS_FILE).read_text())


def total(page) -> int:
    page.wait_for_selector(".pager")
    return int(re.search(r"· ([\d,]+) clips", page.text_content(".pager")).group(1).replace(",", ""))


def card_paths(page) -> list[str]:
    return [p.text_content() for p in page.locator("#grid .card .path").all()]


def test_overview_links_land_on_the_right_clips(page, served):
    run, url = served
    clips = clips_of(run)
    wrong = clips[clips.label != clips[schema.OOF_PRED]]
    page.goto(url)
    page.wait_for_selector(".modes .mode")
    shoot(page, "overview")
    page.click(f".story a:has-text('{len(wrong)} errors')")
    page.wait_for_selector("#grid .card")
    assert "agree=disagree" in page.url and total(page) == len(wrong)
    assert page.locator("#chips .chip").count() == 1
    page.go_back()
    first_pair = page.locator(".pairs a").first
    label, pred = re.match(r"'([^']+)' heard as '([^']+)'", first_pair.text_content()).groups()
    first_pair.click()
    page.wait_for_selector("#grid .card")
    expected = wrong[(wrong.label == label) & (wrong[schema.OOF_PRED] == pred)]
    assert total(page) == len(expected) and set(card_paths(page)) <= set(expected.path)
    page.go_back()
    page.click(".mode[data-mode='1'] a.open-mode")
    page.wait_for_selector("#grid .card")
    assert "mode=1" in page.url and total(page) == len(findings_of(run)[0]["clips"])


def test_a_failure_mode_opens_the_clips_its_sentence_describes(page, served):
    run, url = served
    for number, finding in enumerate(findings_of(run), 1):
        opened = httpx.get(url + "api/clips", params={"mode": number, "limit": 500}).json()
        assert {c["path"] for c in opened["clips"]} == set(finding["clips"])
        assert all(c["pred"] != c["label"] for c in opened["clips"])  # errors by the prediction the analysis used
        stated = PAIR.search(finding["description"])
        if stated:  # "'no' heard as 'up' (17 of 91 ...": exactly that many of the opened cards show it
            label, pred, count, size = stated.groups()
            shown = sum(c["label"] == label and c["pred"] == pred for c in opened["clips"])
            assert (shown, len(opened["clips"])) == (int(count), int(size))
    page.goto(url + "?view=clips&mode=1")
    page.wait_for_selector("#grid .card")
    assert all(c.get_attribute("class").count("wrong") for c in page.locator("#grid .card").all())
    chip = page.locator("#chips .chip[data-key=mode]")
    assert "failure mode 1" in chip.text_content()
    shoot(page, "failure-mode")
    chip.locator("button.chip-remove").click()
    page.wait_for_function("() => !location.search.includes('mode=')")
    assert page.locator("#chips .chip").count() == 0


def test_detail_view_playhead_moves_while_the_audio_plays(page, served):
    run, url = served
    page.goto(url + "?view=clips")
    page.wait_for_selector("#grid .card")
    listed = card_paths(page)
    page.keyboard.press("j")  # the first card takes focus
    page.keyboard.press("Enter")
    page.wait_for_selector(".detail .spec-axes")
    assert "view=clip" in page.url
    axes = page.text_content(".spec-axes")
    assert "kHz" in axes and "0.5s" in axes
    assert page.locator("table.scores tr").count() == len(schema.DETECTORS) + 1
    assert page.locator(".top-k li").count() >= 2
    page.wait_for_function("() => document.getElementById('detail-audio').readyState >= 2")
    page.keyboard.press(" ")  # plays
    page.wait_for_function("() => Number(document.getElementById('playhead').dataset.time) > 0.2")
    left = page.evaluate("parseFloat(document.getElementById('playhead').style.left)")
    assert 0 < left <= 100
    shoot(page, "detail")
    assert page.get_attribute(".detail", "data-path") == listed[0]
    page.keyboard.press("j")  # the next clip of the list, without leaving the details
    page.wait_for_function("p => document.querySelector('.detail')?.dataset.path === p", arg=listed[1])
    page.keyboard.press("Escape")  # back to the list, not to the previous clip
    page.wait_for_selector("#grid .card")
    assert "view=clips" in page.url


def test_keyboard_walk_correction_needs_confirm_and_can_be_undone(page, served):
    run, url = served
    page.goto(url + "?view=clips")
    page.wait_for_selector("#grid .card")
    tab_stops = "document.querySelectorAll('#grid [tabindex=\"0\"], #grid button:not([tabindex]), #grid select').length"
    assert page.evaluate(tab_stops) == 1  # the card list is one tab stop, not 60 cards x 5 controls
    page.keyboard.press("j")
    for key in ("j", "ArrowRight", "ArrowDown", "k", "ArrowUp", "ArrowLeft"):
        page.keyboard.press(key)
    focused = page.evaluate("document.activeElement.dataset.id")
    assert focused == page.locator("#grid .card").first.get_attribute("data-id")
    path = page.locator("#grid .card").first.locator(".path").text_content()
    page.keyboard.press("c")  # the dialog opens; choosing a label writes nothing
    page.wait_for_selector("#correct-dialog[open]")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    assert page.writes == [] and httpx.get(url + "api/corrections").json()["corrections"] == []
    page.keyboard.press("c")
    page.wait_for_selector("#correct-dialog[open]")
    page.keyboard.press("ArrowDown")
    chosen = page.input_value("#correct-label")
    for _ in range(6):  # Tab to the confirm button
        if page.evaluate("document.activeElement.id") == "save-correction":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".toast >> text=marked")
    assert httpx.get(url + "api/corrections").json()["corrections"] == [{"path": path, "label": chosen}]
    assert page.locator("#grid .card.corrected").count() == 1
    shoot(page, "correction")
    page.keyboard.press("u")  # undo on the spot
    page.wait_for_selector(".toast >> text=undone")
    assert httpx.get(url + "api/corrections").json()["corrections"] == []
    assert page.locator("#grid .card.corrected").count() == 0
    page.keyboard.press("?")
    page.wait_for_selector("#help[open] kbd")
    assert "undo" in page.text_content("#help")


def test_map_legend_solo_hide_and_muted_no_mode(page, served):
    run, url = served
    page.goto(url + "?view=map")
    page.wait_for_function(MAP_READY)
    page.select_option("#map-colour", "mode")
    page.wait_for_selector("#map-legend button.legend-entry[data-name='no failure mode']")
    drawn = page.evaluate("document.getElementById('map-plot').pointcloud.groups.map((g) => [g.name, g.colour])")
    assert drawn[0][0] == "no failure mode" and drawn[0][1] == "#c8ccd2"  # underneath, in grey
    first = page.locator("#map-legend li").nth(1)
    name = first.locator("button.legend-entry").get_attribute("data-name")
    first.locator("button.solo").click()
    names = page.evaluate("document.getElementById('map-plot').pointcloud.groups.map((g) => g.name)")
    assert names == [name]
    shoot(page, "map-solo")
    first.locator("button.legend-entry").click()  # hide it too: nothing left
    assert page.evaluate("document.getElementById('map-plot').pointcloud.groups.length") == 0
    page.click("#map-legend button.legend-entry[data-name='no failure mode']")
    names = page.evaluate("document.getElementById('map-plot').pointcloud.groups.map((g) => g.name)")
    assert names == ["no failure mode"]
    page.click("#map-density")
    assert page.evaluate("document.getElementById('map-plot').pointcloud.density")


def test_selection_stays_consistent_with_the_filter(page, served):
    run, url = served
    clips = clips_of(run)
    page.goto(url + "?view=map")
    page.wait_for_function(MAP_READY)
    box = page.locator("#map-plot canvas.overlay").bounding_box()
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 1, box["y"] + 1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] - 1, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_selector("#selection-grid .card")
    assert page.locator("#map-plot canvas.overlay").bounding_box()["y"] == box["y"]  # no layout jump
    assert page.text_content("#picked-count").startswith(f"{len(clips)} selected")
    assert page.evaluate("document.getElementById('map-plot').pointcloud.highlight.length") == len(clips)
    shoot(page, "map-selection")
    page.select_option("select[name=agree]", "disagree")
    wrong = int((clips.label != clips[schema.OOF_PRED]).sum())
    page.wait_for_function(
        "n => document.getElementById('picked-count').textContent.startsWith(n + ' selected')", arg=wrong
    )
    assert f"{len(clips) - wrong} left the selection: outside the filter" in page.text_content("#picked-count")
    assert page.evaluate("document.getElementById('map-plot').pointcloud.highlight.length") == wrong
    page.click("#issue-from-picked")
    page.fill("#new-issue input[name=title]", "errors on the map")
    page.click("#create-issue")
    page.wait_for_selector(f".toast >> text=created with {wrong} clips")


def test_confusion_cell_is_reachable_by_keyboard_and_opens_its_clips(page, served):
    run, url = served
    clips = clips_of(run)
    out_of_fold = clips[clips.label != clips[schema.OOF_PRED]].groupby(["label", schema.OOF_PRED]).size()
    final_model = clips[clips.label != clips.pred].groupby(["label", "pred"]).size()
    # a cell that holds clips in both views, so that the switch has cards to show
    label, pred = out_of_fold[out_of_fold.index.isin(final_model.index)].idxmax()
    page.goto(url + "?view=metrics")
    cell = page.locator(f"table.confusion td.cell[data-label='{label}'][data-pred='{pred}'] button")
    cell.wait_for()
    shoot(page, "metrics")
    cell.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#grid .card")
    assert f"label={label}" in page.url and f"pred={pred}" in page.url
    assert total(page) == ((clips.label == label) & (clips[schema.OOF_PRED] == pred)).sum()
    page.click("#prediction-switch button[value=final]")  # the one switch to the final model's view
    final = int(((clips.label == label) & (clips.pred == pred)).sum())
    page.wait_for_function(
        "n => location.search.includes('prediction=final') && document.querySelector('.pager')"
        " .textContent.includes(`· ${n} clips`)",
        arg=final,
    )
    assert {b.get_attribute("title") for b in page.locator("#grid .card .pred").all()} == {"predicted (final model)"}


def test_issue_with_a_note_survives_reload_and_shows_markup_as_text(page, served):
    run, url = served
    page.goto(url + "?view=clips")
    page.wait_for_selector("#grid .card")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.click("#issue-from-picked")
    note = "<script>window.__injected = 1</script><b>not bold</b>"
    page.fill("#new-issue input[name=title]", "Two clips")
    page.fill("#new-issue textarea[name=notes]", note)
    page.click("#create-issue")
    page.wait_for_selector(".toast >> text=created with 2 clips")
    page.goto(url + "?view=issues")
    page.reload()
    issue = page.locator(".issue", has_text="Two clips")
    issue.wait_for()
    assert issue.locator(".notes").text_content() == note
    assert issue.locator(".notes b").count() == 0 and page.evaluate("window.__injected") is None
    shoot(page, "issues")
    issue.locator("button.open").click()
    page.wait_for_selector(".issue-banner")
    assert page.locator("#grid .card").count() == 2


def test_hostile_inputs_get_readable_answers(page, served):
    run, url = served
    page.goto(url + "?view=clips&mode=abc")
    page.wait_for_selector(".problem")
    text = page.text_content(".problem")
    assert "not valid" in text and "mode" in text and "{" not in text
    shoot(page, "bad-link")
    page.click(".problem button")
    page.wait_for_selector("#grid .card")
    page.goto(url + "?view=clip&path=../../etc/passwd")
    page.wait_for_selector(".problem")
    assert "not a clip of this run" in page.text_content(".problem")
    host = httpx.URL(url).netloc.decode()
    assert httpx.get(url + "api/summary", headers={"host": "rebound.example:" + host.split(":")[-1]}).status_code == 421
    forged = httpx.post(url + "api/issues", json={"title": "csrf"}, headers={"origin": "http://evil.example"})
    assert forged.status_code == 403
    huge = httpx.get(url + "api/issues/99999999999999999999")
    assert huge.status_code == 422 and len(huge.content) < 1000


@pytest.fixture(scope="module")
def served_pair(analysed, tmp_path_factory):
    """`hark explore A B`: B is A's analysis with every third clip now right."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    run_b = tmp_path_factory.mktemp("compare") / "run-b"
    shutil.copytree(analysed, run_b, ignore=shutil.ignore_patterns("explorer*", "checkpoints", "tensorboard"))
    table = pq.read_table(run_b / schema.ANALYSIS_DIR / schema.CLIPS_FILE)
    clips = table.to_pandas()
    column = schema.OOF_PRED if schema.OOF_PRED in clips else "oos_pred"
    clips[column] = clips[column].where(clips.index % 3 != 0, clips.label)
    pq.write_table(
        pa.Table.from_pandas(clips, preserve_index=False).replace_schema_metadata(table.schema.metadata),
        run_b / schema.ANALYSIS_DIR / schema.CLIPS_FILE,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "explore", str(analysed), str(run_b), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    match = re.search(r"http://\S+/", server.stdout.readline())
    assert match, "the explorer printed no URL"
    yield clips.rename(columns={column: "b_pred"}), match.group(0)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def test_compare_two_runs_in_the_app(page, served, served_pair):
    run, _ = served
    b, url = served_pair
    a = clips_of(run)
    fixed = a[(a.label != a[schema.OOF_PRED]) & (b.b_pred == b.label)]
    page.goto(url)
    page.wait_for_selector(".compare-section")
    page.click(f".compare-section a:has-text('{len(fixed)} fixed by B')")
    page.wait_for_selector("#grid .card")
    assert "compare=fixed" in page.url and total(page) == len(fixed)
    card = page.locator("#grid .card").first
    assert (
        card.locator(".compare-pred.right").count() == 1
        and card.locator(".pred").text_content() != card.locator(".label").text_content()
    )
    shoot(page, "compare")


def test_map_hover_preview_click_plays_and_lasso_selects(page, served):
    run, url = served
    clips = clips_of(run)
    page.goto(url + "?view=map")
    page.wait_for_function(MAP_READY)
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
    page.wait_for_selector("#map-tip:not([hidden]) .tip-extra img")  # the clip's spectrogram
    row = clips.iloc[point[2]]
    assert page.text_content("#map-tip .tip-labels") == f"{row.label} → {row[schema.OOF_PRED]}"
    assert row.path in page.text_content("#map-tip")
    page.mouse.click(x, y)
    page.wait_for_function("() => document.getElementById('player').src.includes('/api/audio')")
    assert httpx.URL(page.evaluate("document.getElementById('player').src")).params["path"] == row.path
    page.click("#map-modes button[value=lasso]")
    left, top, right, bottom = box["x"] + 2, box["y"] + 2, box["x"] + box["width"] / 2, box["y"] + box["height"] - 2
    page.mouse.move(left, top)
    page.mouse.down()
    for px, py in ((right, top), (right, bottom), (left, bottom), (left, top + 1)):
        page.mouse.move(px, py, steps=5)
    page.mouse.up()
    page.wait_for_selector("#selection-grid .card")
    selected = int(page.text_content("#selection-title").split()[0])
    shown = [p.text_content() for p in page.locator("#selection-grid .card .path").all()]
    middle = page.evaluate(
        "(() => { const c = document.getElementById('map-plot').pointcloud; return c.toWorld(c.width / 2, 0)[0]; })()"
    )
    assert 0 < selected == len(shown) or len(shown) == schema.PAGE_SIZE
    assert clips.set_index("path").loc[shown].x.max() <= middle
    page.focus("#map-plot")  # the map is reachable and pans by keyboard
    before = page.evaluate("document.getElementById('map-plot').pointcloud.view.x[0]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.getElementById('map-plot').pointcloud.view.x[0]") > before
    shoot(page, "map")


def test_a_missing_data_folder_is_said_on_the_page_and_the_cards(browser, analysed, tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "explore", str(analysed), "--port", "0", "--data", str(tmp_path / "moved")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        match = re.search(r"http://\S+/", server.stdout.readline())
        assert match, "the explorer printed no URL"
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(match.group(0) + "?view=clips")
        page.wait_for_selector("#grid .card")
        assert "not found" in page.text_content("#data-warning") and page.is_visible("#data-warning")
        assert page.locator("#grid .card .spec.missing").count() == page.locator("#grid .card").count()
        page.keyboard.press("j")
        page.keyboard.press(" ")  # trying to play says why it cannot
        page.wait_for_selector(".toast.error >> text=Cannot play")
        shoot(page, "no-data")
        page.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert "not found" in server.stderr.read()  # and at start, in the terminal
