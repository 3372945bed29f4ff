"""Itemized gradients: BPTT's gradient split by source loss t and time step j.

Ordinary BPTT adds the messages of all losses together as it walks back, so it only ever
knows their sum. Here every loss keeps its own message (``DESIGN.md``, math contract)::

    d_{t,t}   = W_hy^T (y_t - onehot(target_t))     message of loss t into h_t
    g_{t,j}   = act'(z_j) * d_{t,j}                 ... into the pre-activation z_j
    d_{t,j-1} = W_hh^T g_{t,j}                      ... one step further back

and the **itemized gradient** of loss t through step j is ``outer(g_{t,j}, h_{j-1})`` for
``W_hh``, ``outer(g_{t,j}, x_j)`` for ``W_xh`` and ``g_{t,j}`` for ``b_h``. Summed over all
``j <= t`` they give exactly the gradient of ordinary BPTT.

How it is computed
------------------
Pairs are grouped by lag ``L = t - j``. At lag L the messages of all sources form one
``(n - L, H)`` matrix whose row ``j`` belongs to source ``t = j + L``; one matmul with
``W_hh`` moves the whole matrix to lag ``L + 1`` (dropping the row of step 0, which has
nothing before it). A horizon of k therefore costs k matmuls and the full horizon n
shrinking ones. Norms factorise over the outer product, so no ``H x H`` matrix is formed
unless ``full=True`` asks for the matrices themselves.

Other cells plug in through :class:`BackwardSteps`: the recursion only needs the cell's
"message -> pre-activation gradient" and "pre-activation gradient -> message one step
back" maps. Everything is accumulated in float64: the vanishing tail (1e-25 and below at
lag 20 with small weights) is what the widget shows, and its squares underflow float32.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rnnbow_widget import model
from rnnbow_widget.cells.lagwalk import (
    NORM_CHOICES,
    WRT_CHOICES,
    ItemizedGradients,
    RecurrentBlock,
    one_hot,
    pair_count,
    pair_indices,
    pair_matrix,
    summed_gradient,
)
from rnnbow_widget.cells.lagwalk import check_choice as _check_choice
from rnnbow_widget.cells.lagwalk import check_horizon as _check_horizon
from rnnbow_widget.model import Cache, Params


class BackwardSteps(Protocol):
    """The two cell-specific maps of the lag recursion.

    Rows of every array are time steps ``j = lo, ..., hi - 1`` (0-based); each row belongs to
    a different source loss, but the maps never need to know which. ``preactivation_size`` is
    the width P of a pre-activation gradient (H for the vanilla cell, 4H for an LSTM's gates).
    """

    preactivation_size: int

    def to_preactivation(
        self, d: np.ndarray, lo: int, hi: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Messages into the state after step j -> gradients w.r.t. step j's pre-activation."""
        ...

    def to_previous(self, g: np.ndarray, d: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Pre-activation gradients (and messages) at step j -> messages into step j - 1.

        ``lo >= 1``. ``d`` is passed for cells whose state has a path that skips the
        pre-activation (the LSTM's cell state); the vanilla cell ignores it.
        """
        ...


@dataclass(frozen=True)
class VanillaBackwardSteps:
    """:class:`BackwardSteps` of the vanilla cell: ``g = act'(z_j) * d``, ``d_prev = W_hh^T g``.

    Attributes
    ----------
    W_hh : np.ndarray
        (H, H) recurrent weights.
    dact : np.ndarray
        (n, H) activation derivative at each step, ``cache.dact``.
    """

    W_hh: np.ndarray
    dact: np.ndarray

    @property
    def preactivation_size(self) -> int:
        return self.W_hh.shape[0]

    def to_preactivation(
        self, d: np.ndarray, lo: int, hi: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        return np.multiply(d, self.dact[lo:hi], out=out)

    def to_previous(self, g: np.ndarray, d: np.ndarray, lo: int, hi: int) -> np.ndarray:
        # Row form of W_hh^T g_j for every row at once.
        return g @ self.W_hh


def lag_walk(
    steps: BackwardSteps, d_local: np.ndarray, horizon: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Pre-activation gradients ``g_{t,j}`` of every pair with ``t - j < horizon``, lag by lag.

    Parameters
    ----------
    steps : BackwardSteps
        The cell's two maps.
    d_local : np.ndarray
        (n, M) local messages ``d_{t,t}``.
    horizon : int
        Number of lags to walk (at least 1; more than n walks all n).
    out : np.ndarray, optional
        (pair_count(n, horizon), P) buffer to write into.

    Returns
    -------
    np.ndarray
        (pair_count(n, horizon), P): the rows of lag 0 (``j = 0..n-1``), then lag 1
        (``j = 0..n-2``), and so on; the row for pair (t, j) is ``g_{t,j}``. The matching
        ``(t, j)`` come from :func:`pair_indices`.

    Examples
    --------
    With ``W_hh = 2`` and ``act' = 1`` (H = 1) a message doubles at every step back:

    >>> steps = VanillaBackwardSteps(W_hh=np.array([[2.0]]), dact=np.ones((3, 1)))
    >>> g = lag_walk(steps, np.array([[1.0], [10.0], [100.0]]), horizon=2)
    >>> g[:, 0].tolist()  # lag 0: j = 0, 1, 2; lag 1: (t, j) = (1, 0), (2, 1)
    [1.0, 10.0, 100.0, 20.0, 200.0]
    >>> [idx.tolist() for idx in pair_indices(3, 2)]
    [[0, 1, 2, 1, 2], [0, 1, 2, 0, 1]]
    """
    n = d_local.shape[0]
    horizon = _check_horizon(horizon, n)
    if out is None:
        out = np.empty((pair_count(n, horizon), steps.preactivation_size))
    d = d_local
    offset = 0
    for lag in range(horizon):
        m = n - lag
        g = steps.to_preactivation(d, 0, m, out=out[offset : offset + m])
        offset += m
        if lag + 1 < horizon:
            # Row j of the next lag is step j of source j + lag + 1, fed by row j + 1 here.
            d = steps.to_previous(g[1:], d[1:], 1, m)
    return out


def _check_indices(name: str, values: np.ndarray, vocab_size: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of ints, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"{name} must hold integer vocabulary indices, got dtype {values.dtype}")
    if values.min() < 0 or values.max() >= vocab_size:
        raise ValueError(
            f"{name} must hold indices in [0, {vocab_size}) (V = params['W_xh'].shape[1]), "
            f"got values from {values.min()} to {values.max()}"
        )
    return values


def _float64_params(params: Params) -> Params:
    return {name: np.asarray(params[name], dtype=np.float64) for name in model.PARAM_NAMES}


_CACHE_SHAPES = operator.attrgetter(
    "inputs.shape", "targets.shape", "h.shape", "dact.shape", "p.shape"
)


def _check_cache(cache: Cache, H: int, V: int) -> None:
    if not isinstance(cache, Cache):
        raise TypeError(f"cache must be a model.Cache from model.forward, got {type(cache)!r}")
    try:  # the common case (arrays that fit), at once
        inputs, targets, h, dact, p = _CACHE_SHAPES(cache)
        if len(inputs) == 1 and inputs[0] >= 1:
            n = inputs[0]
            if (targets, h, dact, p) == ((n,), (n + 1, H), (n, H), (n, V)):
                return
    except AttributeError:
        pass
    n = np.shape(cache.inputs)[0] if np.ndim(cache.inputs) == 1 else -1
    expected = {
        "inputs": (n,),
        "targets": (n,),
        "h": (n + 1, H),
        "dact": (n, H),
        "p": (n, V),
    }
    for field, shape in expected.items():
        got = np.shape(getattr(cache, field))
        if n < 1 or got != shape:
            raise ValueError(
                f"cache.{field} must have shape {shape} for n = len(cache.inputs) = {n}, "
                f"H = {H}, V = {V} (from params), got {got}"
            )


def _magnitudes(
    g: np.ndarray, n: int, k: int, wrt: str, norm: str, cache: Cache, block: RecurrentBlock
) -> np.ndarray:
    """Per-pair norms of the itemized gradients as an (n, n) matrix.

    ``block`` is ``W_hh``'s (the vectors ``h_{j-1}``); it keeps their squared norms for
    :func:`unit_contributions`.
    """
    if norm == "fro":
        size = np.sqrt(np.einsum("ij,ij->i", g, g))
    else:
        size = np.abs(g).mean(axis=1)
    if wrt == "W_hh":
        if norm == "fro":
            h_size = np.sqrt(block.squared_norms)
        else:
            h_size = np.abs(np.asarray(block.vectors, dtype=np.float64)).mean(axis=1)
        size *= h_size[pair_indices(n, k)[1]]
    elif wrt == "W_xh" and norm == "mean_abs":
        size /= np.shape(cache.p)[1]  # the matrix has V columns, one of them non-zero
    return pair_matrix(size, n, k)


def _itemized_preactivation_grads(
    params: Params, cache: Cache, horizon: object
) -> tuple[np.ndarray, int, Params]:
    """Validate, then run the lag walk; returns ``(g, lags walked, float64 params)``."""
    H, V = model.check_params(params)
    _check_cache(cache, H, V)
    k = _check_horizon(horizon, len(cache.inputs))
    params = _float64_params(params)
    return _walk(params, cache, k), k, params


def _walk(params: Params, cache: Cache, k: int) -> np.ndarray:
    """The lag walk of a checked cache with float64 ``params``, over ``k`` lags."""
    dact = cache.dact if cache.dact.dtype == np.float64 else cache.dact.astype(np.float64)
    steps = VanillaBackwardSteps(params["W_hh"], dact)
    return lag_walk(steps, model.local_messages(params, cache), k)


def magnitudes_from_cache(
    params: Params,
    cache: Cache,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
) -> np.ndarray:
    """Norms of the itemized gradients of a chunk whose forward pass is already cached.

    Parameters
    ----------
    params : dict of np.ndarray
        The cell's parameters (``W_xh, W_hh, W_hy, b_h, b_y``) the cache was computed with.
    cache : model.Cache
        From :func:`rnnbow_widget.model.forward`.
    wrt : {"W_hh", "W_xh", "b_h"}
        The parameter whose gradient is itemized.
    norm : {"fro", "mean_abs"}
        Frobenius norm, or the mean absolute entry (the paper's "averaged over hidden nodes").
    horizon : int or None
        Keep only pairs with ``t - j < horizon`` (others are 0); None keeps all.

    Returns
    -------
    np.ndarray
        (n, n) float64, ``[t, j]`` = size of loss t's gradient through step j, 0 for j > t.

    Examples
    --------
    >>> import numpy as np
    >>> from rnnbow_widget import model
    >>> params = model.init_params(4, 3, np.random.default_rng(0))
    >>> cache = model.forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> m = magnitudes_from_cache(params, cache, horizon=2)
    >>> m.shape, bool(m[0, 1] == 0), bool(m[2, 0] == 0), bool(m[2, 1] > 0)
    ((3, 3), True, True, True)
    """
    wrt = _check_choice("wrt", wrt, WRT_CHOICES)
    norm = _check_choice("norm", norm, NORM_CHOICES)
    g, k, _ = _itemized_preactivation_grads(params, cache, horizon)
    block = RecurrentBlock(slice(0, g.shape[1]), cache.h_prev)
    return _magnitudes(g, len(cache.inputs), k, wrt, norm, cache, block)


def magnitudes_and_units_from_cache(
    params: Params,
    cache: Cache,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    *,
    pair_order: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`magnitudes_from_cache` plus the per-unit contributions, from one lag walk.

    Unit ``i``'s contribution to pair (t, j) is the norm of row ``i`` of the itemized
    gradient: ``|g_{t,j}[i]| * ||h_{j-1}||`` for ``W_hh``, ``|g_{t,j}[i]|`` for ``W_xh``
    (one-hot ``x_j``) and ``b_h`` (:mod:`rnnbow_widget.units`).

    Parameters
    ----------
    params, cache, wrt, norm, horizon
        As for :func:`magnitudes_from_cache`.
    pair_order : bool, default False
        Return the units of the walked pairs only, in the walk's order (``(t, j)`` from
        ``lagwalk.pair_indices(n, min(horizon, n))``) instead of the packed triangle,
        without its zero rows beyond the horizon: the form
        :meth:`rnnbow_widget.units.UnitStore.put` stores with ``pair_order=True``.

    Returns
    -------
    magnitudes : np.ndarray
        (n, n), as :func:`magnitudes_from_cache`.
    units : np.ndarray
        (n (n + 1) / 2, H) packed triangle; with ``norm="fro"``,
        ``(units[t (t + 1) / 2 + j] ** 2).sum() == magnitudes[t, j] ** 2``. With
        ``pair_order=True``, (pair_count(n, k), H): row ``r`` is pair ``(t[r], j[r])``.

    Examples
    --------
    >>> from rnnbow_widget import model
    >>> params = model.init_params(4, 3, np.random.default_rng(0))
    >>> cache = model.forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> m, u = magnitudes_and_units_from_cache(params, cache)
    >>> u.shape, bool(np.isclose(np.sqrt((u[4] ** 2).sum()), m[2, 1]))
    ((6, 3), True)
    """
    wrt = _check_choice("wrt", wrt, WRT_CHOICES)
    norm = _check_choice("norm", norm, NORM_CHOICES)
    g, k, _ = _itemized_preactivation_grads(params, cache, horizon)
    return _magnitudes_and_units(g, cache, k, wrt, norm, pair_order)


def _magnitudes_and_units(
    g: np.ndarray, cache: Cache, k: int, wrt: str, norm: str, pair_order: bool
) -> tuple[np.ndarray, np.ndarray]:
    from rnnbow_widget.units import unit_contributions

    n, H = len(cache.inputs), g.shape[1]
    block = RecurrentBlock(slice(0, H), cache.h_prev)
    magnitudes = _magnitudes(g, n, k, wrt, norm, cache, block)
    t, j = pair_indices(n, k)
    blocks = [block] if wrt == "W_hh" else None
    return magnitudes, unit_contributions(g, t, j, n, H, blocks, pair_order=pair_order)


def trusted_magnitudes_and_units(
    params: Params,
    cache: Cache,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    *,
    pair_order: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`magnitudes_and_units_from_cache` without checking its arguments.

    For a caller that has checked them once for many chunks, as the trainer does for the
    chunks it records (it made the cache with these float64 ``params``, and checked ``wrt``,
    ``norm`` and ``horizon`` when it was built): the checks are a noticeable part of what
    recording every chunk costs. Wrong arguments give wrong numbers or numpy's errors here.
    Results are identical to the checked function's.
    """
    g, k = _trusted_walk(params, cache, horizon)
    return _magnitudes_and_units(g, cache, k, wrt, norm, pair_order)


def trusted_magnitudes(
    params: Params,
    cache: Cache,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
) -> np.ndarray:
    """:func:`magnitudes_from_cache` without checking its arguments (see
    :func:`trusted_magnitudes_and_units`)."""
    g, k = _trusted_walk(params, cache, horizon)
    block = RecurrentBlock(slice(0, g.shape[1]), cache.h_prev)
    return _magnitudes(g, len(cache.inputs), k, wrt, norm, cache, block)


def _trusted_walk(params: Params, cache: Cache, horizon: int | None) -> tuple[np.ndarray, int]:
    n = len(cache.inputs)
    k = n if horizon is None else min(horizon, n)
    return _walk(_float64_params(params), cache, k), k


def itemized_gradients(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    h0: np.ndarray,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    full: bool = False,
    activation: str = "tanh",
) -> ItemizedGradients:
    """Run the cell over one chunk and itemize the gradient of ``params[wrt]``.

    Parameters
    ----------
    params : dict of np.ndarray
        ``W_xh (H, V)``, ``W_hh (H, H)``, ``W_hy (V, H)``, ``b_h (H,)``, ``b_y (V,)``.
    inputs, targets : np.ndarray
        (n,) integer vocabulary indices.
    h0 : np.ndarray
        (H,) hidden state carried in from the previous chunk.
    wrt : {"W_hh", "W_xh", "b_h"}
        The parameter whose gradient is itemized.
    norm : {"fro", "mean_abs"}
        How each itemized gradient is reduced to one number.
    horizon : int or None
        Keep only pairs with ``t - j < horizon``; None keeps all.
    full : bool
        Also return the itemized gradients themselves, ``(n, n, *params[wrt].shape)``.
        Meant for small teaching models: for ``W_hh`` that is ``n^2 H^2`` numbers.
    activation : {"tanh", "relu"}
        The cell's non-linearity.

    Returns
    -------
    ItemizedGradients

    Examples
    --------
    >>> import numpy as np
    >>> from rnnbow_widget import model
    >>> params = model.init_params(4, 3, np.random.default_rng(0))
    >>> x, y, h0 = np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3)
    >>> result = itemized_gradients(params, x, y, h0, full=True)
    >>> result.magnitudes.shape, result.full.shape
    ((3, 3), (3, 3, 3, 3))
    >>> grads, _ = model.backward(params, model.forward(params, x, y, h0))
    >>> bool(np.allclose(result.gradient, grads["W_hh"], rtol=1e-12, atol=0))
    True
    """
    wrt = _check_choice("wrt", wrt, WRT_CHOICES)
    norm = _check_choice("norm", norm, NORM_CHOICES)
    activation = model.check_activation(activation)
    if not isinstance(full, (bool, np.bool_)):
        raise TypeError(f"full must be True or False, got {full!r}")
    H, V = model.check_params(params)
    inputs = _check_indices("inputs", inputs, V)
    targets = _check_indices("targets", targets, V)
    if targets.shape != inputs.shape:
        raise ValueError(
            f"targets must have the same length as inputs ({inputs.shape[0]}), "
            f"got {targets.shape[0]}"
        )
    h0 = np.asarray(h0, dtype=np.float64)
    if h0.shape != (H,):
        raise ValueError(f"h0 must have shape (H,) = ({H},), got {h0.shape}")
    k = _check_horizon(horizon, len(inputs))

    params = _float64_params(params)
    cache = model.forward(params, inputs, targets, h0, activation=activation)
    g, k, params = _itemized_preactivation_grads(params, cache, horizon)
    n = len(inputs)
    h_prev = cache.h_prev
    blocks = [RecurrentBlock(slice(0, H), h_prev)]
    gradient = summed_gradient(g, n, k, wrt, blocks, inputs, V)

    full_tensor = None
    if full:
        t, j = pair_indices(n, k)
        full_tensor = np.zeros((n, n, *params[wrt].shape))
        if wrt == "W_hh":
            full_tensor[t, j] = g[:, :, None] * h_prev[j][:, None, :]
        elif wrt == "W_xh":
            x = one_hot(inputs, V)
            full_tensor[t, j] = g[:, :, None] * x[j][:, None, :]
        else:
            full_tensor[t, j] = g

    return ItemizedGradients(
        magnitudes=_magnitudes(g, n, k, wrt, norm, cache, blocks[0]),
        gradient=gradient,
        full=full_tensor,
        wrt=wrt,
        norm=norm,
        horizon=horizon,
    )
