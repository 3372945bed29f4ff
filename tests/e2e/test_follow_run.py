"""A run directory written by a separate Python process, followed live by a notebook's widget
(in Notebook 7)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time, numpy as np
from rnnbow_widget import RunWriter
writer = RunWriter(sys.argv[1], seq_length=6, vocab=["<eos>", "the", "cat", "sat", "on", "mat"],
                   meta={"title": "written by another process"}, flush_seconds=0.2)
rng = np.random.default_rng(0)
for step in range(int(sys.argv[2])):
    writer.append(step=step * 10, inputs=rng.integers(0, 6, 6), targets=rng.integers(0, 6, 6),
                  predictions=rng.integers(0, 6, 6), losses=rng.random(6),
                  magnitudes=np.tril(rng.random((6, 6))) * (1 + step))
    time.sleep(0.1)
writer.close()
"""


def test_the_overview_grows_while_another_process_writes_the_run(open_notebook, jupyter, artifacts):
    run = jupyter.root / "runs" / "live"
    records = 150  # about 15 s of writing
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(run), str(records)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 30
        while not (run / "run.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Notebook 7: a page of its own (a second notebook in JupyterLab's restored workspace
        # would disturb the JupyterLab tests that follow)
        lab = open_notebook(
            "notebook",
            "follow.ipynb",
            "from rnnbow_widget import RNNbow\nw = RNNbow('runs/live')\nw",
        )
        page = lab.page
        overview = page.locator("[data-rnnbow-view=overview]")
        overview.wait_for(timeout=60_000)
        seen = []
        while writer.poll() is None and len(seen) < 40:
            page.wait_for_timeout(250)
            seen.append(int(overview.get_attribute("data-records") or 0))
            if len(seen) == 12:
                page.locator(".rnnbow-root").screenshot(path=artifacts / "nb7-follow-run.png")
        growing = sorted(set(seen))
        assert len(growing) >= 4, f"record counts seen while the other process wrote: {seen}"
        assert seen == sorted(seen)
        writer.wait(timeout=60)
        page.wait_for_selector(
            f"[data-rnnbow-view=overview][data-records='{records}']", timeout=15_000
        )
        assert lab.run("print('FOLLOWING', w.following)", r"FOLLOWING \w+") == "FOLLOWING False"
        page.locator(".rnnbow-root").screenshot(path=artifacts / "nb7-follow-run-finished.png")
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
