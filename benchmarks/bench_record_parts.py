"""Where a chunk's time goes *inside* training, with every chunk recorded.

``bench_units.py`` times the parts of a recorded chunk one at a time, each on warm caches; in
the training loop the same calls run between the forward/backward passes and the optimizer,
whose arrays push theirs out of the CPU caches, and the per-unit store writes into memory
touched for the first time. This script wraps the parts of ``CharRNNTrainer._advance`` with
timers while ``train`` runs (vanilla cell, H = 100, n = 25, ``corpora.c_code()``, a record on
every chunk) and prints each part's mean wall time per chunk, and the page faults per chunk.
It also times filling a fresh 64 MiB array against filling it again: on a VM that backs guest
memory lazily, the first touch of memory is what a growing per-unit store pays per record.

Run from the repository root::

    .venv/bin/python benchmarks/bench_record_parts.py [--horizon 5] [--units-budget-mb 256]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora
from rnnbow_widget import trainer as trainer_module
from rnnbow_widget.trainer import CharRNNTrainer


def timed(totals: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` that adds its wall time to ``totals[name]`` on every call."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def first_touch_ns_per_byte(mib: int = 64) -> tuple[float, float]:
    """Nanoseconds per byte to fill a fresh ``mib`` MiB array, and to fill it again."""
    import numpy as np

    array = np.empty(mib * 2**20, dtype=np.uint8)
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        array.fill(1)
        timings.append((time.perf_counter() - start) / array.nbytes * 1e9)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--horizon", type=int, default=5, help="0 for every pair")
    parser.add_argument("--units-budget-mb", type=float, default=256.0)
    args = parser.parse_args()
    trainer = CharRNNTrainer(
        corpora.c_code(),
        hidden_size=100,
        seq_length=25,
        record_every=1,
        horizon=args.horizon or None,
        units_budget_mb=args.units_budget_mb,
    )
    trainer.train(20, progress=False)
    totals: dict[str, float] = {}
    cell = trainer._cell
    trainer._cell = dataclasses.replace(
        cell,
        forward=timed(totals, "forward", cell.forward),
        backward=timed(totals, "backward", cell.backward),
        magnitudes=timed(totals, "magnitudes", cell.magnitudes),
        magnitudes_and_units=timed(totals, "magnitudes + units", cell.magnitudes_and_units),
    )
    trainer.recording._append = timed(totals, "append", trainer.recording._append)
    if trainer.recording.units is not None:
        trainer.recording.units.put = timed(totals, "units put", trainer.recording.units.put)
    clip, rounding = trainer_module.clip_gradients, trainer_module.float32_to_bfloat16
    trainer_module.clip_gradients = timed(totals, "clip", clip)
    trainer_module.float32_to_bfloat16 = timed(totals, "units to bfloat16", rounding)
    trainer._apply_update = timed(totals, "update", trainer._apply_update)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    try:
        trainer.train(args.chunks, progress=False)
    finally:
        trainer_module.clip_gradients = clip
        trainer_module.float32_to_bfloat16 = rounding
    total = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    horizon = args.horizon or "every pair"
    print(
        f"every chunk recorded, horizon {horizon}, units budget {args.units_budget_mb:g} MiB; "
        f"{args.chunks} chunks; mean wall time per chunk:"
    )
    for name, seconds in totals.items():
        print(f"  {name:<18} {seconds / args.chunks * 1e6:7.1f} us")
    rest = total - sum(totals.values())
    print(f"  {'the rest':<18} {rest / args.chunks * 1e6:7.1f} us")
    print(f"  {'total':<18} {total / args.chunks * 1e6:7.1f} us")
    print(f"page faults per chunk: {faults / args.chunks:.2f}")
    fresh, again = first_touch_ns_per_byte()
    print(
        f"filling 64 MiB: {fresh:.2f} ns per byte when fresh, {again:.2f} ns when filled again "
        f"({fresh * 23_000 / 1e3:.0f} us vs {again * 23_000 / 1e3:.0f} us per 23 KB record)"
    )


if __name__ == "__main__":
    main()
