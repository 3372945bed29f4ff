"""The widget in Notebook 7: drawn, hover, and selection in both directions."""

from __future__ import annotations

import pytest

INITIAL_RECORDS = 80
VIEWS = ("overview", "labels", "bars", "horizon")


@pytest.fixture(scope="module")
def notebook(open_notebook, setup_cell):
    opened = open_notebook("notebook", "nb7.ipynb", setup_cell)
    opened.page.wait_for_selector(
        f"[data-rnnbow-view=overview][data-records='{INITIAL_RECORDS}']", timeout=60_000
    )
    return opened


def test_four_views_are_drawn(notebook, artifacts):
    page = notebook.page
    for view in VIEWS:
        assert page.locator(f"[data-rnnbow-view={view}]").is_visible(), view
    assert page.locator("[data-rnnbow-view=bars] rect[data-source]").count() >= 20
    page.screenshot(path=artifacts / "nb7-page.png")


def test_hovering_a_segment_shows_that_source_in_view_4(notebook, hover_segment):
    page = notebook.page
    default_source = int(
        page.locator("[data-rnnbow-view=horizon] svg").get_attribute("data-source")
    )
    source = 6 if default_source != 6 else 9
    hover_segment(page, source)
    page.wait_for_selector(f"[data-rnnbow-view=horizon] svg[data-source='{source}']")


def test_clicking_an_overview_bar_sets_selected_batch_in_the_kernel(notebook):
    page = notebook.page
    overlay = page.locator("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")
    box = overlay.bounding_box()
    x = 76 + 0.75 * (box["width"] - 76 - 64)
    overlay.click(position={"x": x, "y": box["height"] / 2})
    page.wait_for_function(
        "() => Number(document.querySelector('.rnnbow-root').dataset.selected) >= 0"
    )
    clicked = int(page.locator(".rnnbow-root").get_attribute("data-selected"))
    assert abs(clicked - 0.75 * INITIAL_RECORDS) <= 2
    printed = notebook.run("print('SELECTED', w.selected_batch)", r"SELECTED -?\d+")
    assert printed == f"SELECTED {clicked}"


def test_setting_selected_batch_in_python_moves_the_highlight(notebook, artifacts):
    page = notebook.page
    notebook.run("w.selected_batch = 12; print('SET', w.selected_batch)", r"SET \d+")
    page.wait_for_selector(".rnnbow-root[data-selected='12']")
    page.wait_for_selector(".rnnbow-info[data-shown='12']")
    page.locator(".rnnbow-root").screenshot(path=artifacts / "nb7-widget.png")
