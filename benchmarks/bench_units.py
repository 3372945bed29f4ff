"""Measure the per-unit drilldown: bytes per record, the store under its budget, the extra time
a recorded step costs, the size of one ``units`` message and of the saved file.

Run from the repository root::

    .venv/bin/python benchmarks/bench_units.py                  # n = 25, H = 100
    .venv/bin/python benchmarks/bench_units.py --hidden-size 256 --budget-mb 64

Three kinds of figures:

- the store (full triangle and horizon band): bytes per record, records that fit, ``put`` per
  record (fresh records: this includes first touching their memory);
- the parts of a recorded chunk, as the trainer runs them, each timed alone (``timeit``, best
  of ``--repeats``): the magnitudes (``engine.walk`` then ``engine.magnitudes``), the same plus
  the units (``engine.unit_contributions``, in the walk's pair order), ``UnitStore.put`` (which
  rounds them to bfloat16) and ``Recording.append`` (checked, one record);
- training with a record on every chunk against training without (issue 2b), paired: per
  round, ``--chunks`` chunks of each on two trainers, CPU time; the medians over the rounds of
  the ratio and of the extra time per recorded chunk. Steadier than best-of runs on a shared
  machine, but still expect +-10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import timeit
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora, engine, payload
from rnnbow_widget.cells import gru, lstm, rnn
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.units import UnitStore

HORIZONS = (None, 5)


def best_us(function, repeats: int, number: int = 50) -> float:
    return 1e6 * min(timeit.repeat(function, number=number, repeat=repeats)) / number


def record_overhead(H: int, n: int, V: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, V, n), rng.integers(0, V, n)
    cases = [
        ("rnn", rnn.init_params(V, H, rng), rnn.initial_state(H), rnn),
        ("lstm", lstm.init_params(V, H, rng), lstm.initial_state(H), lstm),
        ("gru", gru.init_params(V, H, rng), gru.initial_state(H), gru),
    ]
    print(f"\nparts of a recorded chunk, n = {n}, H = {H}, V = {V} (us, best of {repeats})")
    print("  cell  horizon  magnitudes  + units  put  append  = extra")
    for name, params, state0, cell in cases:
        cache = cell.forward(params, inputs, targets, state0)
        for horizon in HORIZONS:
            lags = min(horizon or n, n)

            def magnitudes(cell=cell, params=params, cache=cache, lags=lags) -> np.ndarray:
                return engine.magnitudes(engine.walk(cell, params, cache, lags), "W_hh", "fro")

            def both(cell=cell, params=params, cache=cache, lags=lags) -> tuple:
                walk = engine.walk(cell, params, cache, lags)
                return (
                    engine.magnitudes(walk, "W_hh", "fro"),
                    engine.unit_contributions(walk, "W_hh"),
                )

            m, units = both()
            store = UnitStore(n, H, horizon=horizon)
            recording = Recording(n, "ab")
            index = iter(range(10**9))
            chunk = {
                "step": 0,
                "offset": 0,
                "inputs": inputs % 2,
                "targets": targets % 2,
                "predictions": inputs % 2,
                "losses": cache.losses,
                "magnitudes": m,
                "grad_norm": 1.0,
                "clipped": False,
                "smooth_loss": 1.0,
            }
            alone = best_us(magnitudes, repeats)
            with_units = best_us(both, repeats)
            put = best_us(lambda: store.put(next(index), units), repeats)  # noqa: B023
            append = append_us(recording, chunk)
            print(
                f"  {name:5s} {horizon!s:>7s} {alone:11.0f} {with_units:8.0f} {put:4.0f} "
                f"{append:7.0f} {with_units + put + append:8.0f}"
            )


def append_us(recording: Recording, chunk: dict, count: int = 512) -> float:
    """Mean µs per ``Recording.append`` of ``count`` records to a growing recording (the
    reallocations as it grows included; the summary numbers are worked out later, when a
    derived column is first read)."""
    start = time.perf_counter()
    for _ in range(count):
        recording.append(**chunk)
    return (time.perf_counter() - start) / count * 1e6


def store_figures(H: int, n: int, budget_mb: float, records: int) -> None:
    for horizon in HORIZONS:
        store = UnitStore(n, H, budget_mb, horizon)
        values = np.random.default_rng(1).random((store.rows, H))
        start = time.perf_counter()
        for i in range(records):
            store.put(i, values)
        elapsed = time.perf_counter() - start
        print(
            f"\nUnitStore, n = {n}, H = {H}, horizon {horizon}, budget {budget_mb:g} MiB, "
            f"{records} records appended"
        )
        print(f"  bytes per kept record       {store.record_bytes:,} (bfloat16, {store.rows} rows)")
        print(f"  records that fit the budget {store.capacity:,}")
        print(f"  kept                        {len(store):,} (stride {store.stride}), "
              f"{store.nbytes / 2**20:.1f} MiB")  # fmt: skip
        print(f"  put() per record            {1e6 * elapsed / records:.1f} us (fresh memory)")


def training_ratio(H: int, n: int, chunks: int, rounds: int) -> None:
    text = corpora.c_code()
    print(f"\ntraining, record on every chunk vs none, n = {n}, H = {H} (medians of {rounds} "
          f"paired rounds of {chunks} chunks, CPU time)")  # fmt: skip
    for cell in ("rnn", "lstm", "gru"):
        for horizon in HORIZONS:
            runs = {
                every: CharRNNTrainer(text, hidden_size=H, seq_length=n, cell=cell,
                                      horizon=horizon, record_every=every)
                for every in (1, 10**9)
            }  # fmt: skip
            for trainer in runs.values():
                trainer.train(20, progress=False)
            ratios, extras = [], []
            for _ in range(rounds):
                spent = {}
                for every, trainer in runs.items():
                    start = time.process_time()
                    trainer.train(chunks, progress=False)
                    spent[every] = (time.process_time() - start) / chunks
                ratios.append(spent[1] / spent[10**9])
                extras.append(spent[1] - spent[10**9])
            print(
                f"  {cell:5s} horizon {horizon!s:>4s}: x{np.median(ratios):.2f}, "
                f"+{1e6 * np.median(extras):.0f} us per recorded chunk"
            )


def wire_and_file(H: int, n: int, steps: int) -> None:
    text = "for (i = 0; i < n; i++) { sum += a[i] * b[i]; }\n" * 200
    trainer = CharRNNTrainer(text, hidden_size=H, seq_length=n, record_every=10)
    trainer.train(steps, progress=False)
    content, buffers = payload.units_message(trainer.recording, len(trainer.recording) - 1)
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
    parser.add_argument("--chunks", type=int, default=40, help="chunks per paired round")
    parser.add_argument("--rounds", type=int, default=30, help="paired rounds")
    args = parser.parse_args()
    H, n = args.hidden_size, args.seq_length
    store_figures(H, n, args.budget_mb, args.records)
    record_overhead(H, n, args.vocab_size, args.repeats)
    training_ratio(H, n, args.chunks, args.rounds)
    wire_and_file(H, n, 300)


if __name__ == "__main__":
    main()
