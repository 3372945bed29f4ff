"""Measure the per-unit drilldown: bytes per record, the store under its budget, the extra time
a recorded step costs, the size of one ``units`` message and of the saved file.

Run from the repository root::

    .venv/bin/python benchmarks/bench_units.py                  # n = 25, H = 100
    .venv/bin/python benchmarks/bench_units.py --hidden-size 256 --budget-mb 64

Times are medians of interleaved repeats (CPU time of this process), to be read as rough
figures on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import itemize, model, payload
from rnnbow_widget.cells import gru, lstm
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.units import UnitStore, units_message


def cpu_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return 1000 * float(np.median(times))


def record_overhead(H: int, n: int, V: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, V, n), rng.integers(0, V, n)
    cases = [
        ("rnn", model.init_params(V, H, rng), np.zeros(H), model, itemize.magnitudes_from_cache,
         itemize.magnitudes_and_units_from_cache),
        ("lstm", lstm.init_params(V, H, rng), lstm.initial_state(H), lstm,
         lstm.itemized_magnitudes, lstm.itemized_magnitudes_and_units),
        ("gru", gru.init_params(V, H, rng), gru.initial_state(H), gru,
         gru.itemized_magnitudes, gru.itemized_magnitudes_and_units),
    ]  # fmt: skip
    print(f"\nrecorded-step cost, n = {n}, H = {H}, V = {V} (median CPU ms of {repeats})")
    for name, params, state0, cell, magnitudes, both in cases:
        cache = cell.forward(params, inputs, targets, state0)
        plain = cpu_ms(lambda: magnitudes(params, cache), repeats)  # noqa: B023
        with_units = cpu_ms(lambda: both(params, cache), repeats)  # noqa: B023
        print(
            f"  {name:5s} magnitudes {plain:7.2f} ms   magnitudes + units {with_units:7.2f} ms "
            f"  (+{with_units - plain:.2f} ms)"
        )


def store_figures(H: int, n: int, budget_mb: float, records: int) -> None:
    store = UnitStore(n, H, budget_mb)
    values = np.random.default_rng(1).random((n * (n + 1) // 2, H))
    start = time.perf_counter()
    for i in range(records):
        store.put(i, values)
    elapsed = time.perf_counter() - start
    print(f"\nUnitStore, n = {n}, H = {H}, budget {budget_mb:g} MiB, {records} records appended")
    print(f"  bytes per kept record       {store.record_bytes:,} (bfloat16)")
    print(f"  records that fit the budget {store.capacity:,}")
    print(f"  kept                        {len(store):,} (stride {store.stride}), "
          f"{store.nbytes / 2**20:.1f} MiB")  # fmt: skip
    print(f"  put() per record            {1e6 * elapsed / records:.1f} us (bfloat16 rounding)")


def wire_and_file(H: int, n: int, steps: int) -> None:
    text = "for (i = 0; i < n; i++) { sum += a[i] * b[i]; }\n" * 200
    trainer = CharRNNTrainer(text, hidden_size=H, seq_length=n, record_every=10)
    trainer.train(steps, progress=False)
    content, buffers = units_message(trainer.recording, len(trainer.recording) - 1)
    print(f"\none trained run, n = {n}, H = {H}, {len(trainer.recording)} records")
    print(f"  units message               {payload.message_size(content, buffers):,} bytes")
    print(f"  records message per record  {payload.bytes_per_record(n):,} bytes (no units)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.npz"
        trainer.recording.save(path)
        with_units = path.stat().st_size
        trainer.recording.units = None
        trainer.recording.save(path)
        without = path.stat().st_size
    print(f"  saved .npz                  {with_units:,} bytes with units, {without:,} without")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-size", type=int, default=100)
    parser.add_argument("--seq-length", type=int, default=25)
    parser.add_argument("--vocab-size", type=int, default=65)
    parser.add_argument("--budget-mb", type=float, default=256.0)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    H, n = args.hidden_size, args.seq_length
    store_figures(H, n, args.budget_mb, args.records)
    record_overhead(H, n, args.vocab_size, args.repeats)
    wire_and_file(H, n, 300)


if __name__ == "__main__":
    main()
