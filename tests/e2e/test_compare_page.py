"""The exported comparison page (RNNbow.compare(...).save_html) from file://, offline.

Two runs on the same text and seed (vanilla RNN and LSTM): hovering a chunk in run 1 shows
the same chunk in run 2, hovering a loss shows the same source in run 2's horizon panel, and
a click selects the chunk in both. Screenshots: test-artifacts/compare-*.png.
"""

from __future__ import annotations

import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow

TEXT = "int main(void) {\n    return add(a, b) * 2;\n}\nstatic int add(int x) { return x; }\n" * 30
COMMON = {"hidden_size": 16, "seq_length": 20, "record_every": 2, "seed": 3}
RECORDS = 60


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    vanilla = CharRNNTrainer(TEXT, cell="rnn", name="vanilla RNN", **COMMON)
    lstm = CharRNNTrainer(TEXT, cell="lstm", name="LSTM", **COMMON)
    for trainer in (vanilla, lstm):
        trainer.train(2 * RECORDS, progress=False)
    comparison = RNNbow.compare(vanilla, lstm, horizon=4)
    path = comparison.save_html(tmp_path_factory.mktemp("compare") / "compare.html")
    comparison.close()

    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.rnnbow-root').length === 2")
    page.wait_for_selector("[data-rnnbow-view=bars] rect[data-source]", state="attached")
    page.requests, page.errors = requests, errors
    yield page
    page.close()


def _run(page, i: int):
    return page.locator(".rnnbow-root").nth(i)


def _overview_point(page, run: int, record: int) -> dict:
    overlay = _run(page, run).locator("svg.rnnbow-overview-overlay")
    box = overlay.bounding_box()
    plot = box["width"] - 76 - 64
    return {"x": 76 + (record + 0.5) * plot / RECORDS, "y": box["height"] / 2}


def test_both_runs_render_offline_with_their_names(page):
    names = page.locator(".rnnbow-run-name").all_text_contents()
    assert names == ["vanilla RNN", "LSTM"]
    assert all(url.startswith("file:") for url in page.requests), page.requests
    assert page.errors == []
    assert page.title() == "vanilla RNN vs LSTM"
    axis = _run(page, 0).locator("[data-rnnbow-view=bars]").text_content()
    assert "gradient (all runs)" in axis


def test_hover_in_run_1_shows_the_same_chunk_and_source_in_run_2(page, artifacts, hover_segment):
    point = _overview_point(page, 0, 17)
    _run(page, 0).locator("svg.rnnbow-overview-overlay").hover(position=point)
    page.wait_for_function(
        "() => document.querySelectorAll('.rnnbow-info')[1].dataset.shown === '17'"
    )
    shown = [_run(page, i).locator(".rnnbow-info").get_attribute("data-shown") for i in (0, 1)]
    assert shown == ["17", "17"]
    info = _run(page, 1).locator(".rnnbow-info").text_content()
    assert info.startswith("Previewing chunk 17 ")
    assert "same text (step and characters) as in vanilla RNN" in info
    page.screenshot(path=artifacts / "compare-hover-chunk.png", full_page=True)


def test_hover_on_a_loss_in_run_1_shows_it_in_run_2(page, artifacts):
    root = _run(page, 0)
    default = int(root.locator("[data-rnnbow-view=horizon] svg").get_attribute("data-source"))
    source = 6 if default != 6 else 9
    index = page.evaluate(
        """(source) => {
            const root = document.querySelectorAll('.rnnbow-root')[0];
            const rects = [...root.querySelectorAll('[data-rnnbow-view=bars] rect[data-source]')];
            let best = -1, height = 0;
            rects.forEach((rect, i) => {
                const h = rect.getBoundingClientRect().height;
                if (Number(rect.dataset.source) === source && h > height) { best = i; height = h; }
            });
            return best;
        }""",
        source,
    )
    assert index >= 0
    root.locator("[data-rnnbow-view=bars] rect[data-source]").nth(index).hover()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('[data-rnnbow-view=horizon] svg')]"
        ".every(svg => svg.dataset.source === String(t))",
        arg=source,
    )
    page.screenshot(path=artifacts / "compare-hover-source.png", full_page=True)


def test_click_in_run_1_selects_the_chunk_in_both(page, artifacts):
    overlay = _run(page, 0).locator("svg.rnnbow-overview-overlay")
    overlay.click(position=_overview_point(page, 0, 40))
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rnnbow-root')]"
        ".every(root => root.dataset.selected === '40')"
    )
    page.mouse.move(0, 0)  # leave the overview: both show the selection, not a preview
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rnnbow-info')]"
        ".every(info => info.textContent.startsWith('Selected chunk 40 '))"
    )
    page.screenshot(path=artifacts / "compare-select.png", full_page=True)


def _axis_ticks(page, run: int) -> dict:
    """The tick labels and titles of one run's overview axes (left: the metric, right: loss)."""
    return page.evaluate(
        """(run) => {
            const root = document.querySelectorAll('.rnnbow-root')[run];
            const axes = root.querySelectorAll('svg.rnnbow-overview-overlay .rnnbow-axis');
            const texts = (axis) => [...axis.querySelectorAll('text')].map((t) => t.textContent);
            const [left, right] = [texts(axes[0]), texts(axes[1])];
            return { left: left.slice(0, -1), leftTitle: left.at(-1),
                     right: right.slice(0, -1), rightTitle: right.at(-1) };
        }""",
        run,
    )


def test_overviews_share_one_scale_while_linked(page, artifacts):
    page.mouse.move(0, 0)
    first, second = _axis_ticks(page, 0), _axis_ticks(page, 1)
    assert first == second
    assert first["leftTitle"] == "max gradient (all runs)"
    assert first["rightTitle"] == "training loss (all runs)"
    ticks = page.locator(".rnnbow-root svg .rnnbow-axis text").all_text_contents()
    assert not [t for t in ticks if "e+" in t], ticks  # plain numbers, never "1e+2"
    page.screenshot(path=artifacts / "compare-linked-scale.png", full_page=True)

    checkbox = _run(page, 0).locator("input.rnnbow-linked-scale")
    checkbox.uncheck()
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rnnbow-linked-scale')].every(c => !c.checked)"
        )
        page.wait_for_function(
            "() => !document.querySelector('.rnnbow-overview-overlay').textContent"
            ".includes('(all runs)')"
        )
        own = [_axis_ticks(page, 0), _axis_ticks(page, 1)]
        assert own[0]["leftTitle"] == "max gradient"
        assert own[0]["left"] != own[1]["left"], own
        assert first["left"] in ([o["left"] for o in own]), (first, own)
        page.screenshot(path=artifacts / "compare-own-scale.png", full_page=True)
    finally:
        checkbox.check()
