"""Training speed of the numpy LSTM and GRU cells, side by side with PyTorch on the CPU.

One training step is what ``CharRNNTrainer`` pays per chunk: forward, BPTT, element-wise
gradient clipping to [-5, 5], and an Adagrad update (learning rate 0.1), batch 1, H = 100,
n = 25, carrying the state between chunks. The corpus is Python's C headers
(``sysconfig.get_paths()["include"]``), as in the paper's use case of C code.

Engines:

- ``numpy lstm`` / ``numpy gru``: ``rnnbow_widget.cells`` in float64 (the trainer's default),
  and ``numpy lstm f32`` / ``numpy gru f32`` in float32 (``CharRNNTrainer(dtype="float32")``,
  PyTorch's precision); parameters are views into one flat vector and the gradients are
  laid out like it (``rnnbow_widget.parameters.ParameterVector``), as ``CharRNNTrainer``
  keeps them;
- ``torch lstm`` / ``torch gru``: ``nn.LSTM`` / ``nn.GRU`` + ``nn.Linear``, one-hot inputs,
  ``CrossEntropyLoss(reduction="sum")``, ``clip_grad_value_(5)``, ``optim.Adagrad`` (float32,
  PyTorch's default; ``--torch-dtype float64`` for the same precision as numpy), when torch
  is importable.

Both sides are pinned to one thread (``torch.set_num_threads(1)``, ``OPENBLAS_NUM_THREADS=1``
etc. before numpy loads). The engines take turns (``--rounds`` rounds of ``--chunks`` chunks
each, after a warm-up); the figures are medians over rounds of chars/s by the wall clock and
by the process's CPU time (the steadier figure on a shared machine). The script also times
one chunk's itemized magnitudes (``wrt="W_hh"``, full horizon and k = 5) for each numpy cell,
the way the trainer works them out (``engine.walk`` then ``engine.magnitudes``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_cells.py
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import engine  # noqa: E402
from rnnbow_widget.cells import get_cell  # noqa: E402
from rnnbow_widget.parameters import ParameterVector  # noqa: E402

HIDDEN = 100
SEQ = 25
LEARNING_RATE = 0.1
CLIP = 5.0


def c_headers(max_chars: int) -> str:
    """Concatenated ``*.h`` files of this Python's include folder (sorted, recursive)."""
    root = Path(sysconfig.get_paths()["include"])
    parts, total = [], 0
    for path in sorted(root.rglob("*.h")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]


class Cursor:
    """min-char-rnn's data cursor: consecutive chunks, back to the start at the end."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.p = 0

    def next(self) -> int:
        """Start of the next chunk (0 means: start again from a zero state)."""
        if self.p + SEQ + 1 > self.length:
            self.p = 0
        start = self.p
        self.p += SEQ
        return start


def numpy_engine(cell_name: str, data: np.ndarray, V: int, dtype: str) -> Callable[[], float]:
    cell = get_cell(cell_name)
    # Parameters are views into one flat vector and the gradients are gathered into one of
    # the same layout (as CharRNNTrainer keeps them), so the update is a few whole-vector
    # operations.
    vector = ParameterVector(cell.init_params(V, HIDDEN, np.random.default_rng(0)), np.dtype(dtype))
    theta, params = vector.theta, vector.params
    memory = np.zeros_like(theta)
    scratch = np.empty_like(theta)
    cursor = Cursor(len(data))
    state = cell.initial_state(HIDDEN).astype(dtype)

    def step() -> float:
        nonlocal state
        p = cursor.next()
        if p == 0:
            state = cell.initial_state(HIDDEN).astype(dtype)
        x, y = data[p : p + SEQ], data[p + 1 : p + SEQ + 1]
        cache = cell.forward(params, x, y, state)
        cell.backward(params, cache, out=vector.grads)
        grad = vector.grad
        # Adagrad as torch.optim.Adagrad: theta -= lr g / (sqrt(m) + eps), m += g^2
        np.clip(grad, -CLIP, CLIP, out=grad)
        np.multiply(grad, grad, out=scratch)
        np.add(memory, scratch, out=memory)
        np.sqrt(memory, out=scratch)
        np.add(scratch, 1e-10, out=scratch)
        np.divide(grad, scratch, out=scratch)
        np.multiply(scratch, LEARNING_RATE, out=scratch)
        np.subtract(theta, scratch, out=theta)
        state = cache.final_state
        return float(cache.losses.sum())

    return step


def torch_engine(cell_name: str, data: np.ndarray, V: int, dtype: str) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)
    torch_dtype = getattr(torch, dtype)
    rnn_class = torch.nn.LSTM if cell_name == "lstm" else torch.nn.GRU
    rnn = rnn_class(V, HIDDEN).to(torch_dtype)
    head = torch.nn.Linear(HIDDEN, V).to(torch_dtype)
    parameters = [*rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.Adagrad(parameters, lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    eye = torch.eye(V, dtype=torch_dtype)
    targets_all = torch.from_numpy(data.astype(np.int64))  # the whole corpus as indices
    cursor = Cursor(len(data))
    state = None

    def step() -> float:
        nonlocal state
        p = cursor.next()
        if p == 0:
            state = None
        inputs = eye[targets_all[p : p + SEQ]].unsqueeze(1)  # (n, 1, V) one-hot
        targets = targets_all[p + 1 : p + SEQ + 1]
        out, new_state = rnn(inputs, state)
        loss = loss_fn(head(out.squeeze(1)), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(parameters, CLIP)
        optimizer.step()
        if isinstance(new_state, tuple):
            state = tuple(s.detach() for s in new_state)
        else:
            state = new_state.detach()
        return float(loss.detach())

    return step


def chars_per_second(step: Callable[[], float], chunks: int) -> tuple[float, float]:
    """(wall-clock, CPU-time) chars/s of ``chunks`` training steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(chunks):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return chunks * SEQ / wall, chunks * SEQ / cpu


def itemize_ms(cell_name: str, V: int, horizon: int | None, repeats: int = 50) -> float:
    cell = get_cell(cell_name)
    rng = np.random.default_rng(0)
    params = cell.init_params(V, HIDDEN, rng, init_scale=1.0)
    x, y = rng.integers(0, V, SEQ), rng.integers(0, V, SEQ)
    cache = cell.forward(params, x, y, cell.initial_state(HIDDEN))
    lags = min(horizon or SEQ, SEQ)

    def magnitudes() -> np.ndarray:  # the trainer's path for a recorded chunk
        return engine.magnitudes(engine.walk(cell, params, cache, lags), "W_hh", "fro")

    magnitudes()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        magnitudes()
        timings.append(time.perf_counter() - start)
    return 1e3 * float(np.median(timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100, help="chunks per engine per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--chars", type=int, default=300_000, help="corpus size")
    parser.add_argument("--torch-dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()

    text = c_headers(args.chars)
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    data = np.array([index[ch] for ch in text], dtype=np.int64)
    V = len(vocab)

    engines: dict[str, Callable[[], float]] = {
        "numpy lstm": numpy_engine("lstm", data, V, "float64"),
        "numpy lstm f32": numpy_engine("lstm", data, V, "float32"),
        "numpy gru": numpy_engine("gru", data, V, "float64"),
        "numpy gru f32": numpy_engine("gru", data, V, "float32"),
    }
    torch_note = "torch: not run (--no-torch)"
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch_note = "torch: not importable, skipped"
        else:
            torch.set_num_threads(1)
            torch_note = (
                f"torch {torch.__version__}, set_num_threads(1), {args.torch_dtype}, "
                f"threads now {torch.get_num_threads()}"
            )
            engines["torch lstm"] = torch_engine("lstm", data, V, args.torch_dtype)
            engines["torch gru"] = torch_engine("gru", data, V, args.torch_dtype)

    print(f"corpus: {len(text):,} chars of C headers, V = {V}; H = {HIDDEN}, n = {SEQ}, batch 1")
    print(f"numpy {np.__version__} (float64 and float32, BLAS threads = 1); {torch_note}")
    for step in engines.values():  # warm-up
        for _ in range(20):
            step()
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, step in engines.items():
            rates[name].append(chars_per_second(step, args.chunks))
    print(f"\ntraining chars/s, median of {args.rounds} rounds x {args.chunks} chunks per engine:")
    print(f"  {'engine':<15} {'wall':>9} {'CPU time':>9}   ms/chunk (wall, CPU)")
    median = {}
    for name, r in rates.items():
        wall, cpu = (float(np.median([x[i] for x in r])) for i in (0, 1))
        median[name] = (wall, cpu)
        ms = f"{1e3 * SEQ / wall:.2f}, {1e3 * SEQ / cpu:.2f}"
        print(f"  {name:<15} {wall:>9,.0f} {cpu:>9,.0f}   {ms}")
    for cell_name in ("lstm", "gru"):
        if f"torch {cell_name}" not in median:
            continue
        theirs = median[f"torch {cell_name}"]
        for suffix, precision in (("", "float64"), (" f32", "float32")):
            name = f"numpy {cell_name}{suffix}"
            ours = median[name]
            # Each round's numpy and torch runs were back to back: their ratio is steadier
            # than the ratio of medians when the machine's speed drifts.
            torch_rates = rates[f"torch {cell_name}"]
            paired = [a[1] / b[1] for a, b in zip(rates[name], torch_rates, strict=True)]
            print(
                f"  numpy ({precision}) / torch {cell_name}: {ours[0] / theirs[0]:.2f}x wall, "
                f"{ours[1] / theirs[1]:.2f}x CPU time; per round (CPU) median "
                f"{np.median(paired):.2f}x, range {min(paired):.2f}-{max(paired):.2f}x"
            )
    print("\nitemized magnitudes of one chunk (wrt W_hh, fro), median ms:")
    for cell_name in ("lstm", "gru"):
        full = itemize_ms(cell_name, V, None)
        k5 = itemize_ms(cell_name, V, 5)
        print(f"  {cell_name:<5} full horizon {full:.2f} ms   k = 5 {k5:.2f} ms")


if __name__ == "__main__":
    main()
