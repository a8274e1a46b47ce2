"""Explorer speed at 100,000 clips vs the same measurements on the 50-clip baseline run, in real
headless Chromium: first paint of the grid and of the map, filter-change latency on both, the
time to open a clip's detail view from the grid (Enter on a card until its spectrogram, axes and
waveform are drawn), and server memory. Goals: first paint <= 2 s, filter change <= 200 ms.

    python benchmarks/bench_explorer.py [--clips 100000]
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from explorer_fixtures import CHROMIUM, CHROMIUM_ARGS, make_fake_run  # noqa: E402

GOALS = {
    "grid first paint (s)": 2.0,
    "map first paint (s)": 2.0,
    "filter change, grid (ms)": 200.0,
    "filter change, map (ms)": 200.0,
    "detail view open (ms)": 1000.0,
}

# Changes the agreement filter and resolves once the view has re-rendered and painted.
FILTER_CHANGE_JS = """async (value) => {
  const before = Number(document.body.dataset.rendered);
  const select = document.querySelector('select[name=agree]');
  const start = performance.now();
  select.value = value;
  select.dispatchEvent(new Event('change'));
  await new Promise((done) => {
    const watch = new MutationObserver(() => {
      if (Number(document.body.dataset.rendered) > before) { watch.disconnect(); done(); }
    });
    watch.observe(document.body, { attributes: true });
  });
  await new Promise(requestAnimationFrame);
  return performance.now() - start;
}"""


def grow(run: Path, clips: int) -> None:
    """Duplicate the run's rows up to `clips`, jittering the map so points do not stack."""
    table = pd.read_parquet(run / "analysis" / "clips.parquet")
    big = table.iloc[np.arange(clips) % len(table)].reset_index(drop=True)
    rng = np.random.default_rng(0)
    big["x"] = big["x"] + rng.normal(scale=0.2, size=clips)
    big["y"] = big["y"] + rng.normal(scale=0.2, size=clips)
    big["loss"] = big["loss"] + rng.uniform(0, 1e-3, size=clips)
    big.to_parquet(run / "analysis" / "clips.parquet", index=False)


def open_detail(page, nth: int) -> float:
    """Milliseconds from Enter on the nth card to a drawn detail view (spectrogram loaded)."""
    page.wait_for_selector("#grid .card")
    page.locator("#grid .card").nth(nth).focus()
    start = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => { const img = document.querySelector('#spec-large img');"
        " return img && img.complete && img.naturalWidth && document.querySelector('.spec-axes'); }"
    )
    elapsed = (time.perf_counter() - start) * 1000
    page.go_back()
    return elapsed


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(run: Path, browser) -> dict[str, float]:
    server = subprocess.Popen(
        [sys.executable, "-m", "hark.cli", "explore", str(run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url + "?view=metrics")  # warm the server (first requests import lazily)
        page.wait_for_selector("table.confusion")
        page.evaluate("""async () => { const { clips } = await (await fetch('/api/clips?limit=1')).json();
            await fetch('/api/spectrogram?path=' + encodeURIComponent(clips[0].path)); }""")  # matplotlib, librosa
        start = time.perf_counter()
        page.goto(url + "?view=clips")
        page.wait_for_selector(".card")
        grid_paint = time.perf_counter() - start
        grid_filter = np.median([page.evaluate(FILTER_CHANGE_JS, v) for v in ("disagree", "agree", "", "disagree")])
        detail = np.median([open_detail(page, k) for k in range(1, 4)])
        start = time.perf_counter()
        page.goto(url + "?view=map")
        page.wait_for_function(
            "() => { const p = document.getElementById('map-plot'); return p && p.dataset.shown && p.pointcloud; }"
        )
        page.evaluate("() => new Promise(requestAnimationFrame)")
        map_paint = time.perf_counter() - start
        map_filter = np.median([page.evaluate(FILTER_CHANGE_JS, v) for v in ("disagree", "agree", "", "disagree")])
        page.close()
        return {
            "grid first paint (s)": grid_paint,
            "map first paint (s)": map_paint,
            "filter change, grid (ms)": grid_filter,
            "filter change, map (ms)": map_filter,
            "detail view open (ms)": detail,
            "server RSS (MB)": rss_mb(server.pid),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=list(CHROMIUM_ARGS),
        )
        small = make_fake_run(Path(tmp) / "small")
        large = make_fake_run(Path(tmp) / "large")
        grow(large, args.clips)
        n_small = len(pd.read_parquet(small / "analysis" / "clips.parquet"))
        baseline, scaled = measure(small, browser), measure(large, browser)
        browser.close()
    print(f"{'measure':28} {f'{n_small} clips':>12} {f'{args.clips:,} clips':>14} {'ratio':>7} {'goal':>7}")
    for name, value in scaled.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else ("ok" if value <= goal else "MISSED")
        print(
            f"{name:28} {baseline[name]:12.3f} {value:14.3f} {value / baseline[name]:7.1f} "
            f"{'' if goal is None else goal:>7} {verdict}"
        )


if __name__ == "__main__":
    main()
