"""The exported HTML page, opened from file:// with every network request refused.

The corpus carries script and image injections; the page must show them as text, run none
of them (no dialog), load nothing but itself, and still react to hover and click.
"""

from __future__ import annotations

import pytest

from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.widget import RNNbow

INJECTIONS = ("</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def exported(browser, artifacts, tmp_path_factory):
    text = (" ".join(INJECTIONS) + " int main() { return a && b; }\n") * 40
    trainer = CharRNNTrainer(text, hidden_size=16, seq_length=20, record_every=2, seed=1)
    trainer.train(120, progress=False)
    widget = RNNbow(trainer, horizon=4)
    # Select a chunk whose labels hold a whole injection, so the view shows it as text.
    shown = next(
        record
        for record in trainer.recording
        if "<img src=x" in record.targets or "<script>alert" in record.targets
    )
    widget.selected_batch = shown.index
    path = tmp_path_factory.mktemp("export") / "run.html"
    widget.save_html(path, title=INJECTIONS[0])
    widget.close()

    page = browser.new_page()
    requests, dialogs, errors = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri())
    page.wait_for_selector("[data-rnnbow-view=bars] rect[data-source]", state="attached")
    page.wait_for_timeout(300)  # let any injected handler fire, if one had got through
    yield {"page": page, "widget_selection": shown.index, "targets": shown.targets, "path": path,
           "requests": requests, "dialogs": dialogs, "errors": errors}  # fmt: skip
    page.close()


def test_page_renders_all_views_offline(exported, artifacts):
    page = exported["page"]
    for view in ("overview", "labels", "bars", "horizon"):
        assert page.locator(f"[data-rnnbow-view={view}]").is_visible(), view
    assert all(url.startswith("file:") for url in exported["requests"]), exported["requests"]
    assert exported["errors"] == []
    page.screenshot(path=artifacts / "export-page.png", full_page=True)


def test_injection_strings_stay_inert_and_show_as_text(exported):
    page = exported["page"]
    assert exported["dialogs"] == []
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 3  # data, bundle, mount: none injected
    assert page.title() == INJECTIONS[0]
    true_row = page.eval_on_selector_all(
        "[data-rnnbow-view=labels] text.rnnbow-label-true",
        "texts => texts.map(text => text.textContent).join('')",
    )
    assert true_row == exported["targets"].replace(" ", "\u2423").replace("\n", "\u21b5")
    assert "<img src=x" in true_row.replace("\u2423", " ") or "<script>alert" in true_row


def test_exported_selection_is_restored(exported):
    page = exported["page"]
    selected = exported["widget_selection"]
    assert selected >= 0
    assert page.locator(".rnnbow-root").get_attribute("data-selected") == str(selected)


def test_hover_on_a_segment_updates_the_horizon_view(exported, artifacts, hover_segment):
    page = exported["page"]
    default_source = int(
        page.locator("[data-rnnbow-view=horizon] svg").get_attribute("data-source")
    )
    source = 5 if default_source != 5 else 8
    hover_segment(page, source)
    page.wait_for_selector(f"[data-rnnbow-view=horizon] svg[data-source='{source}']")
    page.locator(".rnnbow-root").screenshot(path=artifacts / "export-hover.png")


def test_click_on_the_overview_selects_a_chunk(exported):
    page = exported["page"]
    overlay = page.locator("[data-rnnbow-view=overview] svg.rnnbow-overview-overlay")
    box = overlay.bounding_box()
    overlay.click(position={"x": 76 + 0.5 * (box["width"] - 76 - 64), "y": box["height"] / 2})
    page.wait_for_function(
        f"() => document.querySelector('.rnnbow-root').dataset.selected"
        f" !== '{exported['widget_selection']}'"
    )
    selected = int(page.locator(".rnnbow-root").get_attribute("data-selected"))
    assert abs(selected - 30) <= 2  # 60 records, clicked in the middle
    assert page.locator(".rnnbow-info").get_attribute("data-shown") == str(selected)
