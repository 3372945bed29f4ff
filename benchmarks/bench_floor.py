"""The floor of a numpy char-RNN step: the leanest loop we can write, without the trainer.

``CharRNNTrainer`` does more per chunk than training needs in the narrowest sense: it checks
every step for divergence (and can roll it back), reports the gradient norm and whether
clipping fired, keeps the loss history and the smoothed loss, and defers Ctrl-C. This
script times the same model (H = 100, n = 25, tanh, Adagrad lr 0.1, element-wise clip 5, on
``corpora.c_code()``) as a bare loop that does none of that and takes every shortcut we know:
one flat buffer for the dense parameters, Adagrad on the W_xh rows of the symbols present
only, outputs passed positionally, no validation. It is the cost that any implementation
with a per-time-step Python loop over numpy calls pays on this machine, and so a floor for
the trainer's figure in ``bench_use_case.py`` (issue 2d: 50,000 chunks in 15 s or less).

The loop is not part of the package and is not tested for correctness; its loss is printed
so that a broken edit is visible (it falls as the trainer's does).

Run from the repository root::

    .venv/bin/python benchmarks/bench_floor.py [--chunks 5000] [--dtype float64|float32]

It then times the trainer against the lean loop, the two taking turns, for their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora

H, N, LR, CLIP, EPS = 100, 25, 0.1, 5.0, 1e-8


def lean_trainer(data: np.ndarray, V: int, dtype: str) -> Callable[[], float]:
    """A function that trains on the next chunk and returns its summed loss."""
    rng = np.random.default_rng(0)
    W_xh_T = (rng.standard_normal((V, H)) * 0.01).astype(dtype)  # row v = column v of W_xh
    sizes = {"W_hh": H * H, "W_hy": V * H, "b_h": H, "b_y": V}
    dense = np.zeros(sum(sizes.values()), dtype=dtype)
    grad = np.zeros_like(dense)
    offsets = np.cumsum([0, *sizes.values()])
    shapes = {"W_hh": (H, H), "W_hy": (V, H), "b_h": (H,), "b_y": (V,)}
    spans = list(zip(sizes, offsets, offsets[1:], strict=False))
    p = {k: dense[a:b].reshape(shapes[k]) for k, a, b in spans}
    g = {k: grad[a:b].reshape(shapes[k]) for k, a, b in spans}
    p["W_hh"][:] = rng.standard_normal((H, H)) * (0.1 / np.sqrt(H))
    p["W_hy"][:] = rng.standard_normal((V, H)) * 0.01
    memory, memory_xh = np.zeros_like(dense), np.zeros_like(W_xh_T)
    scratch = np.empty_like(dense)
    rows = np.arange(N)
    state = {"h": np.zeros(H, dtype=dtype), "p": 0}
    dot, add, mul, tanh = np.dot, np.add, np.multiply, np.tanh

    def chunk() -> float:
        if state["p"] + N + 1 > len(data):
            state["p"], state["h"] = 0, np.zeros(H, dtype=dtype)
        start = state["p"]
        inputs, targets = data[start : start + N], data[start + 1 : start + N + 1]
        z = W_xh_T[inputs] + p["b_h"]
        h = np.empty((N + 1, H), dtype=dtype)
        h[0] = state["h"]
        hs, Wh = list(h), np.empty(H, dtype=dtype)
        for z_t, h_prev, h_t in zip(z, hs[:-1], hs[1:], strict=True):
            dot(p["W_hh"], h_prev, Wh)
            add(z_t, Wh, z_t)
            tanh(z_t, h_t)
        logits = h[1:] @ p["W_hy"].T + p["b_y"]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = float(-np.log(probs[rows, targets]).sum())
        probs[rows, targets] -= 1.0  # now dL/dlogits
        d = probs @ p["W_hy"]
        dact = 1.0 - h[1:] * h[1:]
        gz = np.empty((N, H), dtype=dtype)
        ds, gs, dacts, back = list(d), list(gz), list(dact), np.empty(H, dtype=dtype)
        for t in range(N - 1, 0, -1):
            mul(ds[t], dacts[t], gs[t])
            dot(gs[t], p["W_hh"], back)
            add(ds[t - 1], back, ds[t - 1])
        mul(ds[0], dacts[0], gs[0])
        np.matmul(gz.T, h[:-1], out=g["W_hh"])
        np.matmul(probs.T, h[1:], out=g["W_hy"])
        np.sum(gz, axis=0, out=g["b_h"])
        np.sum(probs, axis=0, out=g["b_y"])
        present = np.zeros(V, dtype=bool)
        present[inputs] = True
        used = np.flatnonzero(present)
        lookup = np.zeros(V, dtype=np.intp)
        lookup[used] = np.arange(len(used))
        one_hot = np.zeros((len(used), N), dtype=dtype)
        one_hot[lookup[inputs], rows] = 1.0
        g_xh = one_hot @ gz  # the W_xh^T rows of the symbols in the chunk
        np.clip(grad, -CLIP, CLIP, out=grad)
        np.clip(g_xh, -CLIP, CLIP, out=g_xh)
        mul(grad, grad, scratch)
        add(memory, scratch, memory)
        add(memory, EPS, scratch)
        np.sqrt(scratch, scratch)
        np.divide(grad, scratch, scratch)
        mul(scratch, LR, scratch)
        np.subtract(dense, scratch, dense)
        m = memory_xh[used] + g_xh * g_xh
        memory_xh[used] = m
        W_xh_T[used] -= LR * g_xh / np.sqrt(m + EPS)
        state["h"], state["p"] = h[-1].copy(), start + N
        return loss

    return chunk


def interleaved_ratio(chunk: Callable[[], float], text: str, dtype: str, rounds: int) -> float:
    """Median over rounds of the trainer's CPU time per chunk over the lean loop's.

    The two take turns (25 chunks each per round, the one going first alternating), so the
    machine's drift in speed, 20-40% over minutes on this VM, cancels, and neither always runs
    on the caches the other left; separate runs minutes apart do not compare well.
    """
    from rnnbow_widget.trainer import CharRNNTrainer

    trainer = CharRNNTrainer(text, hidden_size=H, seq_length=N, record_every=10**9, dtype=dtype)
    trainer.train(50, progress=False)

    def lean_block() -> None:
        for _ in range(25):
            chunk()

    def trainer_block() -> None:
        trainer.train(25, progress=False)

    ratios = []
    for round_number in range(rounds):
        blocks = {"lean": lean_block, "trainer": trainer_block}
        order = list(blocks) if round_number % 2 == 0 else list(reversed(blocks))
        seconds = {}
        for name in order:
            start = time.process_time()
            blocks[name]()
            seconds[name] = time.process_time() - start
        ratios.append(seconds["trainer"] / seconds["lean"])
    return float(np.median(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--rounds", type=int, default=60, help="rounds against the trainer")
    args = parser.parse_args()
    text = corpora.c_code()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = np.array([index[c] for c in text], dtype=np.intp)
    chunk = lean_trainer(data, len(vocab), args.dtype)
    for _ in range(50):
        chunk()
    best, losses = float("inf"), []
    for _ in range(args.repeats):
        start = time.process_time()
        losses = [chunk() for _ in range(args.chunks)]
        best = min(best, (time.process_time() - start) / args.chunks)
    print(f"{args.dtype}, H = {H}, n = {N}, V = {len(vocab)}, OpenBLAS threads 1")
    print(f"lean loop: {best * 1e6:.0f} us per chunk (best of {args.repeats} x {args.chunks})")
    print(f"50,000 chunks would take {best * 50_000:.1f} s of CPU time")
    print(f"mean loss per char over the last run: {np.mean(losses) / N:.3f}")
    ratio = interleaved_ratio(chunk, text, args.dtype, args.rounds)
    print(
        f"CharRNNTrainer (no recording) taking turns with it: x{ratio:.2f} its CPU time"
        " (target <= 1.25)"
    )


if __name__ == "__main__":
    main()
