"""Cost of itemizing a chunk's gradient, relative to the training step it rides on.

For each (n, H) the script times, on the same random chunk:

- ``forward + BPTT``: ``model.forward`` then ``model.backward`` (what every training step pays);
- ``itemize full``: ``itemize.magnitudes_from_cache`` over all (t, j) pairs;
- ``itemize k=5``: the same with ``horizon=5`` (the paper's default).

Each figure is the median of ``--repeats`` timings (``time.perf_counter``), each timing the
mean of ``--inner`` back-to-back calls. The ratios are itemize time / (forward + BPTT) time.

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

from rnnbow_widget import itemize, model

SIZES = ((25, 100), (100, 256))
VOCAB_SIZE = 65


def median_seconds(call: Callable[[], object], repeats: int, inner: int) -> float:
    """Median over ``repeats`` of the mean time of ``inner`` consecutive calls."""
    call()  # warm-up: first-call allocations, BLAS thread start
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            call()
        timings.append((time.perf_counter() - start) / inner)
    return float(np.median(timings))


def measure(n: int, H: int, repeats: int, inner: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    params = model.init_params(VOCAB_SIZE, H, rng, init_scale=1.0)
    inputs = rng.integers(0, VOCAB_SIZE, n)
    targets = rng.integers(0, VOCAB_SIZE, n)
    h0 = np.tanh(rng.standard_normal(H))
    cache = model.forward(params, inputs, targets, h0)

    def train_step() -> None:
        model.backward(params, model.forward(params, inputs, targets, h0))

    train = median_seconds(train_step, repeats, inner)
    full = median_seconds(lambda: itemize.magnitudes_from_cache(params, cache), repeats, inner)
    k5 = median_seconds(
        lambda: itemize.magnitudes_from_cache(params, cache, horizon=5), repeats, inner
    )
    return {"train": train, "full": full, "k5": k5}


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
            f"{r['k5'] * 1e6:>10.0f}us | {r['full'] / r['train']:>10.2f} "
            f"{r['k5'] / r['train']:>9.2f}"
        )


if __name__ == "__main__":
    main()
