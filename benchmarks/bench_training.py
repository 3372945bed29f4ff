"""Training speed of CharRNNTrainer (characters per second), with and without recording.

Configurations, all at H = 100, n = 25 on ``corpora.c_code()`` (the paper's use case):

- ``numpy, no recording``: ``record_every`` larger than the run (only chunk 0 is recorded);
- ``numpy, record every 100``: the paper's setting;
- ``numpy, record every chunk``: full horizon, and ``horizon=5``; each also with the per-unit
  drilldown switched off (``units_budget_mb=0``), since it adds its own cost to every
  recorded chunk;
- ``torch, 1 thread``: the same model in PyTorch on the CPU (``nn.RNN`` tanh + ``nn.Linear``,
  batch 1, one-hot inputs, summed cross-entropy, Adagrad lr 0.1, element-wise clipping at 5,
  hidden state carried and detached between chunks) when torch is importable. Torch is only
  a baseline here, never a dependency of the package.

Each configuration is timed ``--repeats`` times for ``--steps`` chunks each, in rotation, so
load from other processes spreads over all of them; the figure is the best (fastest) run,
the ratios divide best by best. Every run starts from a fresh trainer (the first few steps
are run before the clock starts). Both clocks are read: wall time (``perf_counter``) and the
process's CPU time (``process_time``). On a machine shared with other work the CPU time is
the steadier measure of what a configuration costs, so ratios use it; on an idle machine the
two agree (every configuration here runs on one thread).

The second measurement, the one the targets are judged by, is interleaved: every
configuration, plus the lean loop of ``bench_floor.py`` (the floor the trainer is held to)
and PyTorch, trains a block of chunks in turn (100 for "record every 100", so that each block
holds one record; 25 otherwise), in a shuffled order, for ``--rounds`` rounds. Each ratio is
the median over rounds of the per-round ratio of CPU times per chunk. On this VM the speed of
the same code drifts by 20-40% over minutes and by 2x between days, which best-of runs cannot
cancel; taking turns every few milliseconds does. Targets: the trainer (no recording) at most
1.25x the lean loop's time; numpy at least 3x PyTorch's chars/s; recording every 100 chunks at
most 1.05x, every chunk at most 2.5x (full horizon) and 1.6x (horizon 5, per-unit drilldown
on) the time of not recording.

Run from the repository root::

    .venv/bin/python benchmarks/bench_training.py [--steps 2000] [--repeats 3] [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS thread, like the torch baseline (OpenBLAS does not split these small products
# anyway); set OPENBLAS_NUM_THREADS yourself to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_floor import lean_trainer

from rnnbow_widget import corpora
from rnnbow_widget.trainer import CharRNNTrainer

H, N = 100, 25
WARMUP = 20


Timing = tuple[float, float]  # (wall seconds, CPU seconds)


def _clocks() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def numpy_run(text: str, steps: int, **options: object) -> Timing:
    """Wall and CPU seconds for ``steps`` chunks of a fresh trainer (after a warm-up)."""
    trainer = CharRNNTrainer(text, hidden_size=H, seq_length=N, **options)
    trainer.train(WARMUP, progress=False)
    start = _clocks()
    trainer.train(steps, progress=False)
    return _since(start)


def torch_trainer(text: str) -> Callable[[], None]:
    """A function that trains the same model, in PyTorch, on the next chunk."""
    import torch

    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    V = len(vocab)
    torch.manual_seed(0)
    rnn = torch.nn.RNN(V, H, nonlinearity="tanh")
    out = torch.nn.Linear(H, V)
    params = [*rnn.parameters(), *out.parameters()]
    opt = torch.optim.Adagrad(params, lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    eye = torch.eye(V)
    h = torch.zeros(1, 1, H)
    p = 0

    def chunk() -> None:
        nonlocal h, p
        if p + N + 1 > len(data):
            p, h = 0, torch.zeros(1, 1, H)
        x = eye[data[p : p + N]].unsqueeze(1)  # (n, batch 1, V) one-hot
        y = data[p + 1 : p + N + 1]
        hs, h_last = rnn(x, h.detach())
        loss = loss_fn(out(hs.squeeze(1)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(params, 5.0)
        opt.step()
        h = h_last
        p += N

    return chunk


def torch_run(text: str, steps: int) -> Timing:
    """Wall and CPU seconds for ``steps`` chunks of the same model, trained with PyTorch."""
    chunk = torch_trainer(text)
    for _ in range(WARMUP):
        chunk()
    start = _clocks()
    for _ in range(steps):
        chunk()
    return _since(start)


def lean_loop(text: str) -> Callable[[], float]:
    """``bench_floor.py``'s lean loop (the baseline of the trainer's target), in float64."""
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    data = np.array([index[c] for c in text], dtype=np.intp)
    return lean_trainer(data, len(vocab), "float64")


Runner = tuple[int, Callable[[int], object]]  # (chunks per turn, train that many chunks)


def trainer_runner(text: str, block: int, warmup: int = WARMUP, **options: object) -> Runner:
    """A fresh trainer built with ``options``, warmed up, training ``block`` chunks a turn."""
    trainer = CharRNNTrainer(text, hidden_size=H, seq_length=N, **options)
    trainer.train(warmup, progress=False)
    return block, lambda count: trainer.train(count, progress=False)


def chunk_runner(chunk: Callable[[], object], block: int) -> Runner:
    """A one-chunk function (the lean loop, PyTorch), warmed up, ``block`` chunks a turn."""
    for _ in range(WARMUP):
        chunk()
    return block, lambda count: [chunk() for _ in range(count)]


def interleaved(runners: dict[str, Runner], rounds: int) -> dict[str, np.ndarray]:
    """CPU seconds per chunk of every runner in every round, the runners taking turns.

    Each round every runner trains one block, in an order shuffled afresh each round (so no
    configuration always follows the same one). A round lasts a fraction of a second, so
    within it every configuration sees the same speed of the machine.
    """
    order = list(runners)
    shuffle = random.Random(0).shuffle
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            block, train = runners[name]
            start = time.process_time()
            train(block)
            times[name].append((time.process_time() - start) / block)
    return {name: np.array(values) for name, values in times.items()}


def median_ratio(times: dict[str, np.ndarray], name: str, reference: str) -> float:
    """Median over rounds of ``name``'s time per chunk over ``reference``'s in that round."""
    return float(np.median(times[name] / times[reference]))


def verdict(value: float, target: str) -> str:
    """``"target <= 1.25: met"``, ``"target >= 3x: MISSED"`` and the like."""
    sign, bound = target.split()
    limit = float(bound.rstrip("x"))
    met = value <= limit if sign == "<=" else value >= limit
    return f"target {target}: {'met' if met else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="chunks per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--rounds", type=int, default=40, help="rounds of interleaved timing")
    args = parser.parse_args()

    text = corpora.c_code()
    configs: dict[str, Callable[[], Timing]] = {
        "numpy, no recording": lambda: numpy_run(text, args.steps, record_every=10**9),
        "numpy, record every 100": lambda: numpy_run(text, args.steps, record_every=100),
        "numpy, record every chunk, full horizon": lambda: numpy_run(
            text, args.steps, record_every=1
        ),
        "numpy, record every chunk, horizon 5": lambda: numpy_run(
            text, args.steps, record_every=1, horizon=5
        ),
        # The per-unit drilldown (on by default) adds its own cost to every recorded chunk.
        "numpy, every chunk, full, no units": lambda: numpy_run(
            text, args.steps, record_every=1, units_budget_mb=0
        ),
        "numpy, every chunk, k=5, no units": lambda: numpy_run(
            text, args.steps, record_every=1, horizon=5, units_budget_mb=0
        ),
    }
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not importable: no PyTorch baseline (numpy vs PyTorch not measured)")
    if torch is not None:
        default_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        configs["torch, 1 thread"] = lambda: torch_run(text, args.steps)

    print(f"python {platform.python_version()}, numpy {np.__version__}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} (default threads {default_threads}, set to 1)", end="")
    print(f"; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}", end="")
    print(f"; {os.cpu_count()} CPUs; corpus {len(text):,} chars, V = {len(set(text))}")
    print(f"H = {H}, n = {N}; {args.steps} chunks per run, best of {args.repeats} runs\n")

    wall = dict.fromkeys(configs, float("inf"))
    cpu = dict.fromkeys(configs, float("inf"))
    for _ in range(args.repeats):
        for name, run in configs.items():
            seconds = run()
            wall[name] = min(wall[name], seconds[0])
            cpu[name] = min(cpu[name], seconds[1])
    chars = args.steps * N
    speed = {name: chars / seconds for name, seconds in cpu.items()}
    base = speed["numpy, no recording"]
    width = max(map(len, speed))
    print(f"{'':<{width}}  {'wall clock':>22}  {'CPU time':>22}")
    for name in configs:
        us_wall, us_cpu = wall[name] / args.steps * 1e6, cpu[name] / args.steps * 1e6
        print(
            f"{name:<{width}}  {chars / wall[name]:>9,.0f} chars/s {us_wall:>5.0f} us"
            f"  {speed[name]:>9,.0f} chars/s {us_cpu:>5.0f} us  x{base / speed[name]:.2f}"
        )
    print("\n(us = per chunk; x = CPU time relative to numpy without recording)")
    if "torch, 1 thread" in speed:
        ratio = base / speed["torch, 1 thread"]
        print(f"numpy / torch (1 thread): {ratio:.2f}x  (target >= 3x)")
    print(
        f"record every 100 costs {100 * (base / speed['numpy, record every 100'] - 1):+.1f}%"
        "  (target <= 5%)"
    )
    full = base / speed["numpy, record every chunk, full horizon"]
    k5 = base / speed["numpy, record every chunk, horizon 5"]
    print(f"record every chunk: full horizon x{full:.2f} (target <= 2.5), k=5 x{k5:.2f} (<= 1.6)")
    full_off = base / speed["numpy, every chunk, full, no units"]
    k5_off = base / speed["numpy, every chunk, k=5, no units"]
    print(f"  per-unit drilldown off (units_budget_mb=0): x{full_off:.2f}, k=5 x{k5_off:.2f}")

    # Interleaved: every configuration trains a block in turn, round after round. Only these
    # ratios cancel the drift of the machine's speed; the targets are judged on them.
    plain = "numpy, no recording"
    every_k5 = {"record_every": 1, "horizon": 5}
    runners: dict[str, Runner] = {
        plain: trainer_runner(text, 25, record_every=10**9),
        "lean loop (bench_floor.py)": chunk_runner(lean_loop(text), 25),
    }
    if torch is not None:
        runners["torch, 1 thread"] = chunk_runner(torch_trainer(text), 25)
    # Blocks of 100 chunks for record every 100: each block holds exactly one record.
    runners["numpy, record every 100"] = trainer_runner(text, 100, record_every=100)
    runners["numpy, every chunk, full horizon"] = trainer_runner(text, 25, record_every=1)
    runners["numpy, every chunk, horizon 5"] = trainer_runner(text, 25, **every_k5)
    runners["  same, no units"] = trainer_runner(text, 25, **every_k5, units_budget_mb=0)
    # A per-unit store that has reached its budget reuses its memory (thinning): no first
    # touch of fresh memory, which this VM backs lazily (bench_record_parts.py).
    runners["  same, units store full"] = trainer_runner(
        text, 25, warmup=400, **every_k5, units_budget_mb=4
    )
    runners["numpy, every chunk, full, no units"] = trainer_runner(
        text, 25, record_every=1, units_budget_mb=0
    )
    times = interleaved(runners, args.rounds)
    print(
        f"\ninterleaved: {args.rounds} rounds, every configuration trains a block in turn (25 "
        "chunks, 100 for record every 100;\nshuffled order); median CPU time per chunk, and x = "
        "the median of the per-round ratios to numpy without recording:"
    )
    width = max(map(len, runners))
    for name in runners:
        us = float(np.median(times[name])) * 1e6
        ratio = "" if name == plain else f"  x{median_ratio(times, name, plain):.2f}"
        print(f"  {name:<{width}}  {us:5.0f} us{ratio}")

    print("\ntargets, on the interleaved ratios:")
    lean = median_ratio(times, plain, "lean loop (bench_floor.py)")
    print(f"  trainer / lean loop, CPU time per chunk: x{lean:.2f}  ({verdict(lean, '<= 1.25')})")
    if torch is not None:
        faster = median_ratio(times, "torch, 1 thread", plain)  # torch's time over numpy's
        print(
            f"  numpy / PyTorch (batch 1, 1 thread), chars/s: {faster:.2f}x"
            f"  ({verdict(faster, '>= 3x')})"
        )
    else:
        print("  numpy / PyTorch, chars/s: not measured, torch is not importable (target >= 3x)")
    for label, name, target in (
        ("record every 100 / no recording", "numpy, record every 100", "<= 1.05"),
        ("record every chunk, full horizon", "numpy, every chunk, full horizon", "<= 2.5"),
        ("record every chunk, horizon 5, drilldown on", "numpy, every chunk, horizon 5", "<= 1.6"),
    ):
        ratio = median_ratio(times, name, plain)
        print(f"  {label}: x{ratio:.2f}  ({verdict(ratio, target)})")


if __name__ == "__main__":
    main()
