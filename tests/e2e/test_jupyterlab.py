"""The widget in a real JupyterLab: drawn, hover and click, selection both ways, live growth.

The tests share one notebook (opened once for the module) and run in file order.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
INITIAL_RECORDS = 80  # 400 steps, a record every 5
VIEWS = ("overview", "labels", "bars", "horizon")


@pytest.fixture(scope="module")
def lab(open_notebook, setup_cell):
    notebook = open_notebook("lab", "lab.ipynb", setup_cell)
    notebook.page.wait_for_selector(
        f"[data-rnnbow-view=overview][data-records='{INITIAL_RECORDS}']", timeout=60_000
    )
    return notebook


def painted_pixels(page, selector: str) -> int:
    """Pixels of a canvas that differ from its top-left (background) pixel."""
    return page.eval_on_selector(
        selector,
        """canvas => {
            const context = canvas.getContext('2d');
            const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
            let count = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (Math.abs(data[i] - data[0]) + Math.abs(data[i + 1] - data[1])
                    + Math.abs(data[i + 2] - data[2]) > 30) count++;
            }
            return count;
        }""",
    )


def test_four_views_are_drawn(lab, artifacts):
    page = lab.page
    for view in VIEWS:
        assert page.locator(f"[data-rnnbow-view={view}]").is_visible(), view
    assert painted_pixels(page, "[data-rnnbow-view=overview] canvas") > 2000
    assert page.locator("[data-rnnbow-view=bars] rect[data-source]").count() >= 20
    assert page.locator("[data-rnnbow-view=labels] text").count() >= 40
    assert page.locator("[data-rnnbow-view=horizon] rect.rnnbow-horizon-bar").count() >= 1
    page.locator(".rnnbow-root").screenshot(path=artifacts / "lab-widget.png")


def test_hovering_a_segment_shows_that_source_in_view_4(lab, artifacts, hover_segment):
    page = lab.page
    horizon = page.locator("[data-rnnbow-view=horizon] svg")
    default_source = int(horizon.get_attribute("data-source"))
    source = 11 if default_source != 11 else 13
    hover_segment(page, source)
    page.wait_for_selector(f"[data-rnnbow-view=horizon] svg[data-source='{source}']")
    title = page.locator("[data-rnnbow-view=horizon] .rnnbow-horizon-title").text_content()
    assert f"step {source}" in title
    highlighted = page.locator("[data-rnnbow-view=bars] rect[data-highlighted=true]")
    sources = {highlighted.nth(i).get_attribute("data-source") for i in range(highlighted.count())}
    assert sources == {str(source)}
    page.locator(".rnnbow-root").screenshot(path=artifacts / "lab-hover-source.png")


def test_clicking_an_overview_bar_sets_selected_batch_in_the_kernel(lab):
    page = lab.page
    overlay = page.locator("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")
    box = overlay.bounding_box()
    # 30% across the plot (it starts 76 px in and ends 64 px before the right edge).
    x = 76 + 0.3 * (box["width"] - 76 - 64)
    overlay.click(position={"x": x, "y": box["height"] / 2})
    page.wait_for_function(
        "() => Number(document.querySelector('.rnnbow-root').dataset.selected) >= 0"
    )
    clicked = int(page.locator(".rnnbow-root").get_attribute("data-selected"))
    assert abs(clicked - 0.3 * INITIAL_RECORDS) <= 2
    printed = lab.run("print('SELECTED', w.selected_batch)", r"SELECTED -?\d+")
    assert printed == f"SELECTED {clicked}"


def test_setting_selected_batch_in_python_moves_the_highlight(lab, artifacts):
    page = lab.page
    lab.run("w.selected_batch = 7; print('SET', w.selected_batch)", r"SET \d+")
    page.wait_for_selector(".rnnbow-root[data-selected='7']")
    page.wait_for_selector(".rnnbow-info[data-shown='7']")
    info = page.locator(".rnnbow-info").text_content()
    step = lab.run("print('STEP', w.selected_record.step)", r"STEP \d+")
    assert re.search(rf"\b{step.split()[1]}\b", info), info
    page.locator(".rnnbow-root").screenshot(path=artifacts / "lab-selected-from-python.png")


def test_training_in_a_later_cell_grows_the_overview_while_it_runs(lab, artifacts):
    page = lab.page
    overview = page.locator("[data-rnnbow-view=overview]")
    before = int(overview.get_attribute("data-records"))
    index = lab.add_cell(
        "trainer.train(16000, progress=False); print('TRAINED', len(trainer.recording))"
    )
    counts_while_running = []
    for _ in range(80):
        page.wait_for_timeout(250)
        if not lab.kernel_busy():
            break
        counts_while_running.append(int(overview.get_attribute("data-records")))
        if len(counts_while_running) == 8:
            page.locator(".rnnbow-root").screenshot(path=artifacts / "lab-live-training.png")
    growing = sorted(set(c for c in counts_while_running if c > before))
    assert len(growing) >= 2, f"record counts seen while training: {counts_while_running}"
    assert counts_while_running == sorted(counts_while_running)
    total = int(lab.output_of(index, r"TRAINED \d+", timeout=120_000).split()[1])
    assert total == before + 16000 // 5
    page.wait_for_selector(f"[data-rnnbow-view=overview][data-records='{total}']")


def test_after_training_a_late_chunk_can_be_inspected(lab, artifacts, hover_segment):
    page = lab.page
    index = int(
        lab.run(
            "w.selected_batch = len(trainer.recording) - 30; print('LATE', w.selected_batch)",
            r"LATE \d+",
        ).split()[1]
    )
    page.wait_for_selector(f".rnnbow-info[data-shown='{index}']")
    root = page.locator(".rnnbow-root")
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole widget in view
    root.scroll_into_view_if_needed()
    source = 14
    hover_segment(page, source)
    page.wait_for_selector(f"[data-rnnbow-view=horizon] svg[data-source='{source}']")
    # Clip the page rather than shooting the element: that would scroll, and the mouse
    # would leave the segment. The README's screenshot (docs/screenshot.png) is this one.
    page.screenshot(path=artifacts / "lab-after-training.png", clip=root.bounding_box())
    if os.environ.get("RNNBOW_UPDATE_SCREENSHOT"):  # refresh the README's picture on demand
        shutil.copyfile(artifacts / "lab-after-training.png", DOCS_SCREENSHOT)
    title = page.locator("[data-rnnbow-view=horizon] .rnnbow-horizon-title").text_content()
    assert title.startswith(f"Loss at step {source} ")


def test_a_second_display_of_the_same_widget_shows_the_full_history(lab):
    page = lab.page
    total = int(lab.run("print('COUNT', len(trainer.recording))", r"COUNT \d+").split()[1])
    lab.add_cell("w")  # the same widget object, displayed once more
    overviews = page.locator("[data-rnnbow-view=overview]")
    overviews.nth(1).wait_for()
    page.wait_for_function(
        """(total) => {
            const views = document.querySelectorAll('[data-rnnbow-view=overview]');
            return views.length >= 2 && views[1].dataset.records === String(total);
        }""",
        arg=total,
    )
    assert overviews.count() == 2


def test_a_page_reload_restores_the_full_history_from_the_kernel(lab, artifacts):
    page = lab.page
    total = int(lab.run("print('COUNT', len(trainer.recording))", r"COUNT \d+").split()[1])
    # Save, so the reloaded notebook still holds the widget outputs, then reload the page:
    # the browser has lost every record and must ask the kernel for the whole history.
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1500)
    page.reload()
    page.wait_for_selector(f"[data-rnnbow-view=overview][data-records='{total}']", timeout=90_000)
    page.locator(".rnnbow-root").first.screenshot(path=artifacts / "lab-after-reload.png")
