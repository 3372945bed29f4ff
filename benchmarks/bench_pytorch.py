"""Cost of itemizing a PyTorch model's gradients inside the user's own training loop.

A plain PyTorch character model (``nn.Embedding`` -> one-layer ``nn.LSTM`` -> ``nn.Linear``,
V = 96, embedding size H, Adam, mean cross-entropy) at each (H, n, B). Timed, taking turns
within every repeat (so that load from other processes hits all of them alike):

- ``train``: one training step (forward, backward, ``opt.step()``, ``opt.zero_grad()``);
- ``k5``: ``itemized_magnitudes(model.rnn, model.decoder, emb, y, horizon=5)`` on that batch;
- ``full``: the same with every pair (no horizon);
- ``rec_k5``, ``rec_full``: a ``Recorder`` recording that step (every step due, horizon 5 or
  every pair): the itemization with the shown sequence's own magnitudes, and the record
  appended to its recording, as in a user's loop.

From each repeat's times come the ratios a user sees, training step with itemization over
training step alone: itemizing every 100 steps (full horizon), ``1 + full / (100 train)``;
every step at horizon 5, ``1 + k5 / train``; every step at full horizon, ``1 + full / train``.
The figures are the medians over repeats. Memory: the high-water mark of one full
itemization, measured in a fresh process (the peak RSS on CPU, ``max_memory_allocated`` on
CUDA) above what is resident before it: the model and data alone, or after one training step
(Linux: the peak RSS is restarted through ``/proc/self/clear_refs``).

Runs on CUDA unchanged when one is present (``--device`` to choose). From the repository
root::

    .venv/bin/python benchmarks/bench_pytorch.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnbow_widget.pytorch import Recorder, itemized_magnitudes

SIZES = ((256, 64, 32), (512, 128, 16))  # (H, n, B)
VOCAB_SIZE = 96


class CharModel(nn.Module):
    """What a user writes: embedding, LSTM, decoder."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, hidden_size)
        self.rnn = nn.LSTM(hidden_size, hidden_size)
        self.decoder = nn.Linear(hidden_size, VOCAB_SIZE)


def setup(H: int, n: int, B: int, device: str):
    """The model, its optimizer, one batch, and the user's training step."""
    torch.manual_seed(0)
    model = CharModel(H).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, VOCAB_SIZE, (n + 1, B), device=device)
    x, y = tokens[:-1], tokens[1:]

    def train_step() -> torch.Tensor:
        emb = model.embed(x)
        out, _ = model.rnn(emb)
        loss = F.cross_entropy(model.decoder(out).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return emb

    return model, x, y, train_step


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def interleaved(
    calls: dict[str, Callable[[], object]], repeats: int, inner: dict[str, int], device: str
) -> dict[str, np.ndarray]:
    """``repeats`` timings of each call (mean of ``inner[name]`` calls), taking turns."""
    for call in calls.values():
        call()  # warm-up
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(inner[name]):
                call()
            synchronize(device)
            timings[name].append((time.perf_counter() - start) / inner[name])
    return {name: np.array(values) for name, values in timings.items()}


def recording_step(model: CharModel, x: torch.Tensor, y: torch.Tensor, emb, **itemize):
    """One recorded step of a ``Recorder`` (every step due): itemization, the shown sequence's
    own magnitudes, and the record appended, as in a user's loop."""
    vocab = [f"t{i}" for i in range(VOCAB_SIZE)]
    recorder = Recorder(
        model.rnn, model.decoder, vocab=vocab, seq_length=len(x), every=1, **itemize
    )
    steps = iter(range(1 << 62))
    return lambda: recorder.observe(next(steps), emb, y, tokens=x, loss=1.0, grad_norm=1.0)


def measure(H: int, n: int, B: int, device: str, repeats: int) -> dict[str, float]:
    model, x, y, train_step = setup(H, n, B, device)
    emb = train_step().detach()
    calls = {
        "train": train_step,
        "k5": lambda: itemized_magnitudes(model.rnn, model.decoder, emb, y, horizon=5),
        "full": lambda: itemized_magnitudes(model.rnn, model.decoder, emb, y),
        "rec_k5": recording_step(model, x, y, emb, horizon=5),
        "rec_full": recording_step(model, x, y, emb),
    }
    inner = {"train": 10, "k5": 3, "full": 1, "rec_k5": 3, "rec_full": 1}
    t = interleaved(calls, repeats, inner, device)
    result = {name: float(np.median(values)) for name, values in t.items()}
    result["every_100_full"] = float(np.median(1 + t["full"] / (100 * t["train"])))
    result["every_step_k5"] = float(np.median(1 + t["k5"] / t["train"]))
    result["every_step_full"] = float(np.median(1 + t["full"] / t["train"]))
    result["rec_every_100_full"] = float(np.median(1 + t["rec_full"] / (100 * t["train"])))
    result["rec_every_step_k5"] = float(np.median(1 + t["rec_k5"] / t["train"]))
    return result


def memory_child(H: int, n: int, B: int, device: str, train_first: bool) -> dict[str, float]:
    """In this (fresh) process: the high-water mark of one full itemization, in MiB, above
    what was reached before it (the model and data, and one training step if asked)."""
    model, x, y, train_step = setup(H, n, B, device)
    emb = (train_step() if train_first else model.embed(x)).detach()
    itemized_magnitudes(model.rnn, model.decoder, emb, y, horizon=1)  # libraries' first-call setup
    synchronize(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.max_memory_allocated()
        itemized_magnitudes(model.rnn, model.decoder, emb, y)
        synchronize(device)
        return {"extra_mib": (torch.cuda.max_memory_allocated() - before) / 2**20}
    Path("/proc/self/clear_refs").write_text("5")  # Linux: restart VmHWM, the peak RSS
    before = resident_kib("VmRSS")
    itemized_magnitudes(model.rnn, model.decoder, emb, y)
    return {"extra_mib": (resident_kib("VmHWM") - before) / 1024}


def resident_kib(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak since the last reset) of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory(H: int, n: int, B: int, device: str, train_first: bool) -> float:
    args = [sys.executable, __file__, "--memory-child", f"{H},{n},{B}", "--device", device]
    args += ["--train-first"] if train_first else []
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["extra_mib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--train-first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        H, n, B = (int(part) for part in args.memory_child.split(","))
        print(json.dumps(memory_child(H, n, B, args.device, args.train_first)))
        return
    print(
        f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
        f"LSTM, V = {VOCAB_SIZE}, {args.repeats} repeats (medians)"
    )
    header = (
        "| (H, n, B) | train step | itemize k=5 | itemize full | every 100 (full) "
        "| every step k=5 | every step full | Recorder: every 100 (full) / every step k=5 "
        "| memory: alone / after a step |"
    )
    print(header)
    print("|" + "---|" * 9)
    for H, n, B in SIZES:
        r = measure(H, n, B, args.device, args.repeats)
        alone, after = (memory(H, n, B, args.device, first) for first in (False, True))
        print(
            f"| ({H}, {n}, {B}) | {r['train'] * 1e3:.1f} ms | {r['k5'] * 1e3:.1f} ms "
            f"| {r['full'] * 1e3:.0f} ms | x{r['every_100_full']:.3f} | x{r['every_step_k5']:.2f} "
            f"| x{r['every_step_full']:.1f} "
            f"| x{r['rec_every_100_full']:.3f} / x{r['rec_every_step_k5']:.2f} "
            f"| {alone:.0f} / {after:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
