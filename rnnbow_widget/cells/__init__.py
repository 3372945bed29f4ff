"""Recurrent cells with exact itemized gradients: ``rnn`` (tanh or relu), ``lstm`` and ``gru``.

A cell is a module with the same few functions (:class:`~rnnbow_widget.cells.base.Cell`)::

    init_params(vocab_size, hidden_size, rng, init_scale=0.1) -> params
    initial_state(hidden_size) -> state0          # rnn, gru (H,); lstm (2, H) [h; c]
    forward(params, inputs, targets, state0, activation="tanh") -> cache
    backward(params, cache) -> grads              # ordinary BPTT
    lag_steps(params, cache) -> steps             # what the itemizing lag walk needs
    recurrent_blocks(cache) -> blocks             # which vector each row block of W_hh multiplies

A new cell is one more module here with these functions, and one line in :data:`CELLS`.

Examples
--------
>>> import numpy as np
>>> cell = get_cell("gru")
>>> params = cell.init_params(5, 3, np.random.default_rng(0))
>>> cache = cell.forward(params, np.array([0, 1]), np.array([1, 2]), cell.initial_state(3))
>>> check_params(params, "gru"), cache.y.shape
((3, 5), (2, 5))
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from rnnbow_widget.cells import gru, lstm, rnn
from rnnbow_widget.cells.base import PARAM_NAMES, Cache, Params, RecurrentBlock
from rnnbow_widget.checks import check_choice

CELLS: dict[str, ModuleType] = {"rnn": rnn, "lstm": lstm, "gru": gru}
"""The cells by name."""

_LOOKS_LIKE = {"rnn": "a vanilla RNN's", "lstm": "an LSTM's", "gru": "a GRU's"}

__all__ = ["CELLS", "PARAM_NAMES", "Cache", "Params", "RecurrentBlock", "check_params", "get_cell"]


def get_cell(name: str) -> ModuleType:
    """The cell module called ``name``: ``"rnn"``, ``"lstm"`` or ``"gru"``.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`CELLS`.
    """
    return CELLS[check_choice("cell", name, tuple(CELLS))]


def cell_of(cache: object) -> ModuleType:
    """The cell whose ``forward`` made ``cache``, else a ``TypeError``."""
    for cell in CELLS.values():
        if type(cache) is cell.Cache:
            return cell
    raise TypeError(
        f"cache must come from a cell's forward (rnn, lstm or gru), got {type(cache).__name__}"
    )


def check_params(params: Params, cell: str) -> tuple[int, int]:
    """Check that ``params`` are the parameters of ``cell`` and return ``(H, V)``.

    A cell with G gates has ``W_xh (G H, V)``, ``W_hh (G H, H)``, ``b_h (G H,)``, ``W_hy (V, H)``
    and ``b_y (V,)`` (G = 1 for ``rnn``, 3 for ``gru``, 4 for ``lstm``). When ``W_hh`` has the
    shape of another cell's, the message names that cell.

    Raises
    ------
    TypeError
        If ``params`` is not a mapping.
    ValueError
        If a key is missing or a shape is wrong.

    Examples
    --------
    >>> p = get_cell("lstm").init_params(5, 3, np.random.default_rng(0))
    >>> check_params(p, "rnn")
    Traceback (most recent call last):
    ...
    ValueError: params look like an LSTM's (W_hh has 4H = 12 rows for H = 3): pass cell='lstm'
    """
    if not hasattr(params, "keys"):
        raise TypeError(
            f"params must be a dict of numpy arrays with keys {PARAM_NAMES}, "
            f"got {type(params).__name__}"
        )
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; every cell needs the keys {PARAM_NAMES}, "
            f"got {sorted(params.keys())}"
        )
    G = len(get_cell(cell).GATES)
    shape = np.shape(params["W_hh"])
    if len(shape) != 2 or shape[0] != G * shape[1]:
        raise ValueError(_wrong_cell(shape, cell, G))
    H = shape[1]
    W_xh_shape = np.shape(params["W_xh"])
    if len(W_xh_shape) != 2 or W_xh_shape[0] != G * H:
        raise ValueError(
            f"params['W_xh'] must have shape ({G * H}, V) for the {cell} cell with H = {H}, "
            f"got {W_xh_shape}"
        )
    V = W_xh_shape[1]
    for name, want in {"W_hy": (V, H), "b_h": (G * H,), "b_y": (V,)}.items():
        if np.shape(params[name]) != want:
            raise ValueError(
                f"params[{name!r}] must have shape {want} (H = {H}, V = {V}), "
                f"got {np.shape(params[name])}"
            )
    return H, V


def _wrong_cell(shape: tuple[int, ...], cell: str, G: int) -> str:
    rows = "H" if G == 1 else f"{G}H"
    expected = f"params['W_hh'] must have shape ({rows}, H) for the {cell} cell, got {shape}"
    if len(shape) == 2 and shape[1] > 0:
        for other, module in CELLS.items():
            gates = len(module.GATES)
            if other != cell and shape[0] == gates * shape[1]:
                count = "H" if gates == 1 else f"{gates}H"
                return (
                    f"params look like {_LOOKS_LIKE[other]} (W_hh has {count} = {shape[0]} "
                    f"rows for H = {shape[1]}): pass cell={other!r}"
                )
    return expected
