"""Running a trained cell forward on its own: feeding text, and drawing new symbols."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from rnnbow_widget.cells import Params

__all__ = ["draw", "feed"]


def feed(
    cell: ModuleType, params: Params, ids: np.ndarray, state: np.ndarray, activation: str
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``cell`` over ``ids`` from ``state``: the state after them and the next-symbol
    probabilities ``y``."""
    targets = np.zeros(len(ids), dtype=np.intp)  # forward wants targets; their loss is unused
    cache = cell.forward(params, ids, targets, state, activation)
    return cache.final_state, cache.y[-1]


def draw(
    cell: ModuleType,
    params: Params,
    state: np.ndarray,
    y: np.ndarray,
    n: int,
    temperature: float,
    rng: np.random.Generator,
    activation: str,
) -> list[int]:
    """``n`` symbols drawn one at a time from ``y ** (1 / temperature)`` (renormalised), each
    fed back in to give the next distribution."""
    ids = []
    with np.errstate(divide="ignore"):  # log(0) = -inf: a symbol that is never drawn
        for _ in range(n):
            logits = np.log(y) / temperature
            cdf = np.cumsum(np.exp(logits - logits.max()))
            drawn = np.searchsorted(cdf, rng.random() * cdf[-1], "right")
            ids.append(min(int(drawn), len(cdf) - 1))
            state, y = feed(cell, params, np.array(ids[-1:]), state, activation)
    return ids
