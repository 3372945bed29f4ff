"""Synthetic RNNbow records in the kernel-to-browser wire format (docs/data-contract.md).

The records look like a real run: gradients that decay going back in time (faster early in
training), a loss that falls, predictions that get better, a few clipped chunks. The corpus
mixes prose, code, whitespace and two HTML injection strings, so the views' escaping is tested.
Chunks of 64 steps or more carry the band of the K_BAND nearest sources and the sums beyond it
instead of the whole triangle, as the kernel sends them (``rnnbow_widget.columns.sends_band``);
:func:`whole_triangle` gives one such record's whole triangle (the kernel's answer to
``request_magnitudes``).

Usage::

    python benchmarks/make_fixture.py --count 300 --seq-length 25 > fixture.json
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

import numpy as np

from rnnbow_widget.columns import K_BAND, sends_band

INJECTIONS = ("</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>")

CORPUS = (
    "int main(int argc, char **argv) {\n"
    "\tfor (int i = 0; i < argc; i++) {\n"
    '\t\tprintf("%s\\n", argv[i]);\n'
    "\t}\n"
    "\treturn 0;\n"
    "}\n"
    "The quick brown fox jumps over the lazy dog. " + INJECTIONS[0] + " Then the dog sleeps.\n"
    "Caption: " + INJECTIONS[1] + "\r\n"
    "Recurrent networks read text one character at a time, carrying a hidden state.\n"
) * 3

SCALAR_DTYPES = {
    "step": "int32",
    "offset": "int32",
    "loss": "float32",
    "smooth_loss": "float32",
    "max_gradient": "float32",
    "mean_gradient": "float32",
    "grad_norm": "float32",
    "clipped": "uint8",
    "effective_horizon": "float32",
    "reach": "float32",
}


def to_bfloat16(values: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (nearest even), returned as their uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def vocabulary(text: str = CORPUS) -> list[str]:
    """Sorted distinct characters of the corpus."""
    return sorted(set(text))


def make_records(
    count: int, seq_length: int = 25, seed: int = 0, record_every: int = 100, text: str = CORPUS
) -> dict[str, np.ndarray]:
    """Columns of ``count`` synthetic records (dtypes and shapes of the wire format).

    Returns
    -------
    dict
        Column name -> array; ``magnitudes`` (or ``band``) and ``losses`` are bfloat16 bit
        patterns (uint16).
    """
    rng = np.random.default_rng(seed)
    n = seq_length
    vocab = vocabulary(text)
    index_of = {ch: i for i, ch in enumerate(vocab)}
    encoded = np.array([index_of[ch] for ch in text], dtype=np.int64)
    progress = np.arange(count) / max(count - 1, 1)

    offsets = (np.arange(count) * n) % (len(text) - n - 1)
    targets = encoded[offsets[:, None] + 1 + np.arange(n)[None, :]]
    wrong_rate = 0.85 - 0.6 * progress
    wrong = rng.random((count, n)) < wrong_rate[:, None]
    shift = rng.integers(1, len(vocab), size=(count, n))
    predictions = np.where(wrong, (targets + shift) % len(vocab), targets)

    step_losses = rng.gamma(2.0, 1.0, size=(count, n)) * np.where(wrong, 1.3, 0.25)
    step_losses = step_losses.astype(np.float32)
    decay = (0.25 + 0.45 * progress + rng.normal(0.0, 0.05, count)).clip(0.05, 0.95)
    local = 0.02 * step_losses * (1.0 + 3.0 * progress[:, None])
    if sends_band(n):
        gradients = _band_gradients(local, decay, rng)
    else:
        gradients = _triangle_gradients(local, decay, rng)
    loss = step_losses.mean(axis=1)
    smooth = np.empty(count, dtype=np.float32)
    running = float(np.log(len(vocab)))
    for i in range(count):
        running = 0.95 * running + 0.05 * float(loss[i])
        smooth[i] = running
    grad_norm = (gradients["max_gradient"] * rng.lognormal(1.5, 0.4, count)).astype(np.float32)
    clipped = (rng.random(count) < 0.03).astype(np.uint8)

    index_dtype = np.uint16 if len(vocab) <= 65535 else np.int32
    return {
        "step": (np.arange(count) * record_every).astype(np.int32),
        "offset": offsets.astype(np.int32),
        "loss": loss.astype(np.float32),
        "smooth_loss": smooth,
        "max_gradient": gradients["max_gradient"],
        "mean_gradient": gradients["mean_gradient"],
        "grad_norm": grad_norm,
        "clipped": clipped,
        "effective_horizon": gradients["effective_horizon"],
        "reach": gradients["reach"],
        "targets": targets.astype(index_dtype),
        "predictions": predictions.astype(index_dtype),
        "losses": to_bfloat16(step_losses),
        **gradients["wire"],
    }


def _triangle_gradients(local: np.ndarray, decay: np.ndarray, rng) -> dict:
    """Whole packed triangles |G[t, j]| = local[t] decay^(t-j) noise, and their summaries."""
    count, n = local.shape
    t_idx, j_idx = np.tril_indices(n)
    distance = (t_idx - j_idx).astype(np.float32)
    magnitudes = np.empty((count, len(t_idx)), dtype=np.float32)
    out = {name: np.empty(count, dtype=np.float32) for name in SUMMARIES}
    for lo in range(0, count, 5000):
        hi = min(count, lo + 5000)
        noise = rng.lognormal(0.0, 0.25, size=(hi - lo, len(t_idx))).astype(np.float32)
        block = local[lo:hi, t_idx] * decay[lo:hi, None] ** distance[None, :] * noise
        magnitudes[lo:hi] = block
        full = np.zeros((hi - lo, n, n), dtype=np.float32)
        full[:, t_idx, j_idx] = block
        per_step = full.sum(axis=1)  # sum over sources t for each step j
        out["max_gradient"][lo:hi] = per_step.max(axis=1)
        out["mean_gradient"][lo:hi] = per_step.mean(axis=1)
        out["effective_horizon"][lo:hi] = (block * distance).sum(axis=1) / block.sum(axis=1)
        diagonal = np.diagonal(full, axis1=1, axis2=2)  # G[t, t]
        above = full >= 0.01 * diagonal[:, :, None]
        back = np.arange(n)[None, :, None] - np.arange(n)[None, None, :]  # t - j
        reached = np.where(np.tril(above), back, 0)
        out["reach"][lo:hi] = reached.max(axis=2).mean(axis=1)
    return {**out, "wire": {"magnitudes": to_bfloat16(magnitudes)}}


SUMMARIES = ("max_gradient", "mean_gradient", "effective_horizon", "reach")


def _band_gradients(local: np.ndarray, decay: np.ndarray, rng) -> dict:
    """The band of the K_BAND nearest sources (with noise) and the sums beyond it (their
    expectation, by a backward recurrence), without the (n, n) matrices; the summaries from
    them (effective horizon and reach approximate)."""
    count, n = local.shape
    d = np.arange(K_BAND)
    t = np.arange(n)[:, None] + d[None, :]
    inside = t < n
    band = np.empty((count, n, K_BAND), dtype=np.float32)
    beyond = np.zeros((count, n), dtype=np.float32)
    for lo in range(0, count, 1000):
        hi = min(count, lo + 1000)
        rate = decay[lo:hi, None, None]
        noise = rng.lognormal(0.0, 0.25, size=(hi - lo, n, K_BAND)).astype(np.float32)
        near = local[lo:hi][:, np.where(inside, t, 0)] * rate**d * noise
        band[lo:hi] = np.where(inside, near, 0.0)
        # reach[j] = sum over t >= j of local[t] decay^(t-j); beyond[j] = decay^K reach[j + K].
        reach = np.zeros((hi - lo, n + 1), dtype=np.float64)
        for j in range(n - 1, -1, -1):
            reach[:, j] = local[lo:hi, j] + decay[lo:hi] * reach[:, j + 1]
        mean_noise = np.exp(0.25**2 / 2)
        beyond[lo:hi, : n - K_BAND] = decay[lo:hi, None] ** K_BAND * reach[:, K_BAND:n] * mean_noise
    per_step = band.sum(axis=2) + beyond
    tail = K_BAND + decay / (1.0 - decay)  # mean distance of the mass beyond the band
    mass = band.sum(axis=(1, 2)) + beyond.sum(axis=1)
    horizon = ((band * d).sum(axis=(1, 2)) + beyond.sum(axis=1) * tail) / mass
    steps = np.floor(np.log(0.01) / np.log(decay))
    reach_mean = np.minimum(steps[:, None], np.arange(n)[None, :]).mean(axis=1)
    return {
        "max_gradient": per_step.max(axis=1).astype(np.float32),
        "mean_gradient": per_step.mean(axis=1).astype(np.float32),
        "effective_horizon": horizon.astype(np.float32),
        "reach": reach_mean.astype(np.float32),
        "wire": {"band": to_bfloat16(band), "beyond": beyond},
    }


def whole_triangle(columns: dict[str, np.ndarray], index: int) -> np.ndarray:
    """A band record's whole packed triangle as bfloat16 bits: its band where held, and
    beyond it the sum ``beyond[j]`` spread over t >= j + K_BAND in a geometric decay (so that
    the whole matrix and the band agree on every bar)."""
    band = bfloat16_values(columns["band"][index])
    beyond = columns["beyond"][index]
    n = band.shape[0]
    full = np.zeros((n, n), dtype=np.float32)
    for j in range(n):
        rows = np.arange(j, min(n, j + K_BAND))
        full[rows, j] = band[j, : len(rows)]
        far = np.arange(j + K_BAND, n)
        if len(far):
            shape = 0.9 ** (far - far[0])
            full[far, j] = beyond[j] * shape / shape.sum()
    return to_bfloat16(full[np.tril_indices(n)])


def bfloat16_values(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) as float32 values."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def column_spec(name: str, array: np.ndarray) -> dict:
    """The wire description of one column (bfloat16 columns are tagged as such)."""
    dtype = "bfloat16" if name in ("losses", "magnitudes", "band") else str(array.dtype)
    return {"name": name, "dtype": dtype, "shape": list(array.shape)}


def to_blocks(
    columns: dict[str, np.ndarray], block_size: int = 4096, first: int = 0, stride: int = 1
) -> list[dict]:
    """Split columns into standalone blocks: ``{start, count, columns: [{..., data_b64}]}``.

    Row r of the columns is record ``first + r * stride`` (a kernel's thinned history).
    """
    total = len(columns["step"])
    blocks = []
    for start in range(0, total, block_size):
        stop = min(total, start + block_size)
        specs = []
        for name, array in columns.items():
            part = np.ascontiguousarray(array[start:stop])
            spec = column_spec(name, part)
            little_endian = part.astype(part.dtype.newbyteorder("<"))
            spec["data_b64"] = base64.b64encode(little_endian.tobytes()).decode()
            specs.append(spec)
        block = {"start": first + start * stride, "count": stop - start, "columns": specs}
        blocks.append(block if stride == 1 else {**block, "stride": stride})
    return blocks


def make_state(count: int, seq_length: int = 25, text: str = CORPUS, **traits) -> dict:
    """Trait values for the standalone mount: the widget's defaults, with this fixture's meta."""
    from rnnbow_widget import payload
    from rnnbow_widget.widget import RNNbow

    state = RNNbow.default_view_state()
    state.update(
        {
            "_record_count": count,
            "_meta": {
                "seq_length": seq_length,
                "vocab": vocabulary(text),
                "title": "synthetic fixture",
                "hidden_size": 100,
                "cell": "rnn",
                "record_every": 100,
                "corpus_length": len(text),
                "detail_bytes": payload.bytes_per_record(
                    seq_length, len(vocabulary(text)), details=True
                ),
            },
        }
    )
    state.update(traits)
    return state


def make_fixture(count: int = 300, seq_length: int = 25, seed: int = 0) -> dict:
    """State and blocks for ``RNNbowStandalone.mount(element, state, blocks)``."""
    columns = make_records(count, seq_length, seed)
    return {"state": make_state(count, seq_length), "blocks": to_blocks(columns)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seq-length", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(make_fixture(args.count, args.seq_length, args.seed), sys.stdout)


if __name__ == "__main__":
    main()
