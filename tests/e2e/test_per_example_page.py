"""The batch's gradient or the shown sequence's own (``per_example``), in a real browser, for
a PyTorch ``Recorder``'s run: an LSTM trained on batches of 8 sequences, its label row showing
sequence 3.

On exported pages: the toolbar's 'gradient of' control is there only for such a recording; the
stacked bars are the batch's magnitudes, and after choosing 'this sequence' the sequence's own
(``Record.example_magnitudes``), with the legend saying which; for long chunks the page holds
the selected chunk's own only, and says so for the others. In JupyterLab: the control sets the
kernel's ``w.per_example``, and for long chunks the idle kernel sends the shown chunk's own.
Screenshots in test-artifacts/.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import CharRNNTrainer, corpora
from rnnbow_widget.widget import RNNbow

#: bfloat16 keeps 8 significant bits: each magnitude within 2^-9 of its value, so their sums too.
RTOL = 5e-3
EXAMPLE = 3

RUN_CODE = f"""\
import torch
from torch import nn
from rnnbow_widget.pytorch import Recorder

def recorder_run(n, steps=31, batch=8, every=10):
    # A word-level LSTM trained on random batches, clipped at 0.09: a record every 10 steps.
    torch.manual_seed(0)
    vocab = [f"w{{i}}" for i in range(12)]
    embed, lstm, decoder = nn.Embedding(12, 8), nn.LSTM(8, 16), nn.Linear(16, 12)
    params = [*embed.parameters(), *lstm.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    rec = Recorder(lstm, decoder, vocab=vocab, seq_length=n, every=every, example={EXAMPLE},
                   max_norm=0.09)
    for step in range(steps):
        tokens = torch.randint(0, 12, (n + 1, batch))
        x, y = embed(tokens[:-1]), tokens[1:]
        loss = nn.functional.cross_entropy(decoder(lstm(x)[0]).flatten(0, 1), y.flatten())
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, 0.09)
        optimizer.step()
        optimizer.zero_grad()
        rec.observe(step, x.detach(), y, tokens=tokens[:-1], loss=loss, grad_norm=norm)
    return rec
"""

BAR_SEGMENTS = """() => [...document.querySelectorAll(
    '[data-rnnbow-view=bars] rect.rnnbow-segment')].map((r) => [r.dataset.step, r.dataset.value])"""


def recorder_run(n: int):
    namespace: dict = {}
    exec(RUN_CODE, namespace)  # the same run as the notebook's
    return namespace["recorder_run"](n)


def bar_totals(page) -> dict[int, float]:
    """Each drawn bar's height: the sum of its segments' values, by step."""
    totals: dict[int, float] = {}
    for step, value in page.evaluate(BAR_SEGMENTS):
        totals[int(step)] = totals.get(int(step), 0.0) + float(value)
    return totals


def assert_bars_are(page, magnitudes: np.ndarray) -> None:
    """The bars drawn (the grey "others" on) are the whole columns of ``magnitudes``."""
    exact = magnitudes.sum(axis=0, dtype=np.float64)
    drawn = bar_totals(page)
    assert len(drawn) >= 20
    for j, total in drawn.items():
        assert total == pytest.approx(exact[j], rel=RTOL), j


def gradient_of(page) -> str:
    return page.locator("[data-rnnbow-view=bars] svg.rnnbow-bars-svg").get_attribute(
        "data-gradient-of"
    )


@pytest.fixture(scope="module")
def short_run():
    return recorder_run(n=24)


def test_a_page_shows_the_batchs_gradient_or_the_sequences_own(short_run, open_exported, artifacts):
    recording = short_run.recording
    record = recording[1]
    widget = RNNbow(short_run)
    widget.selected_batch = 1
    page = open_exported(widget)
    control = page.locator(".rnnbow-gradient-of")
    assert control.is_visible() and control.input_value() == "batch"
    assert gradient_of(page) == "batch"
    assert_bars_are(page, record.magnitudes)
    legend = page.locator(".rnnbow-legend-gradient-of").inner_text()
    assert legend.startswith("Gradient of the whole batch (what the optimizer applies)")
    # The info line shows what the recorder was given: the norm, and clipping (max_norm=0.09).
    info = page.locator(".rnnbow-info").inner_text()
    assert f"gradient norm {record.grad_norm:.3g}"[:16] in info
    assert record.clipped and "(clipped)" in info
    page.locator(".rnnbow-root").screenshot(path=artifacts / "per-example-batch.png")

    control.select_option("example")
    page.wait_for_selector("svg.rnnbow-bars-svg[data-gradient-of='example']")
    assert_bars_are(page, record.example_magnitudes)
    assert not np.allclose(record.example_magnitudes, record.magnitudes, rtol=0.1)
    legend = page.locator(".rnnbow-legend-gradient-of").inner_text()
    assert legend.startswith("Gradient of this sequence's own losses")
    assert "this sequence's own" in page.locator(".rnnbow-horizon-title").text_content()
    page.locator(".rnnbow-root").screenshot(path=artifacts / "per-example-sequence.png")
    widget.close()


def test_a_page_of_a_recording_without_them_has_no_control(open_exported):
    trainer = CharRNNTrainer(corpora.c_code(5_000), hidden_size=8, seq_length=12, seed=0)
    trainer.train(3, progress=False)
    page = open_exported(RNNbow(trainer, per_example=True))
    assert page.locator(".rnnbow-gradient-of").is_hidden()
    assert page.locator(".rnnbow-legend-gradient-of").count() == 0
    assert gradient_of(page) == ""


def test_a_page_of_long_chunks_holds_the_selected_chunks_own_only(open_exported, artifacts):
    run = recorder_run(n=70)
    widget = RNNbow(run, per_example=True)
    widget.selected_batch = 1
    page = open_exported(widget)
    assert gradient_of(page) == "example"
    assert_bars_are(page, run.recording[1].example_magnitudes)
    page.locator(".rnnbow-root").press("ArrowRight")
    page.wait_for_selector(".rnnbow-root[data-selected='2']")
    assert gradient_of(page) == "batch"
    assert_bars_are(page, run.recording[2].magnitudes)
    assert page.locator(".rnnbow-legend-gradient-of").inner_text() == (
        "Gradient of the whole batch (what the optimizer applies): this page holds the "
        "sequence's own only for chunk 1."
    )
    page.locator(".rnnbow-root").screenshot(path=artifacts / "per-example-long-page.png")
    widget.close()


def test_in_jupyterlab_the_control_sets_the_trait_and_the_kernel_sends_them(
    open_notebook, artifacts
):
    cell = RUN_CODE + "from rnnbow_widget import RNNbow\nw = RNNbow(recorder_run(70))\nw"
    lab = open_notebook("lab", "per-example.ipynb", cell)
    page = lab.page
    page.wait_for_selector("[data-rnnbow-view=overview][data-records='4']", timeout=120_000)
    page.locator(".rnnbow-gradient-of").select_option("example")
    # The latest chunk's own triangle comes from the idle kernel (long chunks: on request).
    page.wait_for_selector("svg.rnnbow-bars-svg[data-gradient-of='example']", timeout=30_000)
    assert lab.run("print('per_example', w.per_example)", r"per_example \w+") == "per_example True"
    totals = lab.run(
        "print('totals', w.recording[-1].example_magnitudes.sum(axis=0)[:3].round(4).tolist())",
        r"totals \[[^\]]*\]",
    )
    expected = [float(v) for v in totals.removeprefix("totals [").removesuffix("]").split(",")]
    drawn = bar_totals(page)
    for j, value in enumerate(expected):
        if j in drawn:
            assert drawn[j] == pytest.approx(value, rel=RTOL, abs=1e-4), j
    page.locator(".rnnbow-root").screenshot(path=artifacts / "per-example-lab.png")
