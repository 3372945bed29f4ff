"""The paper's use case end to end: 50,000 chunks of C code, H = 100, n = 25, record every 100.

Trains a fresh ``CharRNNTrainer`` on ``corpora.c_code()`` (C headers, standing in for the
paper's Linux kernel) exactly as section 5 of the paper describes: chunks of 25 characters,
100 hidden units, itemized gradients recorded every 100 chunks over the first 50,000 chunks.
Prints the wall time, the CPU time of this process, the number of records, the smoothed loss
at the end and a short sample (the paper's figure 4 shows such samples).

Run from the repository root::

    .venv/bin/python benchmarks/bench_use_case.py [--steps 50000] [--progress] [--dtype float32]

``--dtype float32`` runs the same use case in single precision (PyTorch's default); the
trainer's default, and the paper's analysis, is float64.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora
from rnnbow_widget.trainer import CharRNNTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50_000, help="chunks to train on")
    parser.add_argument("--progress", action="store_true", help="show the progress bar")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    args = parser.parse_args()

    text = corpora.c_code()
    trainer = CharRNNTrainer(
        text, hidden_size=100, seq_length=25, record_every=100, dtype=args.dtype
    )
    print(f"corpus {len(text):,} chars, V = {len(trainer.vocab)}; {os.cpu_count()} CPUs")
    print(f"precision: {trainer.dtype}")
    print(f"before training: {trainer.sample(60, temperature=0.8)!r}")
    wall, cpu = time.perf_counter(), time.process_time()
    mean_loss = trainer.train(args.steps, progress=args.progress)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    chars = args.steps * trainer.seq_length
    print(f"{args.steps:,} chunks ({chars:,} chars, {chars / len(text):.2f} passes)")
    print(f"wall time {wall:.1f} s ({chars / wall:,.0f} chars/s), CPU time {cpu:.1f} s")
    print(f"records: {len(trainer.recording)} ({trainer.recording.nbytes / 1e6:.2f} MB)")
    print(f"mean loss {mean_loss:.3f}, smoothed loss at the end {trainer.smooth_loss:.3f}")
    print(f"after training: {trainer.sample(60, temperature=0.8)!r}")


if __name__ == "__main__":
    main()
