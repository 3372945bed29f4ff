"""The speed measures the code keeps, each timed against the plain way, interleaved.

1. ``parameters.ParameterVector``: the trainer keeps its parameters as views into one flat
   vector, so gradient clipping, the optimizer's step and the check that the update stays
   finite run one numpy call each over every parameter. The plain way runs them array by
   array. Timed: the update part of a chunk (clip, propose, candidate, finite check, commit)
   both ways, on the trainer's own gradients (H = 100, n = 25, C code, Adagrad, clip 5).
2. ``A.dot(v)`` instead of ``A @ v`` in the cells' recurrence loops: the same product with less
   call overhead for one vector. Timed: one matrix-vector product of each size the loops use,
   both ways, and the forward + backward of a chunk of the vanilla cell as written.
3. ``ParameterVector.apply``: the update in place when the optimizer bounds its step (Adagrad),
   instead of building ``theta - delta`` aside and checking it. And a measure not taken:
   ``optim.sum_of_squares`` (the gradient's norm) is numpy's own ``np.einsum``, because a BLAS
   dot of more than 10,000 entries wakes OpenBLAS's threads; BLAS dots in blocks of 10,000 are
   the alternative. Timed: the trainer's CPU time per chunk over the lean loop of
   ``bench_floor.py``, as the code is and with each alternative, taking turns in a shuffled
   order.

Each pair takes turns ``--rounds`` times; medians. The share of a chunk is against the median
CPU time of ``CharRNNTrainer.train`` per chunk (no recording) measured in the same run.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_speed_measures.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget import corpora, optim
from rnnbow_widget.cells import get_cell
from rnnbow_widget.optim import clip_gradients, make_optimizer
from rnnbow_widget.trainer import CharRNNTrainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_floor import lean_trainer

H, N = 100, 25


def interleaved(functions: dict[str, Callable[[], object]], rounds: int, inner: int) -> dict:
    """Median seconds per call of each function, the functions taking turns."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.process_time()
            for _ in range(inner):
                function()
            times[name].append((time.process_time() - start) / inner)
    return {name: float(np.median(values)) for name, values in times.items()}


def update_both_ways(trainer: CharRNNTrainer) -> dict[str, Callable[[], object]]:
    """The trainer's update (clip, propose, candidate, finite check, commit), flat and per array."""
    cell, n = get_cell(trainer.cell), trainer.seq_length
    ids = np.array([trainer.vocab.index(c) for c in corpora.c_code()[: n + 1]])
    cache = cell.forward(trainer.params, ids[:-1], ids[1:], trainer.hidden_state)
    grads = cell.backward(trainer.params, cache)
    flat_params = {"theta": np.concatenate([p.ravel() for p in trainer.params.values()])}
    flat_grad = {"theta": np.concatenate([g.ravel() for g in grads.values()])}
    flat_opt = make_optimizer("adagrad", 0.1, flat_params)
    dict_params = {name: value.copy() for name, value in trainer.params.items()}
    dict_grads = {name: value.copy() for name, value in grads.items()}
    dict_opt = make_optimizer("adagrad", 0.1, dict_params)

    def flat() -> None:
        g = {"theta": flat_grad["theta"].copy()}  # clipping works in place
        clip_gradients(g, 5.0, None)
        theta = flat_params["theta"]
        candidate = theta - flat_opt.propose(g)["theta"]
        if np.isfinite(candidate).all():
            theta[...] = candidate
            flat_opt.commit()

    def per_array() -> None:
        g = {name: value.copy() for name, value in dict_grads.items()}
        clip_gradients(g, 5.0, None)
        delta = dict_opt.propose(g)
        candidates = {name: value - delta[name] for name, value in dict_params.items()}
        if all(np.isfinite(value).all() for value in candidates.values()):
            for name, value in candidates.items():
                dict_params[name][...] = value
            dict_opt.commit()

    return {"flat vector": flat, "per array": per_array}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    trainer = CharRNNTrainer(corpora.c_code(), hidden_size=H, seq_length=N, record_every=10**9)
    trainer.train(50, progress=False)

    chunk = interleaved({"chunk": lambda: trainer.train(5, progress=False)}, 40, 1)["chunk"] / 5
    update = interleaved(update_both_ways(trainer), args.rounds, 5)
    gain = update["per array"] - update["flat vector"]
    print(f"H = {H}, n = {N}, V = {len(trainer.vocab)}; OpenBLAS threads 1; medians of CPU time")
    print(f"one training chunk (no recording): {chunk * 1e6:.0f} us")
    print(
        f"update, flat vector: {update['flat vector'] * 1e6:.1f} us; per array: "
        f"{update['per array'] * 1e6:.1f} us; the vector saves {gain * 1e6:.1f} us, "
        f"{100 * gain / chunk:.1f}% of a chunk"
    )

    text = corpora.c_code()
    symbols = sorted(set(text))
    lean = lean_trainer(np.array([symbols.index(c) for c in text]), len(symbols), "float64")
    einsum = optim.sum_of_squares

    def blocked(x: np.ndarray) -> float:
        blocks = [np.ravel(x)[i : i + 10_000] for i in range(0, np.size(x), 10_000)]
        return sum(float(np.dot(block, block)) for block in blocks)

    # Each variant: a trainer, and the sum of squares it runs with.
    variants = {
        "the code": (CharRNNTrainer(text, record_every=10**9), einsum),
        "norm by BLAS dots of 10,000": (CharRNNTrainer(text, record_every=10**9), blocked),
        "update always checked aside": (CharRNNTrainer(text, record_every=10**9), einsum),
    }
    variants["update always checked aside"][0].optimizer.step_bound = lambda grad_norm: None
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for _ in range(args.rounds // 2):
        start = time.process_time()
        for _ in range(25):
            lean()
        floor = time.process_time() - start
        random.shuffle(order)
        for name in order:
            variant, optim.sum_of_squares = variants[name]
            start = time.process_time()
            variant.train(25, progress=False)
            ratios[name].append((time.process_time() - start) / floor)
    optim.sum_of_squares = einsum
    print("trainer / lean loop, CPU time per chunk (medians, variants taking turns, shuffled):")
    for name, values in ratios.items():
        print(f"  {name:<30} x{np.median(values):.3f}")

    rng = np.random.default_rng(0)
    products = {}
    for rows in (H, 3 * H, 4 * H):
        W, v, g = rng.standard_normal((rows, H)), rng.standard_normal(H), rng.standard_normal(rows)
        products[f"@ {rows}x{H}"] = lambda W=W, v=v: W @ v
        products[f".dot {rows}x{H}"] = lambda W=W, v=v: W.dot(v)
        products[f"T @ {rows}x{H}"] = lambda W=W, g=g: W.T @ g
        products[f"T.dot {rows}x{H}"] = lambda W=W, g=g: W.T.dot(g)
    timed = interleaved(products, args.rounds, 50)
    for rows in (H, 3 * H, 4 * H):
        forward = timed[f"@ {rows}x{H}"] - timed[f".dot {rows}x{H}"]
        backward = timed[f"T @ {rows}x{H}"] - timed[f"T.dot {rows}x{H}"]
        print(
            f"W ({rows}, {H}): W @ v {timed[f'@ {rows}x{H}'] * 1e6:.2f} us, W.dot(v) "
            f"{timed[f'.dot {rows}x{H}'] * 1e6:.2f} us; W.T @ g "
            f"{timed[f'T @ {rows}x{H}'] * 1e6:.2f} us, W.T.dot(g) "
            f"{timed[f'T.dot {rows}x{H}'] * 1e6:.2f} us"
        )
        if rows == H:
            saved = N * (forward + backward)  # one product per step each way in the vanilla cell
            print(
                f"  vanilla cell, {N} steps forward and back: .dot saves {saved * 1e6:.1f} us, "
                f"{100 * saved / chunk:.1f}% of a chunk"
            )


if __name__ == "__main__":
    main()
