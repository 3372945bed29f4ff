"""The per-unit drilldown in a real browser: an exported page (file://, no network) of a trained
run. Hovering a segment of the stacked bars redraws the unit heatmap for that source loss;
another chunk, whose units the page does not carry, says so. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import pytest

from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.widget import RNNbow

TEXT = "for (i = 0; i < n; i++) { sum += a[i] * b[i]; } /* dot */\nreturn sum;\n" * 60
UNITS = "[data-rnnbow-view=units]"


@pytest.fixture(scope="module")
def units_page(browser, tmp_path_factory):
    trainer = CharRNNTrainer(TEXT, hidden_size=48, seq_length=25, record_every=10, seed=2)
    trainer.train(600, progress=False)
    widget = RNNbow(trainer, horizon=5, log_scale=True)
    widget.selected_batch = 50
    path = tmp_path_factory.mktemp("units") / "run.html"
    widget.save_html(path)
    widget.close()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri())
    page.wait_for_selector(f"{UNITS} svg[data-source]", state="attached")
    yield {"page": page, "errors": errors, "trainer": trainer}
    page.close()


def test_heatmap_shows_the_selected_chunk_and_its_top_units(units_page, artifacts):
    page = units_page["page"]
    heat = page.locator(f"{UNITS} svg.rnnbow-units-svg")
    assert heat.get_attribute("data-record") == "50"
    assert page.locator(".rnnbow-units").get_attribute("data-state") == "ready"
    items = page.locator(".rnnbow-units-item").all_text_contents()
    assert len(items) == 5 and all(item.startswith("unit #") for item in items)
    # The kernel's own ranking for that source agrees with the page's top unit.
    t = int(heat.get_attribute("data-source"))
    units = units_page["trainer"].recording.units.get(50)[t, : t + 1].sum(axis=0)
    assert int(heat.get_attribute("data-top-unit")) == int(units.argmax())
    assert units_page["errors"] == []
    page.locator(".rnnbow-root").screenshot(path=artifacts / "units-page.png")


def test_hovering_a_segment_shows_that_source_in_the_heatmap(units_page, artifacts, hover_segment):
    page = units_page["page"]
    default = int(page.locator(f"{UNITS} svg.rnnbow-units-svg").get_attribute("data-source"))
    source = 12 if default != 12 else 7
    hover_segment(page, source)
    page.wait_for_selector(f"{UNITS} svg.rnnbow-units-svg[data-source='{source}']")
    caption = page.locator(".rnnbow-units-caption").text_content()
    assert f"for the loss at step {source}" in caption
    heat = page.locator(f"{UNITS} svg.rnnbow-units-svg")
    units = units_page["trainer"].recording.units.get(50)[source, : source + 1].sum(axis=0)
    assert int(heat.get_attribute("data-top-unit")) == int(units.argmax())
    # A full-page shot resizes instead of scrolling, so the mouse stays on the segment.
    page.screenshot(path=artifacts / "units-hover.png", full_page=True)
    assert heat.get_attribute("data-source") == str(source)


def test_a_chunk_outside_the_export_says_its_units_are_not_in_the_page(units_page, artifacts):
    page = units_page["page"]
    page.keyboard.press("Tab")
    page.locator(".rnnbow-root").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(".rnnbow-units[data-state=static]")
    note = page.locator(".rnnbow-units-note").text_content()
    assert note.startswith("Per-unit data of chunk 49 is not in this exported page")
    assert "holds chunk 50 only" in note
    page.locator(f"{UNITS}").screenshot(path=artifacts / "units-not-in-page.png")
