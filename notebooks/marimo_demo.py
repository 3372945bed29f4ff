"""RNNbow in marimo: `marimo edit notebooks/marimo_demo.py` (or `marimo run`).

Click a bar in the overview: the cell under the widget runs again and shows the chunk you
selected, read from Python.
"""

import marimo

__generated_with = "0.25.2"

app = marimo.App(width="medium")


@app.cell
def _():
    import os

    import marimo as mo

    from rnnbow_widget import CharRNNTrainer, RNNbow, corpora

    return CharRNNTrainer, RNNbow, corpora, mo, os


@app.cell
def _(CharRNNTrainer, corpora, os):
    # RNNBOW_NOTEBOOK_STEPS makes the run short (the tests set it); 2,000 chunks by default.
    steps = int(os.environ.get("RNNBOW_NOTEBOOK_STEPS", "2000"))
    trainer = CharRNNTrainer(
        corpora.c_code(50_000), hidden_size=50, seq_length=25, record_every=max(1, steps // 100)
    )
    _loss = trainer.train(steps, progress=False)
    return (trainer,)


@app.cell
def _(RNNbow, mo, trainer):
    # height bounds the widget, in pixels: the four views fit in marimo's output box.
    view = mo.ui.anywidget(RNNbow(trainer, height=560))
    view
    return (view,)


@app.cell
def _(mo, view):
    # Runs again whenever the widget changes in the browser (a click, a control).
    # view.value is a dict of the widget's traits; other attributes reach the RNNbow itself.
    record = view.selected_record
    if record is None:
        shown = mo.md("Click a bar in the overview to select a chunk.")
    else:
        shown = mo.vstack(
            [
                mo.md(
                    f"**Selected in Python: chunk {view.value['selected_batch']}** (training step"
                    f" {record.step}): loss {record.loss:.3f}, effective horizon"
                    f" {record.effective_horizon:.1f} steps"
                ),
                record,
            ]
        )
    shown
    return


if __name__ == "__main__":
    app.run()
