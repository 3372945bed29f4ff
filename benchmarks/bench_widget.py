"""What the widget costs: bytes sent to the browser per recorded chunk, and training slowdown.

Two measurements, in the same run, on the paper's setup (vanilla RNN, H = 100, n = 25, the
bundled C code):

1. **Bytes kernel -> browser per recorded chunk.** Every message the widget sends (the
   ``records`` custom messages and the ``_record_count`` state updates) is captured at
   ``Widget._send`` and counted as compact JSON plus its binary buffers. Reported for live
   pushes while training (``record_every`` 100, the paper's, and 1, a record every chunk,
   the worst case for message overhead) and for answering a ``request_records`` of the
   whole history (what a page load costs).
2. **Training throughput with a widget attached and pushing** versus the same trainer
   setup without a widget. Messages are captured, not transmitted, so the figure is the
   kernel-side cost (encoding, throttling, bookkeeping). Time is this process's CPU time
   (``time.process_time``), so other work on a shared machine disturbs it less than wall
   time would. The two variants take turns for ``--rounds`` rounds of ``--steps`` chunks
   each; the figure is the median over rounds.

Run from the repository root::

    .venv/bin/python benchmarks/bench_widget.py
    .venv/bin/python benchmarks/bench_widget.py --steps 3000 --rounds 5

Targets (docs/data-contract.md and the design brief): <= 4 KB per recorded chunk on
average; <= 10 % slower training with the widget attached.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnbow_widget import corpora, payload  # noqa: E402
from rnnbow_widget.trainer import CharRNNTrainer  # noqa: E402
from rnnbow_widget.widget import RNNbow  # noqa: E402

HIDDEN_SIZE, SEQ_LENGTH = 100, 25


class SentBytes:
    """Replaces a widget's ``_send``: counts every message's JSON and buffer bytes."""

    def __init__(self, widget: RNNbow) -> None:
        self.messages = 0
        self.bytes = 0
        self.records = 0
        widget._send = self.capture

    def capture(self, message: dict, buffers: list | None = None) -> None:
        self.messages += 1
        header = json.dumps(message, separators=(",", ":"), default=str).encode()
        self.bytes += len(header) + sum(len(memoryview(b).cast("B")) for b in buffers or [])
        content = message.get("content") or {}
        if content.get("type") == "records":
            self.records += content["count"]


def make_trainer(text: str, record_every: int) -> CharRNNTrainer:
    return CharRNNTrainer(
        text, hidden_size=HIDDEN_SIZE, seq_length=SEQ_LENGTH, record_every=record_every, seed=0
    )


def live_bytes(text: str, steps: int, record_every: int) -> SentBytes:
    trainer = make_trainer(text, record_every)
    widget = RNNbow(trainer)
    sent = SentBytes(widget)
    trainer.train(steps, progress=False)
    widget.close()
    assert sent.records == len(trainer.recording), "every record is pushed exactly once"
    return sent


def history_bytes(text: str, steps: int) -> tuple[SentBytes, int]:
    trainer = make_trainer(text, 1)
    trainer.train(steps, progress=False)
    widget = RNNbow(trainer)
    sent = SentBytes(widget)
    widget._handle_custom_msg({"type": "request_records", "start": 0}, [])
    widget.close()
    return sent, len(trainer.recording)


def timed_training(text: str, steps: int, record_every: int, with_widget: bool) -> float:
    trainer = make_trainer(text, record_every)
    widget = None
    if with_widget:
        widget = RNNbow(trainer)
        SentBytes(widget)
    started = time.process_time()
    trainer.train(steps, progress=False)
    elapsed = time.process_time() - started
    if widget is not None:
        widget.close()
    return steps / elapsed


def every_chunk_with_widget(text: str, rounds: int) -> dict[str, float]:
    """CPU time per chunk, relative to a plain trainer's, of recording every chunk at horizon
    5 without and with a widget attached: the median over rounds of the per-round ratios. The
    three trainers take turns (25 chunks each per round, in a shuffled order), so the
    machine's drift in speed cancels."""
    options = {"hidden_size": HIDDEN_SIZE, "seq_length": SEQ_LENGTH, "seed": 0}
    trainers = {
        "plain": CharRNNTrainer(text, record_every=10**9, **options),
        "recording": CharRNNTrainer(text, record_every=1, horizon=5, **options),
        "recording, widget attached": CharRNNTrainer(text, record_every=1, horizon=5, **options),
    }
    widget = RNNbow(trainers["recording, widget attached"])
    SentBytes(widget)
    times: dict[str, list[float]] = {name: [] for name in trainers}
    for trainer in trainers.values():
        trainer.train(20, progress=False)
    order = list(trainers)
    for _ in range(rounds):
        random.shuffle(order)  # none always runs on the caches another left
        for name in order:
            started = time.process_time()
            trainers[name].train(25, progress=False)
            times[name].append(time.process_time() - started)
    widget.close()
    plain = times["plain"]
    return {
        name: statistics.median(t / p for t, p in zip(values, plain, strict=True))
        for name, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="chunks per timed run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per variant")
    args = parser.parse_args()
    text = corpora.c_code()
    print(f"vanilla RNN, H={HIDDEN_SIZE}, n={SEQ_LENGTH}, corpus {len(text):,} characters")
    print(f"column bytes per record (payload.bytes_per_record): {payload.bytes_per_record(25)}")

    print("\n1. bytes kernel -> browser per recorded chunk")
    for record_every, steps in ((100, 10_000), (1, 3000)):
        sent = live_bytes(text, steps, record_every)
        print(
            f"  live push, record_every={record_every:>3}, {steps:,} steps: "
            f"{sent.records:,} records in {sent.messages:,} messages, {sent.bytes:,} bytes = "
            f"{sent.bytes / sent.records:,.0f} B per record"
        )
    sent, count = history_bytes(text, 3000)
    print(
        f"  request_records of the whole history: {count:,} records in {sent.messages} "
        f"messages, {sent.bytes:,} bytes = {sent.bytes / count:,.0f} B per record"
    )

    print(
        f"\n2. training throughput (CPU time), {args.steps:,} chunks per run, {args.rounds} rounds"
    )
    for record_every in (100, 10):
        rates: dict[bool, list[float]] = {False: [], True: []}
        timed_training(text, 200, record_every, True)  # warm-up
        for _ in range(args.rounds):
            for with_widget in (False, True):
                rates[with_widget].append(
                    timed_training(text, args.steps, record_every, with_widget)
                )
        bare, attached = statistics.median(rates[False]), statistics.median(rates[True])
        print(
            f"  record_every={record_every:>3}: without widget {bare:,.0f} chunks/s, "
            f"with widget pushing {attached:,.0f} chunks/s -> "
            f"{100 * (bare - attached) / bare:+.1f} % slower "
            f"(rounds: {[round(r) for r in rates[False]]} vs {[round(r) for r in rates[True]]})"
        )

    print("\n3. record every chunk at horizon 5, CPU time per chunk over a plain trainer's")
    print(
        "   (three trainers taking turns in a shuffled order, 25 chunks each, 40 rounds, medians"
        " of per-round ratios)"
    )
    for name, ratio in every_chunk_with_widget(text, 40).items():
        print(f"  {name:<28} x{ratio:.2f}")


if __name__ == "__main__":
    main()
