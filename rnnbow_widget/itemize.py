"""Itemized gradients, the checked public entry point: BPTT's gradient split by source loss t
and time step j, for every cell.

>>> import numpy as np
>>> from rnnbow_widget import itemize
>>> from rnnbow_widget.cells import lstm
>>> params = lstm.init_params(vocab_size=4, hidden_size=3, rng=np.random.default_rng(0))
>>> result = itemize.itemized_gradients(params, [0, 1, 2], [1, 2, 3], cell="lstm")
>>> result.magnitudes.shape, result.gradient.shape
((3, 3), (12, 3))

``magnitudes[t, j]`` is the size of the part of ``dL/dW`` that loss ``L_t`` contributes through
step ``j`` (0 for ``j > t``); the parts sum to ordinary BPTT's gradient. The math and the
algorithm are in :mod:`rnnbow_widget.engine`, each cell's equations in its module in
:mod:`rnnbow_widget.cells`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any

import numpy as np

from rnnbow_widget import engine
from rnnbow_widget.cells import Cache, Params, cell_of, check_params, get_cell
from rnnbow_widget.checks import check_bool, check_choice, check_horizon, check_indices
from rnnbow_widget.engine import NORM_CHOICES, WRT_CHOICES

__all__ = [
    "NORM_CHOICES",
    "WRT_CHOICES",
    "ItemizedGradients",
    "itemize_cache",
    "itemized_gradients",
    "magnitudes_from_cache",
]


@dataclass
class ItemizedGradients:
    """The itemized gradients of one chunk.

    Attributes
    ----------
    magnitudes : np.ndarray
        (n, n) float64. ``magnitudes[t, j]`` is the norm of loss t's gradient through step j
        (0-based); zero for ``j > t`` and for pairs beyond the horizon.
    gradient : np.ndarray
        Shape of ``params[wrt]``: the sum of the itemized gradients computed. With
        ``horizon=None`` this is ordinary BPTT's gradient; with a horizon, the sum over the kept
        pairs ``t - j < horizon`` only.
    full : np.ndarray or None
        ``(n, n, *params[wrt].shape)`` itemized gradients when asked for with ``full=True``
        (zero outside the kept pairs), else None.
    units : np.ndarray or None
        ``(n, n, H)`` each hidden unit's share of each pair's itemized gradient (the norm of
        its rows; their squares add up to ``magnitudes**2`` with ``norm="fro"``) when asked
        for with ``units=True``, else None.
    wrt : str
        ``"W_hh"``, ``"W_xh"`` or ``"b_h"``.
    norm : str
        ``"fro"`` (Frobenius) or ``"mean_abs"`` (mean of the absolute entries).
    horizon : int or None
        The horizon as given (None: every pair).
    """

    magnitudes: np.ndarray
    gradient: np.ndarray
    full: np.ndarray | None
    units: np.ndarray | None
    wrt: str
    norm: str
    horizon: int | None


def itemized_gradients(
    params: Params,
    inputs: Any,
    targets: Any,
    state0: Any = None,
    *,
    cell: str = "rnn",
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    full: bool = False,
    units: bool = False,
    activation: str = "tanh",
) -> ItemizedGradients:
    """Run a cell over one chunk and itemize the gradient of ``params[wrt]``.

    Parameters
    ----------
    params : dict of np.ndarray
        ``W_xh, W_hh, W_hy, b_h, b_y``; a gated cell stacks its gate blocks along the rows
        (``W_hh`` is (4H, H) for the LSTM, (3H, H) for the GRU).
    inputs, targets : array_like of int
        (n,) vocabulary indices.
    state0 : array_like or None
        The state carried in: ``h0`` (H,) for ``rnn`` and ``gru``, ``[h0; c0]`` (2, H) or the
        pair ``(h0, c0)`` for ``lstm``. None (the default) is the cell's zero state.
    cell : {"rnn", "lstm", "gru"}
        Which cell ``params`` belong to.
    wrt : {"W_hh", "W_xh", "b_h"}
        The parameter whose gradient is itemized (all gate blocks together).
    norm : {"fro", "mean_abs"}
        Frobenius norm, or the mean absolute entry (the paper's "averaged over hidden nodes").
    horizon : int or None
        Keep only pairs with ``t - j < horizon`` (exact, and cheaper); None keeps all.
    full : bool
        Also return every itemized gradient, ``(n, n, *params[wrt].shape)``; meant for small
        teaching models (for ``W_hh`` that is ``n^2 G H^2`` numbers).
    units : bool
        Also return each hidden unit's share, ``(n, n, H)``.
    activation : {"tanh", "relu"}
        The vanilla cell's non-linearity (the gated cells have only ``"tanh"``).

    Returns
    -------
    ItemizedGradients

    Raises
    ------
    ValueError, TypeError
        For a bad argument; the message names it. Parameters of another cell's shape say
        which cell they look like.

    Examples
    --------
    >>> from rnnbow_widget.cells import rnn
    >>> params = rnn.init_params(4, 3, np.random.default_rng(0))
    >>> x, y = np.array([0, 1, 2]), np.array([1, 2, 3])
    >>> result = itemized_gradients(params, x, y, full=True)
    >>> result.magnitudes.shape, result.full.shape
    ((3, 3), (3, 3, 3, 3))
    >>> grads = rnn.backward(params, rnn.forward(params, x, y, np.zeros(3)))
    >>> bool(np.allclose(result.gradient, grads["W_hh"], rtol=1e-12, atol=0))
    True
    """
    module = get_cell(cell)
    wrt = check_choice("wrt", wrt, WRT_CHOICES)
    norm = check_choice("norm", norm, NORM_CHOICES)
    activation = check_choice("activation", activation, module.ACTIVATIONS, f" for cell {cell!r}")
    full, units = check_bool("full", full), check_bool("units", units)
    H, V = check_params(params, cell)
    inputs = check_indices("inputs", inputs, V)
    targets = check_indices("targets", targets, V)
    if targets.shape != inputs.shape:
        raise ValueError(
            f"targets must have the same length as inputs ({len(inputs)}), got {len(targets)}"
        )
    check_horizon(horizon, len(inputs))
    if state0 is None:
        state0 = module.initial_state(H)
    try:
        state0 = np.asarray(module.check_state(state0, H), dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{error} (cell={cell!r})") from None
    params = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    cache = module.forward(params, inputs, targets, state0, activation)
    return _itemize(module, params, cache, wrt, norm, horizon, full=full, units=units)


def itemize_cache(
    params: Params,
    cache: Cache,
    *,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    full: bool = False,
    units: bool = False,
) -> ItemizedGradients:
    """Itemize a chunk whose forward pass is already cached (any cell, any float dtype).

    Parameters
    ----------
    params : dict of np.ndarray
        The parameters the cache was computed with.
    cache : Cache
        From a cell's ``forward`` (the cell is recognised from the cache).
    wrt, norm, horizon, full, units
        As for :func:`itemized_gradients`.

    Examples
    --------
    >>> from rnnbow_widget.cells import gru
    >>> params = gru.init_params(4, 3, np.random.default_rng(0))
    >>> cache = gru.forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> result = itemize_cache(params, cache, horizon=2, units=True)
    >>> result.units.shape, bool(result.magnitudes[2, 0] == 0)
    ((3, 3, 3), True)
    """
    full, units = check_bool("full", full), check_bool("units", units)
    module = _check_cached(params, cache, wrt, norm, horizon)
    return _itemize(module, params, cache, wrt, norm, horizon, full=full, units=units)


def magnitudes_from_cache(
    params: Params, cache: Cache, wrt: str = "W_hh", norm: str = "fro", horizon: int | None = None
) -> np.ndarray:
    """``itemize_cache(...).magnitudes``: the (n, n) magnitudes of a cached chunk.

    Examples
    --------
    >>> from rnnbow_widget.cells import rnn
    >>> params = rnn.init_params(4, 3, np.random.default_rng(0))
    >>> cache = rnn.forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> m = magnitudes_from_cache(params, cache, horizon=2)
    >>> m.shape, bool(m[0, 1] == 0), bool(m[2, 0] == 0), bool(m[2, 1] > 0)
    ((3, 3), True, True, True)
    """
    module = _check_cached(params, cache, wrt, norm, horizon)
    walk = engine.walk(module, params, cache, check_horizon(horizon, len(cache.inputs)))
    return engine.magnitudes(walk, wrt, norm)


def _check_cached(
    params: Params, cache: Cache, wrt: str, norm: str, horizon: int | None
) -> ModuleType:
    """Check the arguments of the cached-chunk functions; returns the cache's cell."""
    module = cell_of(cache)
    check_choice("wrt", wrt, WRT_CHOICES)
    check_choice("norm", norm, NORM_CHOICES)
    try:
        H, V = check_params(params, module.NAME)
    except ValueError as error:
        raise ValueError(
            f"{error}; but the cache comes from the {module.NAME} cell's forward: pass the "
            "params it was made with"
        ) from None
    _check_cache(cache, H, V)
    check_horizon(horizon, len(cache.inputs))
    return module


def _itemize(
    cell: Any,
    params: Params,
    cache: Cache,
    wrt: str,
    norm: str,
    horizon: int | None,
    *,
    full: bool,
    units: bool,
) -> ItemizedGradients:
    n = len(cache.inputs)
    walk = engine.walk(cell, params, cache, check_horizon(horizon, n))
    unit_shares = None
    if units:
        shares = engine.unit_contributions(walk, wrt)
        unit_shares = np.zeros((n, n, shares.shape[1]))
        unit_shares[walk.t, walk.j] = shares
    return ItemizedGradients(
        magnitudes=engine.magnitudes(walk, wrt, norm),
        gradient=engine.summed_gradient(walk, wrt),
        full=engine.full_gradients(walk, wrt) if full else None,
        units=unit_shares,
        wrt=wrt,
        norm=norm,
        horizon=horizon,
    )


def _check_cache(cache: Cache, H: int, V: int) -> None:
    """Every array of ``cache`` must fit ``n = len(cache.inputs)`` and the params' H and V."""
    n = len(cache.inputs) if np.ndim(cache.inputs) == 1 else 0
    expected = {"inputs": (n,), "targets": (n,), "losses": (n,), "h": (n + 1, H), "y": (n, V)}
    for field in fields(cache):
        shape = np.shape(getattr(cache, field.name))
        want = expected.get(field.name)
        fits = shape == want if want else len(shape) == 2 and shape[0] in (n, n + 1)
        if n < 1 or not fits or (want is None and shape[1] % H):
            wanted = want if want else f"(n or n + 1, a multiple of H) = ({n} or {n + 1}, k {H})"
            raise ValueError(
                f"cache.{field.name} must have shape {wanted} for n = len(cache.inputs) = {n}, "
                f"H = {H}, V = {V} (from params), got {shape}"
            )
