"""Cost of itemizing a chunk's gradient, relative to the training step it rides on.

For each (n, H) the script times, on the same random chunk:

- ``forward + BPTT``: ``cells.rnn.forward`` then ``cells.rnn.backward`` (what every training
  step pays);
- ``itemize full``: ``itemize.magnitudes_from_cache`` over all (t, j) pairs;
- ``itemize k=5``: the same with ``horizon=5`` (the paper's default).

Each time is the median of ``--repeats`` timings (``time.perf_counter``), each timing the
mean of ``--inner`` back-to-back calls; the three calls take turns within every repeat. The
ratios are the medians of the per-repeat ratios itemize time / (forward + BPTT) time.

Run from the repository root::

    .venv/bin/python benchmarks/bench_itemize.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import itemize
from rnnbow_widget.cells import rnn as model

SIZES = ((25, 100), (100, 256))
VOCAB_SIZE = 65


def interleaved_timings(
    calls: dict[str, Callable[[], object]], repeats: int, inner: int
) -> dict[str, np.ndarray]:
    """``repeats`` timings of each call (mean of ``inner`` consecutive calls), interleaved.

    The calls take turns within every repeat, so a burst of load from other processes hits
    all of them alike and the per-repeat ratios stay meaningful on a shared machine.
    """
    for call in calls.values():
        call()  # warm-up: first-call allocations, BLAS thread start
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(inner):
                call()
            timings[name].append((time.perf_counter() - start) / inner)
    return {name: np.array(values) for name, values in timings.items()}


def measure(n: int, H: int, repeats: int, inner: int) -> dict[str, float]:
    """Median times (s) and median per-repeat ratios for one (n, H)."""
    rng = np.random.default_rng(0)
    params = model.init_params(VOCAB_SIZE, H, rng, init_scale=1.0)
    inputs = rng.integers(0, VOCAB_SIZE, n)
    targets = rng.integers(0, VOCAB_SIZE, n)
    h0 = np.tanh(rng.standard_normal(H))
    cache = model.forward(params, inputs, targets, h0)

    timings = interleaved_timings(
        {
            "train": lambda: model.backward(params, model.forward(params, inputs, targets, h0)),
            "full": lambda: itemize.magnitudes_from_cache(params, cache),
            "k5": lambda: itemize.magnitudes_from_cache(params, cache, horizon=5),
        },
        repeats,
        inner,
    )
    result = {name: float(np.median(values)) for name, values in timings.items()}
    result["full_ratio"] = float(np.median(timings["full"] / timings["train"]))
    result["k5_ratio"] = float(np.median(timings["k5"] / timings["train"]))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31, help="timings per figure")
    parser.add_argument("--inner", type=int, default=20, help="calls per timing")
    args = parser.parse_args(argv)

    print(
        f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
        f"V={VOCAB_SIZE}, median of {args.repeats} x {args.inner} calls"
    )
    header = (
        f"{'n':>4} {'H':>4} | {'fwd+BPTT':>10} {'itemize full':>13} {'itemize k=5':>12} | "
        f"{'full/train':>10} {'k5/train':>9}"
    )
    print(header)
    print("-" * len(header))
    for n, H in SIZES:
        r = measure(n, H, args.repeats, args.inner)
        print(
            f"{n:>4} {H:>4} | {r['train'] * 1e6:>8.0f}us {r['full'] * 1e6:>11.0f}us "
            f"{r['k5'] * 1e6:>10.0f}us | {r['full_ratio']:>10.2f} {r['k5_ratio']:>9.2f}"
        )


if __name__ == "__main__":
    main()
