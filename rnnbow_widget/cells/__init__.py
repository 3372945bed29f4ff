"""Gated recurrent cells with exact itemized gradients: ``lstm`` and ``gru``.

Each cell module has the same functions, so a trainer can pick one by name::

    init_params(vocab_size, hidden_size, rng, init_scale=0.1) -> params
    initial_state(hidden_size) -> state0            # LSTM (2, H) [h; c], GRU (H,)
    forward(params, inputs, targets, state0) -> Cache   # .p .losses .h .predictions .final_state
    backward(params, cache) -> (grads, g)
    itemized_magnitudes(params, cache, wrt="W_hh", norm="fro", horizon=None) -> (n, n)
    itemized_gradients(params, inputs, targets, state0, ...) -> ItemizedGradients

Examples
--------
>>> import numpy as np
>>> from rnnbow_widget.cells import get_cell
>>> cell = get_cell("gru")
>>> params = cell.init_params(5, 3, np.random.default_rng(0))
>>> cache = cell.forward(params, np.array([0, 1]), np.array([1, 2]), cell.initial_state(3))
>>> cell.itemized_magnitudes(params, cache).shape
(2, 2)
"""

from __future__ import annotations

from types import ModuleType

from rnnbow_widget.cells import gru, lstm
from rnnbow_widget.cells.lagwalk import ItemizedGradients

CELLS: dict[str, ModuleType] = {"lstm": lstm, "gru": gru}

__all__ = ["CELLS", "ItemizedGradients", "get_cell", "gru", "lstm"]


def get_cell(name: str) -> ModuleType:
    """The cell module called ``name`` (``"lstm"`` or ``"gru"``).

    Raises
    ------
    ValueError
        If ``name`` is not one of the cells.
    """
    if not isinstance(name, str) or name not in CELLS:
        raise ValueError(f"cell must be one of {tuple(CELLS)}, got {name!r}")
    return CELLS[name]
