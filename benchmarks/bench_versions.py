"""Two versions of the package, taking turns: CPU time per chunk of the paper's use case.

Each round starts one process per version (``PYTHONPATH=<tree>``) that trains ``--chunks``
chunks of C code (H = 100, n = 25, a record every 100) and prints its CPU time per chunk; the
versions alternate, so a drift of the machine's speed hits both alike. Check out the older
version first, e.g. ``git worktree add /tmp/before <commit>``.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_versions.py /tmp/before . [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import sys, time
from rnnbow_widget import CharRNNTrainer, corpora
trainer = CharRNNTrainer(corpora.c_code(500_000), hidden_size=100, seq_length=25,
                         record_every=100, seed=0, dtype=sys.argv[1])
start = time.process_time()
trainer.train(int(sys.argv[2]))
print((time.process_time() - start) / int(sys.argv[2]) * 1e6)
"""


def time_version(tree: Path, dtype: str, chunks: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, dtype, str(chunks)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="source tree of the first version")
    parser.add_argument("after", type=Path, help="source tree of the second version")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for name in ("before", "after"):
            times[name].append(time_version(getattr(args, name).resolve(), args.dtype, args.chunks))
    print(f"{args.dtype}, {args.chunks:,} chunks per process, {args.rounds} rounds taking turns")
    for name, values in times.items():
        values_text = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:6s} median {statistics.median(values):.0f} us per chunk ({values_text})")
    ratio = statistics.median(a / b for a, b in zip(times["after"], times["before"], strict=True))
    print(f"  after / before, median of the per-round ratios: x{ratio:.3f}")


if __name__ == "__main__":
    main()
