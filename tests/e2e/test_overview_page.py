"""The overview of a run that trained with ``record_every`` and then stepped with trainer.step(),
exported and opened from file:// in headless Chromium.

Records off the schedule make steps uneven along the overview: its x axis counts recorded
chunks, each tick under the bar of the chunk it names, and hovering names the step. Also: a
double-click zooms out without touching the selection, and the chunk views fit their box (no
sideways scroll when the chunk fits). Screenshots: test-artifacts/overview-*.png.
"""

from __future__ import annotations

import re

import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow

TEXT = "int main(void) {\n    return add(a, b) * 2;\n}\n" * 60
SCHEDULED = 12  # train(600) with record_every=50: steps 0, 50, ..., 550
STEPPED = 4  # then trainer.step() four times: steps 600, 601, 602, 603


@pytest.fixture(scope="module")
def run(browser, tmp_path_factory):
    trainer = CharRNNTrainer(TEXT, hidden_size=16, seq_length=25, record_every=50, seed=2)
    trainer.train(50 * SCHEDULED, progress=False)
    for _ in range(STEPPED):
        trainer.step()
    steps = [record.step for record in trainer.recording]
    widget = RNNbow(trainer)
    path = widget.save_html(tmp_path_factory.mktemp("overview") / "stepped.html")
    widget.close()

    page = browser.new_page()
    page.set_viewport_size({"width": 1160, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri())
    page.wait_for_selector("[data-rnnbow-view=bars] rect[data-source]", state="attached")
    yield {"page": page, "steps": steps, "errors": errors}
    page.close()


def _overlay(page):
    return page.locator("svg.rnnbow-overview-overlay")


def _column_x(page, record: int, count: int) -> float:
    """x of the middle of record's column, relative to the overview (one column per record)."""
    plot = _overlay(page).bounding_box()["width"] - 76 - 64
    return 76 + (record + 0.5) * plot / count


def _info(page) -> str:
    return page.locator(".rnnbow-info").text_content()


def test_fixture_has_records_off_the_schedule(run):
    assert run["steps"][SCHEDULED - 1 :] == [550, 600, 601, 602, 603]


def test_ticks_name_chunks_under_their_bars_and_hover_names_the_step(run, artifacts):
    page, steps = run["page"], run["steps"]
    ticks = page.locator(".rnnbow-overview-ticks text")
    assert ticks.count() >= 2
    for i in range(ticks.count()):
        record = int(ticks.nth(i).get_attribute("data-record"))
        assert ticks.nth(i).text_content() == str(record)
        x = float(ticks.nth(i).get_attribute("x"))
        _overlay(page).hover(position={"x": x, "y": 100})
        page.wait_for_function(
            "(r) => document.querySelector('.rnnbow-info').dataset.shown === String(r)",
            arg=record,
        )
        label = page.locator(".rnnbow-overview-hover-label").text_content()
        assert label == f"chunk {record} · step {steps[record]:,}"

    count = len(steps)
    _overlay(page).hover(position={"x": _column_x(page, count - 2, count), "y": 100})
    page.wait_for_function(
        "(r) => document.querySelector('.rnnbow-info').dataset.shown === String(r)",
        arg=count - 2,
    )
    assert page.locator(".rnnbow-overview-hover-label").text_content() == (
        f"chunk {count - 2} · step {steps[count - 2]:,}"
    )
    assert re.search(rf"· step {steps[count - 2]:,} ·", _info(page))
    assert page.locator(".rnnbow-overview-x-title").text_content() == (
        f"recorded chunk, in training order · steps 0–{steps[-1]:,}"
    )
    page.screenshot(path=artifacts / "overview-stepped-hover.png", full_page=True)
    assert run["errors"] == []


def test_chunk_views_fit_their_box(run):
    box = run["page"].evaluate(
        """() => {
          const root = document.querySelector('.rnnbow-root');
          const detail = document.querySelector('.rnnbow-detail');
          const style = getComputedStyle(root);
          const inner = root.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
          const overview = document.querySelector('svg.rnnbow-overview-overlay');
          return { scroll: detail.scrollWidth, view: detail.clientWidth, inner,
                   overview: overview.getBoundingClientRect().width };
        }"""
    )
    assert box["scroll"] <= box["view"], box
    assert box["overview"] <= box["inner"], box


def test_double_click_zooms_out_and_keeps_the_selection(run, artifacts):
    page, count = run["page"], len(run["steps"])
    overlay = _overlay(page)
    overlay.click(position={"x": _column_x(page, 3, count), "y": 100})
    page.wait_for_function("() => document.querySelector('.rnnbow-root').dataset.selected === '3'")
    origin = overlay.bounding_box()
    y = origin["y"] + 100
    page.mouse.move(origin["x"] + _column_x(page, 8, count), y)
    page.mouse.down()
    page.mouse.move(origin["x"] + _column_x(page, 12, count), y, steps=4)
    page.mouse.up()
    title = page.locator(".rnnbow-overview-x-title")
    assert title.text_content().startswith("recorded chunks 8–12 ")
    page.screenshot(path=artifacts / "overview-zoomed.png", full_page=True)

    overlay.dblclick(position={"x": _column_x(page, 2, 5), "y": 100})
    page.wait_for_timeout(600)  # longer than a click's wait for a second click
    assert title.text_content().startswith("recorded chunk, in training order")
    assert page.locator(".rnnbow-root").get_attribute("data-selected") == "3"
    page.mouse.move(0, 0)
    page.wait_for_function(
        "() => document.querySelector('.rnnbow-info').textContent.startsWith('Selected chunk 3 ')"
    )
    page.screenshot(path=artifacts / "overview-zoomed-out.png", full_page=True)


def test_hovering_the_overview_forces_no_layout(run, browser):
    """Hovering a bar redraws views 2-4 without reading layout back (a forced synchronous
    layout, twice per hover before): Chromium counts one layout per hover, the frame's own."""
    page, count = run["page"], len(run["steps"])
    cdp = browser.new_cdp_session(page)
    cdp.send("Performance.enable")
    box = _overlay(page).bounding_box()

    def layouts() -> int:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return next(int(m["value"]) for m in metrics if m["name"] == "LayoutCount")

    settle = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    hover = """([x, y]) => {
        const overlay = document.querySelector('svg.rnnbow-overview-overlay');
        const init = { bubbles: true, clientX: x, clientY: y };
        overlay.dispatchEvent(new MouseEvent('mousemove', init));
        return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    }"""
    counts = []
    for record in range(1, count, 3):
        page.evaluate(settle)
        before = layouts()
        page.evaluate(hover, [box["x"] + _column_x(page, record, count), box["y"] + 100])
        counts.append(layouts() - before)
    cdp.detach()
    assert max(counts) <= 1, counts
