"""Long chunks (n = 512) in a real browser: records carry the band of the 32 nearest sources.

On an exported page (no kernel): the stacked bars are exact (band + the sums beyond it), the
selected chunk's horizon shows its whole row (the page embeds that whole triangle), another
chunk's shows the band and says the page holds only that; while the views scroll sideways the
bars' y axis stays in sight, hover and click still work, and the step numbers do not overlap.

In JupyterLab: the whole triangle arrives from the kernel when it is idle; while a cell runs the
horizon shows the band and says the rest is not loaded yet, and the whole row replaces it once
the cell ends. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnbow_widget.recording import Recording
from rnnbow_widget.widget import RNNbow

N, RECORDS, K_BAND = 512, 6, 32
#: bfloat16 keeps 8 significant bits: each magnitude within 2^-9 of its value, so their sums too.
RTOL = 5e-3

RECORDING_CODE = f"""\
import numpy as np
from rnnbow_widget.recording import Recording

def long_recording(n={N}, count={RECORDS}):
    # Gradients that decay slowly going back (0.99 per step): the band of 32 nearest sources
    # leaves a sizeable sum beyond it.
    rng = np.random.default_rng(0)
    recording = Recording(n, list("abcdefgh"), meta={{"title": "n = 512"}})
    t, j = np.indices((n, n))
    for i in range(count):
        recording.append(
            step=10 * i, inputs=rng.integers(0, 8, n), targets=rng.integers(0, 8, n),
            predictions=rng.integers(0, 8, n), losses=rng.random(n) * 3,
            magnitudes=np.tril((0.2 + rng.random((n, n))) * 0.99 ** (t - j)) * (1 + i),
        )
    return recording
"""

# The page's stacked value of each step drawn, from the segments' data-value (long chunks draw
# the columns in view and a margin).
STACKED = """() => {
  const totals = {};
  for (const rect of document.querySelectorAll('[data-rnnbow-view=bars] rect.rnnbow-segment')) {
    const j = rect.dataset.step;
    totals[j] = (totals[j] || 0) + Number(rect.dataset.value);
  }
  return totals;
}"""

# The step numbers under the horizon panel: their boxes, left to right.
STEP_NUMBERS = """() => [...document.querySelectorAll(
    '[data-rnnbow-view=horizon] svg.rnnbow-horizon-svg text[text-anchor=middle]')]
  .map((text) => text.getBoundingClientRect())
  .map((box) => [box.left, box.right])"""


CELL_OUTPUT = """(index) => window.jupyterapp.shell.currentWidget.content.widgets[index]
  .node.querySelector('.jp-OutputArea').textContent"""


def long_recording() -> Recording:
    namespace: dict = {}
    exec(RECORDING_CODE, namespace)  # the same recording as the notebook's
    return namespace["long_recording"]()


def assert_bars_exact(page, recording: Recording, index: int) -> None:
    """Every bar drawn (those in view and a margin) is its step's whole gradient; each stacks
    the k = 5 nearest losses one by one (fewer near the end of the chunk)."""
    magnitudes = np.zeros((N, N), dtype=np.float32)
    magnitudes[np.tril_indices(N)] = recording.column("magnitudes")[index]
    exact = magnitudes.sum(axis=0)
    drawn = {int(j): total for j, total in page.evaluate(STACKED).items()}
    assert len(drawn) >= 60, "the columns in view are drawn"
    for j, total in drawn.items():
        assert total == pytest.approx(exact[j], rel=RTOL), j
    j = min(drawn)
    sources = page.locator(f"[data-rnnbow-view=bars] rect[data-source][data-step='{j}']")
    assert sources.count() == min(5, N - j)


def assert_whole_row(state: dict) -> None:
    """The whole row of the source: its bars reach beyond the band's 32 nearest steps."""
    assert state["magnitudes"] == "whole", state
    assert state["first"] < state["source"] - K_BAND + 1, state
    assert state["bars"] == state["source"] - state["first"] + 1, state


def assert_band(state: dict) -> None:
    """Only the band: the 32 steps nearest to the source."""
    assert state["magnitudes"] == "band", state
    assert state["first"] == max(0, state["source"] - K_BAND + 1), state
    assert state["bars"] == state["source"] - state["first"] + 1, state


def horizon_state(page) -> dict:
    """The horizon panel: whole row or band, its source, its bars (the columns drawn: those in
    view and a margin; one per step from `first` to the source) and its note."""
    return page.evaluate(
        """() => {
          const svg = document.querySelector('[data-rnnbow-view=horizon] svg.rnnbow-horizon-svg');
          const note = document.querySelector('.rnnbow-horizon-note');
          const steps = [...svg.querySelectorAll('.rnnbow-horizon-bar')]
            .map((bar) => Number(bar.dataset.step));
          return { magnitudes: svg.dataset.magnitudes, source: Number(svg.dataset.source),
                   bars: steps.length, first: Math.min(...steps),
                   note: note.hidden ? '' : note.textContent };
        }"""
    )


@pytest.fixture(scope="module")
def exported(browser, tmp_path_factory):
    recording = long_recording()
    widget = RNNbow(recording)
    widget.selected_batch = 2
    path = tmp_path_factory.mktemp("long") / "long.html"
    widget.save_html(path)
    widget.close()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_selector("[data-rnnbow-view=horizon] .rnnbow-horizon-bar", state="attached")
    yield page, recording
    page.close()
    assert errors == []


def test_an_exported_page_draws_the_band_exactly_and_the_selected_chunks_whole_row(
    exported, artifacts
):
    page, recording = exported
    assert page.locator(".rnnbow-root").get_attribute("data-selected") == "2"
    # Stacked bars: k = 5 sources one by one, the grey segment the rest, exact via `beyond`.
    assert_bars_exact(page, recording, 2)
    legend = page.locator(".rnnbow-legend-band").inner_text()
    assert "k is at most 32 for chunks this long" in legend
    assert page.locator(".rnnbow-horizon-range").get_attribute("max") == str(K_BAND)
    # The page embeds chunk 2's whole triangle: its horizon shows the whole row.
    state = horizon_state(page)
    assert state["magnitudes"] == "whole" and state["note"] == ""
    assert_whole_row(state)
    page.screenshot(path=str(artifacts / "long-chunks-whole.png"), full_page=True)

    page.locator(".rnnbow-root").press("ArrowRight")
    page.wait_for_selector(".rnnbow-root[data-selected='3']")
    state = horizon_state(page)
    assert_band(state)
    assert state["note"] == (
        "Showing the 32 steps nearest to each loss: this page holds only those for chunk 3 "
        "(the whole matrix only for chunk 2)."
    )
    assert page.locator(".rnnbow-horizon-not-held-text").text_content() == "← not in this page"
    assert_bars_exact(page, recording, 3)
    page.screenshot(path=str(artifacts / "long-chunks-band.png"), full_page=True)


def test_while_scrolled_the_axis_stays_in_sight_and_hover_and_click_work(exported, artifacts):
    page, _ = exported
    detail = page.locator(".rnnbow-detail")
    scroll = page.evaluate(
        """() => { const d = document.querySelector('.rnnbow-detail');
                   d.scrollLeft = Math.floor(d.scrollWidth / 2);
                   return { left: d.scrollLeft, room: d.clientWidth, width: d.scrollWidth }; }"""
    )
    assert scroll["width"] > 3 * scroll["room"] and scroll["left"] > 0
    # Scrolled beyond the columns drawn: they are drawn again at the next frame.
    page.wait_for_function(
        """() => { const view = document.querySelector('.rnnbow-detail').getBoundingClientRect();
                   const middle = view.left + view.width / 2;
                   return [...document.querySelectorAll('[data-rnnbow-view=bars] rect[data-step]')]
                     .some((rect) => { const b = rect.getBoundingClientRect();
                                       return b.left <= middle && b.right >= middle; }); }"""
    )
    box = detail.bounding_box()
    # The bars' y axis: what is drawn at the detail's left edge is the pinned copy of the axis.
    axis = page.evaluate(
        """([x, y]) => { const hit = document.elementFromPoint(x, y);
                        return hit && hit.closest('svg').getAttribute('class'); }""",
        [
            box["x"] + 30,
            page.locator("[data-rnnbow-view=bars] svg.rnnbow-bars-svg").bounding_box()["y"] + 90,
        ],
    )
    assert axis == "rnnbow-pinned-gutter"
    pinned = page.locator("[data-rnnbow-view=bars] svg.rnnbow-pinned-gutter")
    assert pinned.bounding_box()["x"] == pytest.approx(box["x"], abs=1)
    assert "gradient" in pinned.text_content()
    # Hover the tallest segment in the scrolled view: the horizon shows that source.
    segment = page.evaluate(
        """([left, right]) => {
          const rects = [...document.querySelectorAll('[data-rnnbow-view=bars] rect[data-source]')];
          const [rect, b] = rects.map((r) => [r, r.getBoundingClientRect()])
            .filter(([, b]) => b.left >= left && b.right <= right)
            .reduce((best, next) => (next[1].height > best[1].height ? next : best));
          const t = Number(rect.dataset.source);
          return { t, x: b.left + b.width / 2, y: b.top + b.height / 2, height: b.height };
        }""",
        [box["x"] + 100, box["x"] + box["width"] - 20],
    )
    assert segment["height"] >= 2
    page.mouse.move(segment["x"], segment["y"])
    page.wait_for_selector(f"svg.rnnbow-horizon-svg[data-source='{segment['t']}']")
    assert f"step {segment['t']}" in page.locator(".rnnbow-horizon-title").text_content()
    page.screenshot(path=str(artifacts / "long-chunks-scrolled-hover.png"), full_page=True)
    # Step numbers under the horizon: thinned, none overlapping (the hovered one bold).
    boxes = page.evaluate(STEP_NUMBERS)
    assert len(boxes) > 10
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(boxes))
    # Click a bar of the overview: another chunk is selected.
    overlay = page.locator("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")
    ob = overlay.bounding_box()
    overlay.click(position={"x": 76 + 0.05 * (ob["width"] - 76 - 64), "y": ob["height"] / 2})
    page.wait_for_selector(".rnnbow-root[data-selected='0']")


def test_in_jupyterlab_the_whole_row_arrives_when_the_kernel_is_idle(open_notebook, artifacts):
    cell = RECORDING_CODE + "from rnnbow_widget import RNNbow\nw = RNNbow(long_recording())\nw"
    lab = open_notebook("lab", "long-chunks.ipynb", cell)
    page = lab.page
    page.wait_for_selector(f"[data-rnnbow-view=overview][data-records='{RECORDS}']", timeout=60_000)
    # The latest chunk is shown; the idle kernel answers with its whole triangle.
    page.wait_for_selector("svg.rnnbow-horizon-svg[data-magnitudes='whole']", timeout=30_000)
    state = horizon_state(page)
    assert state["note"] == ""
    assert_whole_row(state)
    # A cell that keeps the kernel busy. JupyterLab sends widget messages to a kernel subshell
    # (ipykernel 7), which answers them while a cell runs as long as the cell lets other
    # threads run; this one holds the interpreter (one C call) for several seconds, as a
    # training step in compiled code can. It says "started" first and sleeps half a second (the
    # output reaches the page), then sums; the test waits a little longer before it shows
    # another chunk, which then shows its band and says the rest waits. (The cell's output,
    # read after the horizon, shows it was still running.)
    busy = lab.add_cell(
        "import time\nprint('started', flush=True)\ntime.sleep(0.5)\n"
        "print('summed', sum(range(6 * 10**8)) > 0)"
    )
    lab.output_of(busy, "started")
    page.wait_for_timeout(1500)
    page.locator(".rnnbow-root").press("ArrowLeft")
    page.wait_for_selector(f".rnnbow-root[data-selected='{RECORDS - 2}']")
    state = horizon_state(page)
    assert "summed" not in page.evaluate(CELL_OUTPUT, busy)  # still running
    assert_band(state)
    assert state["note"] == (
        f"Showing the 32 steps nearest to each loss; the rest of chunk {RECORDS - 2} loads "
        "when the kernel is idle (not loaded yet)."
    )
    assert page.locator(".rnnbow-horizon-not-held-text").text_content() == "← not loaded yet"
    page.locator(".rnnbow-root").screenshot(path=artifacts / "long-chunks-lab-waiting.png")
    # Once the cell ends, the kernel answers: the whole row replaces the band.
    lab.output_of(busy, "summed True", timeout=120_000)
    page.wait_for_selector("svg.rnnbow-horizon-svg[data-magnitudes='whole']", timeout=30_000)
    state = horizon_state(page)
    assert state["note"] == ""
    assert_whole_row(state)
    assert lab.run("print(w.selected_batch)", r"\d+") == str(RECORDS - 2)
    page.locator(".rnnbow-root").screenshot(path=artifacts / "long-chunks-lab-whole.png")
