"""Record details beyond the browser's memory budget, fetched from the kernel when shown (in
Notebook 7): every record's summary reaches the overview, the labels and gradients of an old,
thinned-out record come when it is selected."""

from __future__ import annotations

MAKE_WIDGET = """\
from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
trainer = CharRNNTrainer(corpora.c_code(20_000), hidden_size=16, seq_length=25, record_every=1,
                         seed=0)
trainer.train(2000, progress=False)
# 0.05 MiB holds 64 records' details at n = 25: the newest 32 and every 64th older one
w = RNNbow(trainer, details_budget_mb=0.05)
w"""


def test_a_thinned_out_record_is_fetched_when_selected(open_notebook, artifacts):
    lab = open_notebook("notebook", "budget.ipynb", MAKE_WIDGET)
    page = lab.page
    page.wait_for_selector("[data-rnnbow-view=overview][data-records='2000']", timeout=90_000)
    info = page.locator(".rnnbow-info")
    labels = page.locator("[data-rnnbow-view=labels] text.rnnbow-label-true")
    # the latest record's details came with the history
    assert labels.count() == 25
    assert page.evaluate("() => document.querySelector('.rnnbow-missing').hidden")

    lab.run("w.selected_batch = 777; print('SELECTED', w.selected_batch)", r"SELECTED \d+")
    page.wait_for_function(
        "() => document.querySelector('.rnnbow-info').textContent.startsWith('Selected chunk 777')"
    )
    # the kernel is idle: it answers, and views 2-4 show record 777
    page.wait_for_function(
        "() => document.querySelector('.rnnbow-missing').hidden && "
        "document.querySelectorAll('[data-rnnbow-view=labels] text.rnnbow-label-true').length"
        " === 25",
        timeout=15_000,
    )
    # the labels are record 777's (letters and digits compared; whitespace is drawn as glyphs)
    expected = lab.run("print('TARGETS', w.recording[777].targets.encode().hex())", r"TARGETS \w+")
    targets = bytes.fromhex(expected.split()[1]).decode()
    shown = page.evaluate(
        "() => [...document.querySelectorAll('[data-rnnbow-view=labels] text.rnnbow-label-true')]"
        ".map((t) => t.textContent)"
    )
    pairs = [(a, b) for a, b in zip(targets, shown, strict=True) if a.isalnum()]
    assert pairs and all(a == b for a, b in pairs), pairs
    assert "Selected chunk 777 of 2,000" in info.text_content()
    page.locator(".rnnbow-root").screenshot(path=artifacts / "nb7-details-fetched.png")
