"""Measure the Recording store: bytes per record, append time, save/load time and file size.

Run from the repository root::

    .venv/bin/python benchmarks/bench_recording.py              # 100k records, n = 25
    .venv/bin/python benchmarks/bench_recording.py --records 10000 --seq-length 50

``Recording.append`` is the one write path (the trainer uses it too): it checks every field,
writes the record and returns a ``Record``. The summary numbers (``metrics``) of the new
records are worked out together when a derived column is first read; the trainer's-path line
times both for 20,000 records appended to a fresh recording.

The magnitudes are synthetic but shaped like real ones: each source decays geometrically
back in time with a random rate, times log-normal noise, so values span many orders of
magnitude (which is what makes them hard to compress).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

from rnnbow_widget.metrics import summarize
from rnnbow_widget.recording import WIRE_COLUMNS, Recording


def synthetic_chunks(count: int, n: int, vocab_size: int, seed: int = 0):
    """Yield ``count`` keyword dicts for ``Recording.append``, cycling through 64 made-up chunks."""
    rng = np.random.default_rng(seed)
    distance = np.subtract.outer(np.arange(n), np.arange(n))
    pool = []
    for i in range(64):
        ratio = rng.uniform(0.05, 0.9)
        noise = rng.lognormal(0.0, 1.0, (n, n))
        magnitudes = np.where(distance >= 0, ratio ** np.maximum(distance, 0) * noise, 0.0)
        pool.append(
            dict(
                inputs=rng.integers(0, vocab_size, n),
                targets=rng.integers(0, vocab_size, n),
                predictions=rng.integers(0, vocab_size, n),
                losses=rng.exponential(2.0, n),
                magnitudes=magnitudes,
                grad_norm=float(rng.uniform(0, 10)),
                clipped=bool(i % 7 == 0),
                smooth_loss=float(rng.uniform(1, 4)),
            )
        )
    for i in range(count):
        yield dict(step=i * 100, offset=(i * n) % 1_000_000, **pool[i % len(pool)])


def microseconds(function, number: int = 2000, repeat: int = 5) -> float:
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seq-length", type=int, default=25)
    parser.add_argument("--vocab-size", type=int, default=96)
    args = parser.parse_args()
    n, count = args.seq_length, args.records
    vocab = [chr(32 + i) for i in range(args.vocab_size)]

    print(f"Recording benchmark: {count} records, n = {n}, vocab of {len(vocab)}")
    sample = next(synthetic_chunks(1, n, len(vocab)))
    scratch = Recording(n, vocab)
    append_us = microseconds(lambda: scratch.append(**sample))
    metrics_us = microseconds(lambda: summarize(sample["magnitudes"]))
    read_us = microseconds(lambda: scratch[0])
    print(f"append, per record (min of 5 x 2000)   {append_us:8.1f} us")
    print(f"  of which building the returned Record{read_us:8.1f} us (same as rec[i])")
    print(f"metrics.summarize of one chunk         {metrics_us:8.1f} us")
    # The trainer's path: append every record to a growing recording (no queue: each one is
    # written at once), then the summaries of all of them on the first read of a derived column.
    fresh = Recording(n, vocab)
    fields = {"step": 0, "offset": 0, **sample}
    started = time.perf_counter()
    for _ in range(20_000):
        fresh.append(**fields)
    appended = time.perf_counter()
    fresh.column("loss")  # works out the derived columns of all 20,000 records at once
    summary_us = (time.perf_counter() - appended) / 20_000 * 1e6
    append_fresh_us = (appended - started) / 20_000 * 1e6
    print(
        f"the trainer's path, per record         {append_fresh_us + summary_us:8.1f} us "
        f"(append {append_fresh_us:.1f} + summaries on first read {summary_us:.1f}; "
        "20,000 records)"
    )

    recording = Recording(n, vocab, meta={"title": "benchmark"})
    started = time.perf_counter()
    for fields in synthetic_chunks(count, n, len(vocab)):
        recording.append(**fields)
    filling = time.perf_counter() - started
    each = filling / count * 1e6
    print(f"append {count} records in a loop        {filling:8.2f} s ({each:.1f} us each)")
    print(f"memory, filled columns                 {recording.nbytes / count:8.0f} bytes/record")
    wire = sum(recording.column(name).nbytes for name in WIRE_COLUMNS)
    print(f"  wire columns (float32, before bf16)  {wire / count:8.0f} bytes/record")
    start = max(count - 4096, 0)
    started = time.perf_counter()
    {name: recording.column(name, start, count) for name in WIRE_COLUMNS}
    elapsed = (time.perf_counter() - started) * 1e6
    print(f"wire columns of a 4096-record block    {elapsed:8.1f} us")

    with tempfile.TemporaryDirectory() as folder:
        for compress in (True, False):
            path = Path(folder) / f"run_{compress}.npz"
            started = time.perf_counter()
            recording.save(path, compress=compress)
            saving = time.perf_counter() - started
            started = time.perf_counter()
            loaded = Recording.load(path)
            loading = time.perf_counter() - started
            assert len(loaded) == count
            size = os.path.getsize(path)
            label = "compressed" if compress else "uncompressed"
            print(
                f"save/load {label:<12} save {saving:6.2f} s  load {loading:6.2f} s  "
                f"file {size / 1e6:7.1f} MB ({size / count:.0f} bytes/record)"
            )


if __name__ == "__main__":
    main()
