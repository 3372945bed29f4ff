"""The widget in marimo: ``marimo run`` serves notebooks/marimo_demo.py in headless Chromium.

The four views fit in the widget's bounded height (the ``height`` trait), hovering and
clicking work, and a click on an overview bar reaches Python: the reactive cell below the
widget shows the selected chunk. marimo serves its front end from its own package, and the
page may fetch nothing from anywhere else.

The tests share one page (opened once for the module) and run in file order.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "marimo_demo.py"
STEPS = 200  # a record every 2 steps: 100 records
RECORDS = 100
VIEWS = {
    "overview": "svg.rnnbow-overview-overlay",
    "labels": "svg",
    "bars": "svg",
    "horizon": "svg",
}
SELECTED = re.compile(r"Selected in Python: chunk (\d+) \(training step (\d+)\)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"marimo exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"marimo did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def _marimo(mode: str, base: Path) -> Iterator[str]:
    """``marimo run`` or ``marimo edit`` on a copy of the demo in ``base`` (marimo writes its
    session cache beside the notebook, and its config under ``base``); yields the URL."""
    if importlib.util.find_spec("marimo") is None:
        pytest.fail("marimo is missing: install the dev extra (pip install -e '.[dev]')")
    notebook = shutil.copy(NOTEBOOK, base / NOTEBOOK.name)
    # Found first (from the working directory up): the editor runs the cells when it opens.
    (base / ".marimo.toml").write_text("[runtime]\nauto_instantiate = true\n")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "RNNBOW_NOTEBOOK_STEPS": str(STEPS),
        "MARIMO_SKIP_UPDATE_CHECK": "1",
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_STATE_HOME": str(base / "state"),
    }
    command = [
        sys.executable, "-m", "marimo", mode, str(notebook), "--headless", "--no-token",
        "--no-sandbox", "--host", "127.0.0.1", f"--port={port}",
    ]  # fmt: skip
    log = base / "marimo.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=base, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        _stop(process)


def _open(browser, url: str):
    """A page showing the demo at ``url``, its views drawn; any request to another host is
    blocked and remembered in ``page.outside``."""
    page = browser.new_page()
    page.outside = []

    def only_marimo(route) -> None:
        if route.request.url.startswith((url, "data:", "blob:")):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_marimo)
    page.goto(url)
    page.locator(f"[data-rnnbow-view=overview][data-records='{RECORDS}']").wait_for(timeout=90_000)
    page.locator("[data-rnnbow-view=horizon] svg").wait_for()
    return page


@pytest.fixture(scope="module")
def app(browser, chromium_path, tmp_path_factory):
    """The demo served by ``marimo run``, open in a page."""
    with _marimo("run", tmp_path_factory.mktemp("marimo-run")) as url:
        page = _open(browser, url)
        yield page
        page.close()


def bounded_height() -> int:
    """The demo's ``RNNbow(..., height=...)``."""
    return int(re.search(r"RNNbow\(trainer, height=(\d+)\)", NOTEBOOK.read_text())[1])


def test_the_four_views_fit_in_the_bounded_height(app, artifacts):
    root = app.locator(".rnnbow-root").bounding_box()
    assert root["height"] <= bounded_height() + 0.5
    assert app.locator(".rnnbow-root").evaluate("root => root.scrollTop") == 0
    for view, drawing in VIEWS.items():
        box = app.locator(f"[data-rnnbow-view={view}] {drawing}").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 50, view
        inside_x = root["x"] <= box["x"] and box["x"] + box["width"] <= root["x"] + root["width"]
        inside_y = root["y"] <= box["y"] and box["y"] + box["height"] <= root["y"] + root["height"]
        assert inside_x and inside_y, f"{view} at {box} is not inside the widget at {root}"
    assert app.locator("[data-rnnbow-view=bars] rect[data-source]").count() >= 20
    assert app.locator("[data-rnnbow-view=labels] text").count() >= 40
    app.locator(".rnnbow-root").screenshot(path=artifacts / "marimo-widget.png")


def test_hovering_a_segment_shows_that_source_in_the_horizon(app):
    horizon = app.locator("[data-rnnbow-view=horizon] svg")
    source = 11 if horizon.get_attribute("data-source") != "11" else 13
    segments = app.locator(f"[data-rnnbow-view=bars] rect[data-source='{source}']")
    heights = [segments.nth(i).bounding_box()["height"] for i in range(segments.count())]
    segments.nth(heights.index(max(heights))).hover()
    app.locator(f"[data-rnnbow-view=horizon] svg[data-source='{source}']").wait_for()
    title = app.locator("[data-rnnbow-view=horizon] .rnnbow-horizon-title").text_content()
    assert f"step {source}" in title


def test_clicking_an_overview_bar_reaches_python(app, artifacts):
    assert app.get_by_text("Click a bar in the overview").is_visible()
    overlay = app.locator("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")
    box = overlay.bounding_box()
    # 30% across the plot (it starts 76 px in and ends 64 px before the right edge).
    overlay.click(position={"x": 76 + 0.3 * (box["width"] - 76 - 64), "y": box["height"] / 2})
    root = app.locator(".rnnbow-root")
    app.wait_for_function("root => Number(root.dataset.selected) >= 0", arg=root.element_handle())
    clicked = int(root.get_attribute("data-selected"))
    assert abs(clicked - 0.3 * RECORDS) <= 2
    shown = app.get_by_text(SELECTED)
    shown.wait_for(timeout=30_000)
    chunk, step = SELECTED.search(shown.text_content()).groups()
    assert int(chunk) == clicked
    # The kernel's record is the one the browser shows: same training step.
    info = app.locator(".rnnbow-info").text_content()
    assert re.search(rf"^Selected chunk {clicked} of {RECORDS} · step {step} ", info), info
    app.screenshot(path=artifacts / "marimo-selected.png", full_page=True)


def test_nothing_was_fetched_from_outside_marimo(app):
    assert app.outside == []


def test_in_the_editor_the_widget_fits_in_the_output_box(browser, tmp_path_factory, artifacts):
    with _marimo("edit", tmp_path_factory.mktemp("marimo-edit")) as url:
        page = _open(browser, url)
        try:
            output = page.locator(".output-area", has=page.locator(".rnnbow-root"))
            output.scroll_into_view_if_needed()
            # marimo bounds each output (610 px in its editor) and scrolls what is taller.
            sizes = output.evaluate("area => [area.scrollHeight, area.clientHeight]")
            assert sizes[0] <= sizes[1], f"the output box scrolls: {sizes}"
            box = output.bounding_box()
            for view, drawing in VIEWS.items():
                drawn = page.locator(f"[data-rnnbow-view={view}] {drawing}").bounding_box()
                assert box["y"] <= drawn["y"], view
                assert drawn["y"] + drawn["height"] <= box["y"] + box["height"], view
            output.screenshot(path=artifacts / "marimo-edit.png")
            assert page.outside == []
        finally:
            page.close()
