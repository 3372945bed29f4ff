"""Shared plumbing of the gated cells: softmax output layer, checks, and the lag walk.

The lag walk itemizes BPTT's gradient by source loss ``t`` and time step ``j``. Every loss
keeps its own backward message; pairs are grouped by lag ``L = t - j``. At lag ``L`` the
messages of all live sources form one ``(n - L, S)`` matrix whose row ``j`` belongs to source
``t = j + L`` (``S`` is the width of the cell's message: ``2H`` for the LSTM's ``(h, c)``,
``H`` for the GRU). A cell supplies two maps:

``to_preactivation(message) -> (g, aux)``
    rows ``j = 0..m-1``: the message into the state after step ``j`` becomes the gradient
    ``g`` (m, P) w.r.t. step ``j``'s stacked gate pre-activations (``aux`` is whatever the
    second map reuses);
``to_previous(message, g, aux) -> message``
    rows ``j = 1..m-1`` of the same sources, moved one step back to ``j - 1`` (one or two
    matmuls with blocks of ``W_hh`` for all rows at once).

So a horizon of ``k`` costs ``k`` batched steps and truncation at ``k`` computes exactly the
pairs with ``t - j < k`` of the full walk. The itemized gradient of pair ``(t, j)`` is then
``outer(g_{t,j}, v_j)`` for every recurrent block (rows of ``W_hh`` multiplying the vector
``v_j``), ``outer(g_{t,j}, x_j)`` for ``W_xh`` and ``g_{t,j}`` for ``b_h``; norms factorise
over the outer products, so no ``P x H`` matrix is formed unless ``full=True`` asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from rnnbow_widget.model import kept_local_messages

PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_h", "b_y")
WRT_CHOICES = ("W_hh", "W_xh", "b_h")
NORM_CHOICES = ("fro", "mean_abs")

Params = dict[str, np.ndarray]


# ----------------------------------------------------------------------------- checks


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` naming them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_horizon(horizon: object, n: int) -> int:
    """Number of lags to walk: ``min(horizon, n)``, or ``n`` for ``None``.

    Raises
    ------
    TypeError
        If ``horizon`` is neither None nor an int.
    ValueError
        If ``horizon < 1``.
    """
    if horizon is None:
        return n
    if isinstance(horizon, (bool, np.bool_)) or not isinstance(horizon, (int, np.integer)):
        raise TypeError(
            f"horizon must be a positive int or None, got {horizon!r} ({type(horizon).__name__})"
        )
    if horizon < 1:
        raise ValueError(
            f"horizon must be >= 1 (the number of source losses per step) or None, got {horizon}"
        )
    return min(int(horizon), n)


def check_params(params: Params, n_gates: int, cell: str) -> tuple[int, int]:
    """Check a gated cell's parameters and return ``(H, V)``.

    Parameters
    ----------
    params : dict of np.ndarray
        ``W_xh (G H, V)``, ``W_hh (G H, H)``, ``W_hy (V, H)``, ``b_h (G H,)``, ``b_y (V,)``
        with the gates stacked along the rows.
    n_gates : int
        ``G``: 4 for the LSTM, 3 for the GRU.
    cell : str
        Name used in the messages.
    """
    if not hasattr(params, "keys"):
        raise TypeError(f"params must be a dict of numpy arrays, got {type(params).__name__}")
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; the {cell} cell needs {PARAM_NAMES}")
    shape = np.shape(params["W_hh"])
    if len(shape) != 2 or shape[0] != n_gates * shape[1]:
        raise ValueError(
            f"params['W_hh'] must have shape ({n_gates}H, H) for the {cell} cell "
            f"(gates stacked along rows), got {shape}"
        )
    H = shape[1]
    shape = np.shape(params["W_xh"])
    if len(shape) != 2 or shape[0] != n_gates * H:
        raise ValueError(
            f"params['W_xh'] must have shape ({n_gates * H}, V) for H = {H}, got {shape}"
        )
    V = shape[1]
    expected = {"W_hy": (V, H), "b_h": (n_gates * H,), "b_y": (V,)}
    for name, want in expected.items():
        if np.shape(params[name]) != want:
            raise ValueError(
                f"params[{name!r}] must have shape {want} (H = {H}, V = {V}), "
                f"got {np.shape(params[name])}"
            )
    return H, V


def check_indices(name: str, values: object, vocab_size: int) -> np.ndarray:
    """Return ``values`` as a 1-D int array of vocabulary indices in ``[0, vocab_size)``."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"{name} must be a non-empty 1-D array of integer vocabulary indices, "
            f"got shape {values.shape} and dtype {values.dtype}"
        )
    if values.min() < 0 or values.max() >= vocab_size:
        raise ValueError(
            f"{name} must hold indices in [0, {vocab_size}) (V = params['W_xh'].shape[1]), "
            f"got values from {values.min()} to {values.max()}"
        )
    return values


# ----------------------------------------------------------------------------- output layer


def softmax_losses(
    h: np.ndarray, W_hy: np.ndarray, b_y: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Batched output layer: ``y_t = softmax(W_hy h_t + b_y)``, ``L_t = -log y_t[target_t]``.

    Parameters
    ----------
    h : np.ndarray
        (n, H) hidden states ``h_1..h_n``.
    W_hy : np.ndarray
        (V, H).
    b_y : np.ndarray
        (V,).
    targets : np.ndarray
        (n,) int.

    Returns
    -------
    p : np.ndarray
        (n, V) softmax outputs.
    losses : np.ndarray
        (n,) cross-entropy per step.
    """
    logits = h @ W_hy.T
    logits += b_y
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    losses = -np.log(p[np.arange(len(targets)), targets])
    return p, losses


def output_error(p: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(n, V): ``dL_t / d(logits_t) = y_t - onehot(target_t)``."""
    dy = p.copy()
    dy[np.arange(len(targets)), targets] -= 1.0
    return dy


def one_hot(indices: np.ndarray, size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """(n, size) rows ``x_t`` of ``dtype`` with a 1 at ``indices[t]``."""
    x = np.zeros((len(indices), size), dtype=dtype)
    x[np.arange(len(indices)), indices] = 1.0
    return x


# ----------------------------------------------------------------------------- the walk


@dataclass
class ItemizedGradients:
    """Result of ``itemized_gradients`` (:mod:`rnnbow_widget.itemize`'s or a gated cell's).

    Attributes
    ----------
    magnitudes : np.ndarray
        (n, n) float64. ``magnitudes[t, j]`` is the norm of loss t's gradient through step j
        (0-based); zero for ``j > t`` and for pairs beyond the horizon.
    gradient : np.ndarray
        Shape of ``params[wrt]``: the sum of the itemized gradients that were computed. With
        ``horizon=None`` this is ordinary BPTT's gradient; with a horizon it is the sum over the
        kept pairs ``t - j < horizon`` only.
    full : np.ndarray or None
        ``(n, n, *params[wrt].shape)`` itemized gradients when asked for with ``full=True``
        (zero outside the kept pairs), else None.
    wrt : str
        The parameter: ``"W_hh"``, ``"W_xh"`` or ``"b_h"``.
    norm : str
        ``"fro"`` (Frobenius / Euclidean) or ``"mean_abs"`` (mean of the absolute entries).
    horizon : int or None
        The horizon as given (None: all pairs).
    """

    magnitudes: np.ndarray
    gradient: np.ndarray
    full: np.ndarray | None
    wrt: str
    norm: str
    horizon: int | None


@dataclass(frozen=True)
class RecurrentBlock:
    """Rows of ``W_hh`` that multiply the same vector at every step.

    Attributes
    ----------
    rows : slice
        Rows of ``W_hh`` (and of ``g``) in this block.
    vectors : np.ndarray
        (n, H): the vector ``v_j`` the block multiplies at step j (``h_{j-1}``, or
        ``r_j * h_{j-1}`` for the GRU's candidate).
    squared_norms : np.ndarray
        (n,) ``||v_j||**2``, computed on first use and kept.
    """

    rows: slice
    vectors: np.ndarray

    @cached_property
    def squared_norms(self) -> np.ndarray:
        """(n,) float64 ``||v_j||**2``, worked out once and shared by magnitudes and units."""
        v = np.asarray(self.vectors, dtype=np.float64)
        return np.einsum("ij,ij->i", v, v)


def pair_count(n: int, k: int) -> int:
    """Number of pairs ``(t, j)`` with ``0 <= j <= t < n`` and ``t - j < k``."""
    k = min(k, n)
    return k * n - k * (k - 1) // 2


@lru_cache(maxsize=64)
def pair_indices(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(t, j)`` of every pair in the lag-major row order of :func:`lag_walk` (read-only)."""
    k = min(k, n)
    j = np.concatenate([np.arange(n - lag) for lag in range(k)])
    t = j + np.repeat(np.arange(k), n - np.arange(k))
    t.flags.writeable = False
    j.flags.writeable = False
    return t, j


@lru_cache(maxsize=64)
def _pair_positions(n: int, k: int) -> np.ndarray:
    t, j = pair_indices(n, k)
    positions = t * n + j
    positions.flags.writeable = False
    return positions


def pair_matrix(values: np.ndarray, n: int, k: int) -> np.ndarray:
    """(n, n) float64 with ``values[r]`` at the ``(t, j)`` of row r of ``pair_indices(n, k)``.

    Entries of pairs not walked (above the diagonal, beyond the horizon) are 0.
    """
    out = np.zeros(n * n)
    out[_pair_positions(n, k)] = values
    return out.reshape(n, n)


def lag_walk(
    message: Any,
    n: int,
    k: int,
    width: int,
    to_preactivation: Callable[[Any], tuple[np.ndarray, Any]],
    to_previous: Callable[[Any, np.ndarray, Any], Any],
) -> np.ndarray:
    """Pre-activation gradients ``g_{t,j}`` of every pair with ``t - j < k``, lag by lag.

    Parameters
    ----------
    message : array or tuple of arrays
        Lag-0 messages, n rows: row ``t`` is loss t's message into the state after step t.
    n, k : int
        Chunk length and number of lags (``1 <= k <= n``).
    width : int
        ``P``, the width of a pre-activation gradient (``4H`` or ``3H``).
    to_preactivation, to_previous : callable
        The cell's two maps (module docstring).

    Returns
    -------
    np.ndarray
        (pair_count(n, k), P): the rows of lag 0 (``j = 0..n-1``), then lag 1, ...; the
        ``(t, j)`` of each row come from :func:`pair_indices`.
    """
    out = np.empty((pair_count(n, k), width))
    offset = 0
    for lag in range(k):
        g, aux = to_preactivation(message)
        m = g.shape[0]
        out[offset : offset + m] = g
        offset += m
        if lag + 1 < k:
            message = to_previous(message, g, aux)
    return out


def _row_norms(a: np.ndarray, norm: str) -> np.ndarray:
    if norm == "fro":
        return np.einsum("ij,ij->i", a, a)  # squared
    return np.abs(a).sum(axis=1)


def summed_gradient(
    g: np.ndarray,
    n: int,
    k: int,
    wrt: str,
    blocks: Sequence[RecurrentBlock],
    inputs: np.ndarray,
    vocab_size: int,
) -> np.ndarray:
    """Sum of the itemized gradients of all walked pairs, shaped like ``params[wrt]``.

    The sources are summed first, ``g_sum[j] = sum_t g_{t,j}`` (lag by lag, in the row order
    of :func:`lag_walk`), then one product per block: ``g_sum[:, rows]^T v`` for ``W_hh``,
    ``g_sum^T x`` for ``W_xh``, ``sum_j g_sum[j]`` for ``b_h``. Arguments as for
    :func:`itemize`.
    """
    P = g.shape[1]
    g_sum = np.zeros((n, P))  # g_sum[j] = sum over kept sources t of g_{t,j}
    offset = 0
    for lag in range(k):
        m = n - lag
        g_sum[:m] += g[offset : offset + m]
        offset += m
    if wrt == "W_hh":
        gradient = np.empty((P, blocks[0].vectors.shape[1]))
        for block in blocks:
            gradient[block.rows] = g_sum[:, block.rows].T @ block.vectors
        return gradient
    if wrt == "W_xh":
        return g_sum.T @ one_hot(inputs, vocab_size)
    return g_sum.sum(axis=0)


def itemize(
    g: np.ndarray,
    n: int,
    k: int,
    *,
    wrt: str,
    norm: str,
    blocks: Sequence[RecurrentBlock],
    inputs: np.ndarray,
    vocab_size: int,
    horizon: int | None,
    full: bool = False,
    with_gradient: bool = True,
) -> ItemizedGradients:
    """Turn the walk's pre-activation gradients into magnitudes, their sum and (optionally) all.

    Parameters
    ----------
    g : np.ndarray
        (pair_count(n, k), P) from :func:`lag_walk`.
    n, k : int
        Chunk length and number of lags walked.
    wrt : {"W_hh", "W_xh", "b_h"}
    norm : {"fro", "mean_abs"}
        Frobenius norm of the whole (all gates) itemized gradient, or the mean of its
        absolute entries.
    blocks : sequence of RecurrentBlock
        How the rows of ``W_hh`` split by the vector they multiply; together they cover all
        P rows.
    inputs : np.ndarray
        (n,) int, the one-hot inputs ``x_j``.
    vocab_size : int
        V, the number of columns of ``W_xh``.
    horizon : int or None
        Stored on the result as given.
    full : bool
        Also form the ``(n, n, *shape)`` itemized gradients.
    with_gradient : bool
        Also sum the itemized gradients (skip it when only magnitudes are wanted).
    """
    t, j = pair_indices(n, k)
    P = g.shape[1]
    if wrt == "W_hh":
        size = np.zeros(len(t))
        H = blocks[0].vectors.shape[1]
        for block in blocks:
            v_size = block.squared_norms if norm == "fro" else _row_norms(block.vectors, norm)
            size += _row_norms(g[:, block.rows], norm) * v_size[j]
        size = np.sqrt(size) if norm == "fro" else size / (P * H)
    else:
        size = _row_norms(g, norm)
        if norm == "fro":
            size = np.sqrt(size)
        else:
            size /= P * (vocab_size if wrt == "W_xh" else 1)
    magnitudes = pair_matrix(size, n, k)

    gradient = None
    if with_gradient:
        gradient = summed_gradient(g, n, k, wrt, blocks, inputs, vocab_size)

    tensor = None
    if full:
        if wrt == "W_hh":
            H = blocks[0].vectors.shape[1]
            tensor = np.zeros((n, n, P, H))
            for block in blocks:
                tensor[t, j, block.rows] = g[:, block.rows, None] * block.vectors[j][:, None, :]
        elif wrt == "W_xh":
            tensor = np.zeros((n, n, P, vocab_size))
            tensor[t, j, :, inputs[j]] = g
        else:
            tensor = np.zeros((n, n, P))
            tensor[t, j] = g
    return ItemizedGradients(
        magnitudes=magnitudes,
        gradient=gradient,  # type: ignore[arg-type]
        full=tensor,
        wrt=wrt,
        norm=norm,
        horizon=horizon,
    )


# ----------------------------------------------------------------------------- a cell's API


def local_messages(params: Params, cache: Any) -> np.ndarray:
    """(n, H): ``d_{t,t} = W_hy^T (y_t - onehot(target_t))``, loss t's message into ``h_t``.

    Returns ``cache.local`` when the cell's ``backward`` kept it in float64 for this same
    ``W_hy`` array (the same product, so the same bits), else works it out.
    """
    kept = kept_local_messages(cache, params["W_hy"])
    return output_error(cache.p, cache.targets) @ params["W_hy"] if kept is None else kept


def empty_like(params: Params, dtype: np.dtype | type = np.float64) -> Params:
    """Uninitialised arrays of ``dtype`` shaped like ``params`` (the gradients' ``out``)."""
    return {name: np.empty(np.shape(params[name]), dtype=dtype) for name in PARAM_NAMES}


@dataclass(frozen=True)
class CellLayout:
    """What the generic itemizing functions below need to know about a gated cell.

    Attributes
    ----------
    name : str
        Name in messages (``"LSTM"``).
    n_gates : int
        ``G``, the number of gate blocks stacked along the rows of ``W_hh``.
    cache_type : type
        The cell's ``Cache`` class.
    cache_phrase : str
        What a cache must be, for the message (``"an lstm.Cache from lstm.forward"``).
    forward : callable
        ``forward(params, inputs, targets, state0) -> cache``.
    walk : callable
        ``walk(params, cache, k) -> g``: the cell's :func:`lag_walk`, (pair_count(n, k), G H).
    blocks : callable
        ``blocks(cache, H) -> list of RecurrentBlock``: how the rows of ``W_hh`` split by the
        vector they multiply.
    """

    name: str
    n_gates: int
    cache_type: type
    cache_phrase: str
    forward: Callable[..., Any]
    walk: Callable[[Params, Any, int], np.ndarray]
    blocks: Callable[[Any, int], list[RecurrentBlock]]


def check_cache(cell: CellLayout, cache: Any, H: int, V: int) -> Any:
    """Return ``cache`` if it is ``cell``'s cache for a model with ``H`` units and ``V`` symbols."""
    if not isinstance(cache, cell.cache_type):
        raise TypeError(f"cache must be {cell.cache_phrase}, got {type(cache)!r}")
    n = len(cache.inputs)
    P = cell.n_gates * H
    if cache.h.shape != (n + 1, H) or cache.gates.shape != (n, P):
        raise ValueError(
            f"cache does not match params: expected h ({n + 1}, {H}) and gates "
            f"({n}, {P}), got {cache.h.shape} and {cache.gates.shape}"
        )
    if cache.p.shape != (n, V):
        raise ValueError(f"cache.p must have shape ({n}, {V}) (V from params), got {cache.p.shape}")
    return cache


def _itemize_cache(
    cell: CellLayout,
    params: Params,
    cache: Any,
    wrt: str,
    norm: str,
    horizon: int | None,
    full: bool,
    with_gradient: bool,
) -> tuple[ItemizedGradients, np.ndarray, list[RecurrentBlock], int, int, int]:
    """Check, walk and :func:`itemize`; returns the result and ``(g, blocks, n, k, H)``."""
    wrt = check_choice("wrt", wrt, WRT_CHOICES)
    norm = check_choice("norm", norm, NORM_CHOICES)
    H, V = check_params(params, cell.n_gates, cell.name)
    check_cache(cell, cache, H, V)
    n = len(cache.inputs)
    k = check_horizon(horizon, n)
    g = cell.walk(params, cache, k)
    blocks = cell.blocks(cache, H)
    result = itemize(
        g,
        n,
        k,
        wrt=wrt,
        norm=norm,
        blocks=blocks,
        inputs=cache.inputs,
        vocab_size=V,
        horizon=horizon,
        full=full,
        with_gradient=with_gradient,
    )
    return result, g, blocks, n, k, H


def cell_magnitudes(
    cell: CellLayout, params: Params, cache: Any, wrt: str, norm: str, horizon: int | None
) -> np.ndarray:
    """A cell's ``itemized_magnitudes``: (n, n) norms of the itemized gradients of ``cache``."""
    result = _itemize_cache(cell, params, cache, wrt, norm, horizon, False, False)[0]
    return result.magnitudes


def cell_magnitudes_and_units(
    cell: CellLayout,
    params: Params,
    cache: Any,
    wrt: str,
    norm: str,
    horizon: int | None,
    pair_order: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A cell's ``itemized_magnitudes_and_units``: magnitudes and the per-unit contributions.

    The units are the packed triangle, or with ``pair_order=True`` the walked pairs in the
    order of :func:`pair_indices` (:func:`rnnbow_widget.units.unit_contributions`).
    """
    from rnnbow_widget.units import unit_contributions

    result, g, blocks, n, k, H = _itemize_cache(
        cell, params, cache, wrt, norm, horizon, False, False
    )
    t, j = pair_indices(n, k)
    units = unit_contributions(
        g, t, j, n, H, blocks if result.wrt == "W_hh" else None, pair_order=pair_order
    )
    return result.magnitudes, units


def cell_itemized_gradients(
    cell: CellLayout,
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: object,
    wrt: str,
    norm: str,
    horizon: int | None,
    full: bool,
) -> ItemizedGradients:
    """A cell's ``itemized_gradients``: check, run ``cell.forward`` in float64, itemize."""
    if not isinstance(full, bool | np.bool_):
        raise TypeError(f"full must be True or False, got {full!r}")
    wrt = check_choice("wrt", wrt, WRT_CHOICES)
    norm = check_choice("norm", norm, NORM_CHOICES)
    _, V = check_params(params, cell.n_gates, cell.name)
    inputs = check_indices("inputs", inputs, V)
    targets = check_indices("targets", targets, V)
    if targets.shape != inputs.shape:
        raise ValueError(
            f"targets must have the same length as inputs ({len(inputs)}), got {len(targets)}"
        )
    check_horizon(horizon, len(inputs))
    params = {name: np.asarray(params[name], dtype=np.float64) for name in PARAM_NAMES}
    cache = cell.forward(params, inputs, targets, state0)
    return _itemize_cache(cell, params, cache, wrt, norm, horizon, full, True)[0]
