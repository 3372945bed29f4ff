"""The stacked bars' grey "others" segment and the gradient horizon's first source, on pages
exported from a real training run (``RNNbow.save_html``), opened in headless Chromium.

With ``show_others`` on, the tallest stacked bar of a chunk is the overview's "max gradient"
of that chunk (``metrics.summarize_many``: the largest over steps j of the gradient summed
over every loss t >= j); the browser holds the magnitudes as bfloat16, hence the tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import corpora
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.widget import RNNbow

K, N = 5, 25
#: bfloat16 keeps 8 significant bits: each magnitude within 2^-9 of its value, so their sums too.
RTOL = 5e-3

STACKED = """() => {
  const totals = {};
  for (const rect of document.querySelectorAll('[data-rnnbow-view=bars] rect.rnnbow-segment')) {
    const j = rect.dataset.step;
    totals[j] = (totals[j] || 0) + Number(rect.dataset.value);
  }
  return Object.values(totals);
}"""

#: The bars' plot: the y of its top and bottom (the axis line), and the tallest bar's top.
GEOMETRY = """() => {
  const bars = document.querySelector('[data-rnnbow-view=bars]');
  const axis = bars.querySelector('.rnnbow-axis line');
  const tops = [...bars.querySelectorAll('rect.rnnbow-segment')]
    .map((rect) => Number(rect.getAttribute('y')));
  return { bottom: Number(axis.getAttribute('y1')), top: Number(axis.getAttribute('y2')),
           tallest: Math.min(...tops) };
}"""


@pytest.fixture(scope="module")
def run():
    trainer = CharRNNTrainer(corpora.c_code(20_000), hidden_size=32, seq_length=N,
                             record_every=5, seed=0)  # fmt: skip
    trainer.train(200, progress=False)
    return trainer


@pytest.fixture
def open_page(run, open_exported):
    """Export the run with some traits set, open the page and wait for its bars."""

    def open_(selected_batch: int, **options):
        widget = RNNbow(run, **options)
        widget.selected_batch = selected_batch
        page = open_exported(widget)
        widget.close()
        return page

    return open_


def k_stacked_max(magnitudes: np.ndarray, k: int) -> float:
    m = np.tril(magnitudes)
    return max(m[j : j + k, j].sum() for j in range(m.shape[0]))


def test_the_tallest_bar_with_others_is_the_overviews_max_gradient(run, open_page, artifacts):
    recording = run.recording
    max_gradient = recording.column("max_gradient")
    # The chunk where the k nearest losses leave out the most (the 99.8 against 32).
    ratios = [max_gradient[i] / max(k_stacked_max(r.magnitudes, K), 1e-30) for i, r in
              enumerate(recording)]  # fmt: skip
    chosen = int(np.argmax(ratios))
    assert ratios[chosen] > 1.5, "the fixture should have a chunk where the others matter"
    page = open_page(selected_batch=chosen)
    grey = page.locator("[data-rnnbow-view=bars] rect.rnnbow-others")
    assert grey.count() == N - K  # every bar j with losses beyond j + k - 1
    assert grey.first.get_attribute("fill") == "#a3a3a3"
    assert page.locator("[data-rnnbow-view=bars] rect[data-source]").count() == sum(
        min(K, N - j) for j in range(N)
    )
    legend = page.locator(".rnnbow-legend-others")
    assert legend.is_visible() and "5 or more characters later" in legend.inner_text()
    assert page.locator(".rnnbow-others-toggle").is_checked()
    page.locator(".rnnbow-root").screenshot(path=artifacts / "others-on.png")
    # This chunk and the next ones (arrow keys): the tallest bar is the overview's value.
    root = page.locator(".rnnbow-root")
    for index in range(chosen, min(chosen + 4, len(recording))):
        page.wait_for_selector(f".rnnbow-info[data-shown='{index}']")
        tallest = max(page.evaluate(STACKED))
        assert tallest == pytest.approx(max_gradient[index], rel=RTOL), index
        info = page.locator(".rnnbow-info").inner_text()
        shown = info.split("max gradient ")[1].split(" (tallest bar, all losses)")[0]
        assert float(shown) == pytest.approx(tallest, rel=1e-2), info
        geometry = page.evaluate(GEOMETRY)  # per-chunk scale: the tallest bar fills the plot
        assert geometry["tallest"] == pytest.approx(geometry["top"], abs=0.5)
        root.press("ArrowRight")


def test_the_global_scale_counts_the_others(run, open_page, artifacts):
    max_gradient = run.recording.column("max_gradient")
    largest = int(np.argmax(max_gradient))
    smaller = int(np.argsort(max_gradient)[len(max_gradient) // 2])
    page = open_page(selected_batch=smaller, global_scale=True)
    geometry = page.evaluate(GEOMETRY)
    height = geometry["bottom"] - geometry["tallest"]
    plot = geometry["bottom"] - geometry["top"]
    assert height / plot == pytest.approx(max_gradient[smaller] / max_gradient[largest], rel=0.01)
    page.locator(".rnnbow-root").screenshot(path=artifacts / "others-global-scale.png")


def test_an_exported_page_without_others_and_the_toolbar_switch(run, open_page, artifacts):
    recording = run.recording
    page = open_page(selected_batch=2, show_others=False)
    assert page.locator("[data-rnnbow-view=bars] rect.rnnbow-others").count() == 0
    assert page.locator(".rnnbow-legend-others").count() == 0
    toggle = page.locator(".rnnbow-others-toggle")
    assert not toggle.is_checked()
    k_max = k_stacked_max(recording[2].magnitudes, K)
    assert max(page.evaluate(STACKED)) == pytest.approx(k_max, rel=RTOL)
    info = page.locator(".rnnbow-info").inner_text()
    assert f"with the {K} nearest only: " in info
    page.locator(".rnnbow-root").screenshot(path=artifacts / "others-off.png")
    toggle.check()
    page.wait_for_selector("[data-rnnbow-view=bars] rect.rnnbow-others", state="attached")
    tallest = max(page.evaluate(STACKED))
    assert tallest == pytest.approx(recording.column("max_gradient")[2], rel=RTOL)
    assert "nearest only" not in page.locator(".rnnbow-info").inner_text()


def test_the_horizon_opens_on_a_loss_with_steps_behind_it(run, open_page, artifacts):
    recording = run.recording
    # A chunk whose largest loss is among its first steps: the old panel showed one or two bars.
    early = next(i for i, r in enumerate(recording) if int(np.argmax(r.losses)) < 2)
    page = open_page(selected_batch=early)
    behind = min(K, N // 2)
    losses = recording[early].losses
    horizon = page.locator("[data-rnnbow-view=horizon]")
    t = int(horizon.locator("svg").get_attribute("data-source"))
    assert t >= behind
    assert losses[t] == pytest.approx(losses[behind:].max(), rel=1e-2)  # bfloat16 in the page
    assert horizon.locator(".rnnbow-horizon-bar").count() == t + 1
    title = horizon.locator(".rnnbow-horizon-title").text_content()
    assert title.startswith(f"Largest loss with ≥ {behind} steps behind it, at step {t} ")
    stats = horizon.locator(".rnnbow-horizon-stats").inner_text()
    assert f"the largest loss among the steps with at least {behind} steps before them" in stats
    assert " 1 steps" not in stats
    page.locator(".rnnbow-help-toggle").click()
    help_text = horizon.locator(".rnnbow-help").inner_text()
    assert "min(k, n/2)" in help_text
    horizon.screenshot(path=artifacts / "horizon-first-source.png")
