"""Bytes kernel -> browser per record at n = 25, 128 and 512: live, history, whole triangle.

Every message the widget sends is captured at ``Widget._send`` (``bench_widget.SentBytes``:
compact JSON plus binary buffers) for a recording of synthetic records (magnitudes that decay
going back in time; the bytes do not depend on the values):

* **live**: records appended one at a time, each pushed at once (one record per message, the
  worst case for header overhead; a trainer pushes at most one message per 0.4 s);
* **history**: the browser's ``request_records`` of the whole recording (a page load);
* **whole triangle**: the answer to one ``request_magnitudes`` (chunks of 64 steps or more,
  whose records carry the band of the 32 nearest sources);
* **before**: what a record cost when every record carried its whole triangle (the column
  bytes of the old layout: the band columns replaced by the packed triangle).

Each n is measured twice: records of the batch's magnitudes only (the numpy trainer's), and
records that also hold the shown sequence's own (``example_magnitudes``, a PyTorch
``Recorder``'s): short chunks send them with every record, long chunks on request
(``request_magnitudes`` with ``"column": "example_magnitudes"``, the last column).

Run from the repository root::

    .venv/bin/python benchmarks/bench_wire.py

Target (issue #11, section 4): at most 40 KB per record live at n = 512.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_widget import SentBytes

from rnnbow_widget import payload
from rnnbow_widget.columns import K_BAND, sends_band
from rnnbow_widget.recording import Recording
from rnnbow_widget.widget import RNNbow

VOCAB = [chr(c) for c in range(32, 127)]


def synthetic_record(rng, n: int, scale: float, example: bool = False) -> dict:
    t, j = np.indices((n, n))
    own = {"example_magnitudes": np.tril(rng.random((n, n)) * 0.8 ** (t - j))} if example else {}
    return {
        **own,
        "step": 0,
        "inputs": rng.integers(0, len(VOCAB), n),
        "targets": rng.integers(0, len(VOCAB), n),
        "predictions": rng.integers(0, len(VOCAB), n),
        "losses": rng.random(n) * 3,
        "magnitudes": np.tril(rng.random((n, n)) * 0.9 ** (t - j)) * scale,
    }


def measure(n: int, count: int, example: bool = False) -> dict[str, float]:
    rng = np.random.default_rng(0)
    recording = Recording(n, VOCAB)
    widget = RNNbow(recording)
    live = SentBytes(widget)
    for i in range(count):
        recording.append(**{**synthetic_record(rng, n, 1 + i, example), "step": i})
        widget._push_new_records(force=True)
    widget.close()

    history_widget = RNNbow(recording)
    history = SentBytes(history_widget)
    history_widget._handle_custom_msg({"type": "request_records", "start": 0}, [])
    whole = SentBytes(history_widget)
    history_widget._handle_custom_msg({"type": "request_magnitudes", "index": 0}, [])
    own = SentBytes(history_widget)
    request = {"type": "request_magnitudes", "index": 0, "column": "example_magnitudes"}
    history_widget._handle_custom_msg(request, [])
    history_widget.close()
    triangle_bytes = n * (n + 1) // 2 * 2
    band_bytes = n * K_BAND * 2 + n * 4
    columns = payload.bytes_per_record(n, len(VOCAB), recording.column_names)
    before = payload.bytes_per_record(n) + (triangle_bytes - band_bytes if sends_band(n) else 0)
    return {
        "columns": columns,
        "live": live.bytes / live.records,
        "history": history.bytes / history.records,
        "whole": whole.bytes if sends_band(n) else 0,
        "own": own.bytes if sends_band(n) and example else 0,
        "before": before,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="records per recording")
    args = parser.parse_args(argv)
    print(f"{args.count} synthetic records per n; bytes per record (JSON headers included)")
    print(f"{'n':>5} {'layout':<9} {'own':<4} {'columns':>9} {'live':>9} {'history':>9} "
          f"{'before':>9} {'whole triangle':>15} {'own triangle':>13}")  # fmt: skip
    for n in (25, 128, 512):
        for example in (False, True):
            figures = measure(n, args.count, example)
            layout = "band" if sends_band(n) else "triangle"
            whole = f"{figures['whole']:,.0f}" if figures["whole"] else "-"
            own = f"{figures['own']:,.0f}" if figures["own"] else "-"
            before = "-" if example else f"{figures['before']:,}"  # the old layout had no own
            print(
                f"{n:>5} {layout:<9} {'yes' if example else 'no':<4} {figures['columns']:>9,} "
                f"{figures['live']:>9,.0f} {figures['history']:>9,.0f} "
                f"{before:>9} {whole:>15} {own:>13}"
            )
    print("target: live <= 40,000 bytes per record at n = 512")


if __name__ == "__main__":
    main()
