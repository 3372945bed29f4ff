"""The standalone bundle in headless Chromium: the four views draw, hover and click work, and
corpus text that looks like HTML stays text.

Needs the built bundle (built here with ``npm run build`` when missing) and Debian's Chromium.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import make_fixture  # noqa: E402

BUNDLE = ROOT / "rnnbow_widget" / "static" / "standalone.js"
ARTIFACTS = ROOT / "test-artifacts"
COUNT = 300
N = 25


def ensure_bundle() -> Path:
    """Build the front end when the bundle is missing."""
    if not BUNDLE.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to build rnnbow_widget/static/standalone.js"
        if not (ROOT / "node_modules").exists():
            subprocess.run([npm, "install"], cwd=ROOT, check=True)
        subprocess.run([npm, "run", "build"], cwd=ROOT, check=True)
    assert BUNDLE.exists()
    return BUNDLE


def page_html(fixture: dict, bundle: str) -> str:
    """A page that inlines the bundle and mounts the widget on the fixture."""
    data = json.dumps(fixture).replace("<", "\\u003c")
    script = bundle.replace("</script", "<\\/script")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>RNNbow standalone test</title></head>
<body style="margin:16px;background:#fff">
<div id="host" style="max-width:1100px"></div>
<script>{script}</script>
<script>
  const fixture = JSON.parse({json.dumps(data)});
  const host = document.getElementById("host");
  window.rnnbow = RNNbowStandalone.mount(host, fixture.state, fixture.blocks);
</script>
</body></html>"""


def chunk_text(columns: dict, index: int) -> str:
    vocab = make_fixture.vocabulary()
    return "".join(vocab[i] for i in columns["targets"][index])


@pytest.fixture(scope="module")
def browser_page(browser, artifacts):
    bundle = ensure_bundle().read_text(encoding="utf-8")
    columns = make_fixture.make_records(COUNT, N, seed=0)
    fixture = {
        "state": make_fixture.make_state(COUNT, N),
        "blocks": make_fixture.to_blocks(columns, block_size=128),
    }
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "rnnbow.html"
        page_path.write_text(page_html(fixture, bundle), encoding="utf-8")
        page = browser.new_page()
        page.set_viewport_size({"width": 1160, "height": 1050})
        # Nothing may leave the machine: abort every request that is not the page itself.
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(page_path.as_uri())
        page.wait_for_selector("[data-rnnbow-view=horizon] .rnnbow-horizon-bar")
        yield {"page": page, "dialogs": dialogs, "errors": errors, "columns": columns}
        page.close()


def test_four_views_are_drawn(browser_page):
    page = browser_page["page"]
    overview = page.locator("[data-rnnbow-view=overview]")
    assert overview.get_attribute("data-records") == str(COUNT)
    painted = page.evaluate(
        """() => {
          const canvas = document.querySelector('[data-rnnbow-view=overview] canvas');
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let coloured = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i] < 200 || data[i + 2] < 200) coloured++;
          }
          return coloured;
        }"""
    )
    assert painted > 2000, "the overview canvas has (almost) no bars painted"
    assert page.locator("[data-rnnbow-view=labels] text.rnnbow-label-true").count() == N
    assert page.locator("[data-rnnbow-view=labels] text.rnnbow-label-predicted").count() == N
    k = 5
    expected_segments = sum(min(k, N - j) for j in range(N))
    assert page.locator("[data-rnnbow-view=bars] rect[data-source]").count() == expected_segments
    assert page.locator("[data-rnnbow-view=horizon] .rnnbow-horizon-bar").count() >= 1
    assert "Latest chunk 299" in page.locator(".rnnbow-info").inner_text()
    page.screenshot(path=str(ARTIFACTS / "standalone-initial.png"), full_page=True)
    assert browser_page["errors"] == []


def test_hovering_a_segment_shows_its_source_in_the_horizon_view(browser_page):
    page = browser_page["page"]
    horizon = page.locator("[data-rnnbow-view=horizon] svg")
    default_source = int(horizon.get_attribute("data-source"))
    # The tallest segment of a source other than the one shown by default (easy to point at).
    source, step = page.evaluate(
        """(skip) => {
          const rects = [...document.querySelectorAll('[data-rnnbow-view=bars] rect[data-source]')]
            .filter((r) => Number(r.dataset.source) !== skip && Number(r.dataset.source) > 3);
          rects.sort((a, b) => b.height.baseVal.value - a.height.baseVal.value);
          return [Number(rects[0].dataset.source), Number(rects[0].dataset.step)];
        }""",
        default_source,
    )
    segment = page.locator(
        f"[data-rnnbow-view=bars] rect[data-source='{source}'][data-step='{step}']"
    )
    segment.hover()
    assert horizon.get_attribute("data-source") == str(source)
    assert page.locator("[data-rnnbow-view=horizon] .rnnbow-horizon-bar").count() == source + 1
    highlighted = page.locator("[data-rnnbow-view=bars] rect[data-highlighted=true]")
    assert highlighted.count() == min(5, source + 1)
    shade = page.locator("[data-rnnbow-view=labels] .rnnbow-label-shade")
    assert shade.get_attribute("data-source") == str(source)
    assert "step back keeps" in page.locator(".rnnbow-horizon-stats").inner_text()
    page.screenshot(path=str(ARTIFACTS / "standalone-hover-segment.png"), full_page=True)


def test_clicking_the_overview_selects_that_chunk(browser_page):
    page = browser_page["page"]
    info = page.locator(".rnnbow-info")
    before = info.inner_text()
    overlay = page.locator("[data-rnnbow-view=overview] .rnnbow-overview-overlay")
    box = overlay.bounding_box()
    # A quarter of the way along the plot (between the left and right axes).
    x = 76 + (box["width"] - 76 - 64) * 0.25
    overlay.click(position={"x": x, "y": 120})
    after = info.inner_text()
    assert after != before
    assert after.startswith("Selected chunk")
    selected = int(page.locator(".rnnbow-root").get_attribute("data-selected"))
    assert 60 <= selected <= 90
    assert page.evaluate("() => window.rnnbow.model.get('selected_batch')") == selected
    page.mouse.move(5, 5)
    page.screenshot(path=str(ARTIFACTS / "standalone-selected.png"), full_page=True)


def test_html_in_the_corpus_is_shown_as_text_and_never_runs(browser_page):
    page = browser_page["page"]
    columns = browser_page["columns"]
    index = next(i for i in range(COUNT) if "<img" in chunk_text(columns, i))
    page.evaluate(f"() => window.rnnbow.model.set('selected_batch', {index})")
    shown = page.eval_on_selector_all(
        "[data-rnnbow-view=labels] text.rnnbow-label-true",
        "els => els.map(e => e.textContent).join('')",
    )
    assert "<img" in shown
    assert page.locator(".rnnbow-root img, .rnnbow-root script").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2
    page.screenshot(path=str(ARTIFACTS / "standalone-injection-text.png"), full_page=True)
    assert browser_page["dialogs"] == []
    assert browser_page["errors"] == []


def test_a_single_run_shows_no_comparison_controls(browser_page):
    page = browser_page["page"]
    control = page.get_by_text("same scale as the other runs")
    assert control.count() == 1  # present in the toolbar ...
    assert not control.is_visible()  # ... but hidden when the widget is not linked to others


def test_a_long_chunk_scrolls_its_largest_loss_into_view(browser, artifacts):
    # n = 100 columns do not fit the output: the views scroll sideways together. The horizon
    # panel describes the largest loss by default, so that column must be in view.
    from rnnbow_widget.payload import float32_to_bfloat16

    n, late = 100, 90
    columns = make_fixture.make_records(20, n, seed=1)
    columns["losses"][:, late] = float32_to_bfloat16(np.float32(50.0))
    fixture = {
        "state": make_fixture.make_state(20, n),
        "blocks": make_fixture.to_blocks(columns, block_size=128),
    }
    bundle = ensure_bundle().read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.html"
        path.write_text(page_html(fixture, bundle), encoding="utf-8")
        page = browser.new_page()
        page.set_viewport_size({"width": 1160, "height": 1050})
        page.goto(path.as_uri())
        page.wait_for_selector("[data-rnnbow-view=horizon] .rnnbow-horizon-bar")
        horizon = page.locator("[data-rnnbow-view=horizon] svg.rnnbow-horizon-svg")
        assert horizon.get_attribute("data-source") == str(late)
        box = page.evaluate(
            """(step) => {
              const detail = document.querySelector('.rnnbow-detail');
              const bar = document.querySelector(
                `[data-rnnbow-view=horizon] .rnnbow-horizon-bar[data-step='${step}']`);
              const d = detail.getBoundingClientRect(), b = bar.getBoundingClientRect();
              return { scrolls: detail.scrollWidth > detail.clientWidth,
                       scrollLeft: detail.scrollLeft,
                       inside: b.left >= d.left && b.right <= d.right };
            }""",
            late,
        )
        page.screenshot(path=str(ARTIFACTS / "standalone-long-chunk.png"), full_page=True)
        page.close()
    assert box["scrolls"], "the fixture should be wider than the output"
    assert box["scrollLeft"] > 0
    assert box["inside"], f"the largest loss's column is out of view: {box}"
