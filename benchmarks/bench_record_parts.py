"""Where a chunk's time goes *inside* training, with every chunk recorded.

``bench_units.py`` times the parts of a recorded chunk one at a time, each on warm caches; in
the training loop the same calls run between the forward/backward passes and the optimizer,
whose arrays push theirs out of the CPU caches, and the per-unit store writes into memory
touched for the first time. This script wraps the functions ``CharRNNTrainer._advance`` calls
with timers while ``train`` runs (vanilla cell by default, H = 100, n = 25,
``corpora.c_code()``, a record on every chunk) and prints each part's mean wall time per
chunk, and the page faults per chunk. The parts, in the order the trainer runs them:

- ``forward``, ``backward``: the cell module's functions (``backward`` writes the gradients
  into the trainer's flat gradient vector);
- ``walk``, ``magnitudes``, ``units``: ``engine.walk``, ``engine.magnitudes``,
  ``engine.unit_contributions`` (the itemized gradients of the recorded chunk);
- ``clip``: ``optim.clip_gradients`` as imported in the trainer;
- ``propose``, ``apply the step``, ``commit``: the update (``Optimizer.propose``,
  ``ParameterVector.apply``: in place when the optimizer bounds its step, else checked aside
  first; ``Optimizer.commit``);
- ``Recording.append``: the checked write of one record;
- ``UnitStore.put``: the per-unit store, which rounds the units to bfloat16 (that rounding,
  ``units.float32_to_bfloat16``, is also shown on its own, inside ``put``).

The summary numbers of the records (``metrics``) are not worked out in training: a recording
works them out for all new records when a derived column is first read. That cost is printed
apart, per record, after the run. The script also times filling a fresh 64 MiB array against
filling it again: on a VM that backs guest memory lazily, the first touch of memory is what a
growing per-unit store pays per record.

Run from the repository root::

    .venv/bin/python benchmarks/bench_record_parts.py [--horizon 5] [--units-budget-mb 256]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora, engine
from rnnbow_widget import trainer as trainer_module
from rnnbow_widget import units as units_module
from rnnbow_widget.cells import get_cell
from rnnbow_widget.optim import Optimizer
from rnnbow_widget.parameters import ParameterVector
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.units import UnitStore

# Parts timed inside another part: shown, but not added to the sum.
NESTED = {"rounding to bfloat16": "UnitStore.put"}


def timed(totals: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` that adds its wall time to ``totals[name]`` on every call."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def instrument(stack: ExitStack, totals: dict[str, float], cell: Any) -> None:
    """Wrap every function the trainer's ``_advance`` calls, until ``stack`` closes."""

    def wrap(target: Any, attribute: str, name: str) -> None:
        original = getattr(target, attribute)
        stack.enter_context(mock.patch.object(target, attribute, timed(totals, name, original)))

    wrap(cell, "forward", "forward")
    wrap(cell, "backward", "backward")
    wrap(engine, "walk", "walk")
    wrap(trainer_module, "clip_gradients", "clip")
    wrap(Optimizer, "propose", "propose")
    wrap(ParameterVector, "apply", "apply the step")
    wrap(Optimizer, "commit", "commit")
    wrap(engine, "magnitudes", "magnitudes")
    wrap(Recording, "append", "Recording.append")
    wrap(engine, "unit_contributions", "units")
    wrap(UnitStore, "put", "UnitStore.put")
    wrap(units_module, "float32_to_bfloat16", "rounding to bfloat16")


def first_touch_ns_per_byte(mib: int = 64) -> tuple[float, float]:
    """Nanoseconds per byte to fill a fresh ``mib`` MiB array, and to fill it again."""
    array = np.empty(mib * 2**20, dtype=np.uint8)
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        array.fill(1)
        timings.append((time.perf_counter() - start) / array.nbytes * 1e9)
    return timings[0], timings[1]


PARTS = (
    "forward",
    "backward",
    "walk",
    "clip",
    "propose",
    "apply the step",
    "commit",
    "magnitudes",
    "Recording.append",
    "units",
    "UnitStore.put",
    "rounding to bfloat16",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--horizon", type=int, default=5, help="0 for every pair")
    parser.add_argument("--units-budget-mb", type=float, default=256.0)
    parser.add_argument("--cell", default="rnn", choices=("rnn", "lstm", "gru"))
    args = parser.parse_args()
    trainer = CharRNNTrainer(
        corpora.c_code(),
        hidden_size=100,
        seq_length=25,
        record_every=1,
        horizon=args.horizon or None,
        units_budget_mb=args.units_budget_mb,
        cell=args.cell,
    )
    trainer.train(20, progress=False)
    trainer.recording.column("loss")  # the warm-up's summaries, out of the way
    totals: dict[str, float] = {}
    records = len(trainer.recording)
    with ExitStack() as stack:
        instrument(stack, totals, get_cell(args.cell))
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        trainer.train(args.chunks, progress=False)
        total = time.perf_counter() - start
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    assert len(trainer.recording) - records == args.chunks, "every chunk is recorded"
    start = time.perf_counter()
    trainer.recording.column("loss")  # the summaries of every new record, at once
    summaries = time.perf_counter() - start

    horizon = args.horizon or "every pair"
    print(
        f"{args.cell} cell, every chunk recorded, horizon {horizon}, units budget "
        f"{args.units_budget_mb:g} MiB; {args.chunks} chunks; mean wall time per chunk:"
    )
    for name in PARTS:
        if name not in totals:
            continue
        us = totals[name] / args.chunks * 1e6
        if name in NESTED:
            print(f"    (of which {name}: {us:.1f} us)")
        else:
            print(f"  {name:<20} {us:7.1f} us")
    rest = total - sum(seconds for name, seconds in totals.items() if name not in NESTED)
    print(f"  {'the rest':<20} {rest / args.chunks * 1e6:7.1f} us")
    print(f"  {'total':<20} {total / args.chunks * 1e6:7.1f} us")
    print(f"page faults per chunk: {faults / args.chunks:.2f}")
    print(
        f"summaries on the first read of a derived column (not in the total): "
        f"{summaries / args.chunks * 1e6:.1f} us per record"
    )
    store = trainer.recording.units
    record_bytes = store.record_bytes if store is not None else 23_000
    fresh, again = first_touch_ns_per_byte()
    print(
        f"filling 64 MiB: {fresh:.2f} ns per byte when fresh, {again:.2f} ns when filled again "
        f"({fresh * record_bytes / 1e3:.0f} us vs {again * record_bytes / 1e3:.0f} us per "
        f"{record_bytes / 1e3:.0f} KB record)"
    )


if __name__ == "__main__":
    main()
