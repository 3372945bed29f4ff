r"""GRU cell: parameters, forward pass with a cache, BPTT, itemized gradients.

The variant of Cho et al. (2014), with the reset gate applied *before* the recurrent matmul of
the candidate (Keras' ``reset_after=False``; PyTorch's ``nn.GRU`` applies it after)::

    r_t = sigmoid(W_xr x_t + W_hr h_{t-1} + b_r)          reset gate
    z_t = sigmoid(W_xz x_t + W_hz h_{t-1} + b_z)          update gate (keep the old state)
    n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n)     candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    y_t = softmax(W_hy h_t + b_y)                         L_t = -log y_t[target_t]

The gate blocks are stacked along the rows in the order r, z, n (PyTorch's):
``W_xh (3H, V) = [W_xr; W_xz; W_xn]``, ``W_hh (3H, H) = [W_hr; W_hz; W_hn]``,
``b_h (3H,) = [b_r; b_z; b_n]``; ``W_hy (V, H)``, ``b_y (V,)``. No extra keys.

Backward message for loss t and step ``j <= t``, ``d_{t,j} = dL_t/dh_j``::

    d_{t,t}   = W_hy^T (y_t - onehot(target_t))
    g_n       = d_{t,j} * (1 - z_j) * (1 - n_j^2)                       dL_t / da_n
    g_z       = d_{t,j} * (h_{j-1} - n_j) * z_j (1 - z_j)               dL_t / da_z
    q         = W_hn^T g_n                                   dL_t / d(r_j * h_{j-1})
    g_r       = q * h_{j-1} * r_j (1 - r_j)                             dL_t / da_r
    g_{t,j}   = [g_r; g_z; g_n]
    d_{t,j-1} = z_j * d_{t,j} + r_j * q + W_hr^T g_r + W_hz^T g_z

The **itemized gradient** of loss t through step j for ``W_hh`` is the (3H, H) matrix
``[outer(g_r, h_{j-1}); outer(g_z, h_{j-1}); outer(g_n, r_j * h_{j-1})]``: its Frobenius norm
is ``sqrt((||g_r||^2 + ||g_z||^2) ||h_{j-1}||^2 + ||g_n||^2 ||r_j * h_{j-1}||^2)``, found
without forming it. ``W_xh`` gets ``outer(g_{t,j}, x_j)`` and ``b_h`` gets ``g_{t,j}``. In the
lag walk (:mod:`.lagwalk`) one lag costs two matmuls (with ``W_hn``, then ``[W_hr; W_hz]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnbow_widget.cells import lagwalk
from rnnbow_widget.cells.lagwalk import ItemizedGradients, Params, RecurrentBlock

N_GATES = 3
GATES = ("r", "z", "n")
ACTIVATIONS = ("tanh",)

__all__ = [
    "GATES",
    "Cache",
    "backward",
    "forward",
    "init_params",
    "initial_state",
    "itemized_gradients",
    "itemized_magnitudes",
    "local_messages",
]


def init_params(
    vocab_size: int, hidden_size: int, rng: np.random.Generator, init_scale: float = 0.1
) -> Params:
    """Draw initial parameters.

    ``W_xh`` and ``W_hy`` are N(0, 0.01^2) as for the vanilla cell; each gate's block of
    ``W_hh`` is ``init_scale * N(0, 1 / H)``; biases are 0.

    Parameters
    ----------
    vocab_size : int
        V.
    hidden_size : int
        H.
    rng : np.random.Generator
    init_scale : float
        Scale of the recurrent weights.

    Returns
    -------
    dict of np.ndarray
        ``W_xh (3H, V)``, ``W_hh (3H, H)``, ``W_hy (V, H)``, ``b_h (3H,)``, ``b_y (V,)``.

    Examples
    --------
    >>> p = init_params(5, 3, np.random.default_rng(0))
    >>> p["W_hh"].shape, p["W_xh"].shape, p["b_h"].shape
    ((9, 3), (9, 5), (9,))
    """
    H, V = hidden_size, vocab_size
    return {
        "W_xh": rng.standard_normal((N_GATES * H, V)) * 0.01,
        "W_hh": rng.standard_normal((N_GATES * H, H)) * (init_scale / np.sqrt(H)),
        "W_hy": rng.standard_normal((V, H)) * 0.01,
        "b_h": np.zeros(N_GATES * H),
        "b_y": np.zeros(V),
    }


def initial_state(hidden_size: int) -> np.ndarray:
    """(H,) zeros: ``h_0`` at the start of the text."""
    return np.zeros(hidden_size)


@dataclass
class Cache:
    """What the forward pass keeps for BPTT and for the itemized gradients.

    Attributes
    ----------
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    h : np.ndarray
        (n + 1, H) hidden states, ``h[0] = h_0``.
    gates : np.ndarray
        (n, 3H) activations ``[r_t, z_t, n_t]``.
    rh : np.ndarray
        (n, H) ``r_t * h_{t-1}``, the vector ``W_hn`` multiplies.
    p : np.ndarray
        (n, V) softmax outputs ``y_t``.
    losses : np.ndarray
        (n,) per-step cross-entropy ``L_t``.
    local, local_W_hy : np.ndarray or None
        The local messages ``d_{t,t}`` and the ``W_hy`` they were computed with, kept by
        :func:`backward` for the itemizer (``lagwalk.local_messages``); None until then.
    """

    inputs: np.ndarray
    targets: np.ndarray
    h: np.ndarray
    gates: np.ndarray
    rh: np.ndarray
    p: np.ndarray
    losses: np.ndarray
    local: np.ndarray | None = None
    local_W_hy: np.ndarray | None = None

    @property
    def h_prev(self) -> np.ndarray:
        """(n, H): ``h_{t-1}`` for each step t."""
        return self.h[:-1]

    @property
    def predictions(self) -> np.ndarray:
        """(n,) argmax of ``y_t``."""
        return self.p.argmax(axis=1)

    @property
    def final_state(self) -> np.ndarray:
        """(H,) ``h_n``, the state to carry into the next chunk."""
        return self.h[-1].copy()


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: np.ndarray,
    activation: str = "tanh",
) -> Cache:
    """Run the GRU over one chunk and return the cache.

    Only the recurrence is a Python loop; the input projection, the output layer and the
    softmax are batched over all steps.

    Parameters
    ----------
    params : dict of np.ndarray
        From :func:`init_params`.
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    state0 : np.ndarray
        (H,) ``h_0``.
    activation : {"tanh"}
        Only ``"tanh"`` (kept for the same signature as the vanilla cell).

    Returns
    -------
    Cache

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> cache.h.shape, cache.gates.shape, cache.final_state.shape
    ((4, 3), (3, 9), (3,))
    """
    lagwalk.check_choice("activation", activation, ACTIVATIONS)
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    H = W_hh.shape[1]
    h0 = np.asarray(state0, dtype=np.float64)
    if h0.shape != (H,):
        raise ValueError(f"state0 must be h0 of shape (H,) = ({H},), got {h0.shape}")
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    n = len(inputs)
    H2 = 2 * H
    a = W_xh.T[inputs] + params["b_h"]  # (n, 3H): W_xh x_t + b_h for one-hot x_t
    W_rz = W_hh[:H2]  # (2H, H) views: no per-chunk copies
    W_n = W_hh[H2:]  # (H, H)
    dtype = W_hh.dtype
    gates = np.empty((n, N_GATES * H), dtype=dtype)
    h = np.empty((n + 1, H), dtype=dtype)
    rh = np.empty((n, H), dtype=dtype)
    h[0] = h0
    for t in range(n):
        s = gates[t]
        rz = s[:H2]
        np.dot(W_rz, h[t], out=rz)
        rz += a[t, :H2]
        rz *= 0.5  # sigmoid(a) = (1 + tanh(a / 2)) / 2
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        np.multiply(s[:H], h[t], out=rh[t])
        c = s[H2:]
        np.dot(W_n, rh[t], out=c)
        c += a[t, H2:]
        np.tanh(c, out=c)
        np.subtract(h[t], c, out=h[t + 1])  # h_t = n_t + z_t (h_{t-1} - n_t)
        h[t + 1] *= s[H:H2]
        h[t + 1] += c
    p, losses = lagwalk.softmax_losses(h[1:], params["W_hy"], params["b_y"], targets)
    return Cache(inputs=inputs, targets=targets, h=h, gates=gates, rh=rh, p=p, losses=losses)


local_messages = lagwalk.local_messages


@dataclass(frozen=True)
class _Slopes:
    """Per-step local derivatives, each (n, H): ``g_n = d * to_n``, ``g_z = d * to_z``,
    ``g_r = q * to_r``; ``r`` and ``z`` for the message to step j - 1."""

    to_n: np.ndarray
    to_z: np.ndarray
    to_r: np.ndarray
    r: np.ndarray
    z: np.ndarray


def _slopes(cache: Cache) -> _Slopes:
    n, H = cache.rh.shape
    r, z, c = cache.gates.reshape(n, N_GATES, H).transpose(1, 0, 2)
    h_prev = cache.h_prev
    return _Slopes(
        to_n=(1.0 - z) * (1.0 - c * c),
        to_z=(h_prev - c) * z * (1.0 - z),
        to_r=h_prev * r * (1.0 - r),
        r=np.ascontiguousarray(r),
        z=np.ascontiguousarray(z),
    )


def backward(params: Params, cache: Cache, out: Params | None = None) -> tuple[Params, np.ndarray]:
    """Ordinary BPTT over the chunk (the messages of all losses summed).

    Parameters
    ----------
    params : dict of np.ndarray
        The parameters the cache was computed with.
    cache : Cache
        From :func:`forward`.
    out : dict of np.ndarray, optional
        Float64 arrays shaped like ``params`` (e.g. views into one flat buffer) to write the
        gradients into; saves allocating the large weight gradients on every chunk.

    Returns
    -------
    grads : dict of np.ndarray
        Same keys and shapes as ``params``: ``dL/dW`` for ``L = sum_t L_t``.
    g : np.ndarray
        (n, 3H) ``dL/da_t`` summed over all losses (``a_n`` is the candidate's
        pre-activation, with ``r_t * h_{t-1}`` inside).

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> grads, g = backward(params, cache)
    >>> grads["W_hh"].shape, g.shape
    ((9, 3), (3, 9))
    """
    W_hh = params["W_hh"]
    dy = lagwalk.output_error(cache.p, cache.targets)
    d = dy @ params["W_hy"]  # (n, H): local messages, then the total message into h_t
    cache.local, cache.local_W_hy = d.copy(), params["W_hy"]  # kept for the itemizer
    n, H = d.shape
    H2 = 2 * H
    W_n = W_hh[H2:]
    W_rz = W_hh[:H2]
    s = _slopes(cache)
    dtype = W_hh.dtype
    g = np.empty((n, N_GATES * H), dtype=dtype)
    q = np.empty(H, dtype=dtype)
    buffer = np.empty(H, dtype=dtype)
    g_r, g_z, g_n = g[:, :H], g[:, H:H2], g[:, H2:]
    to_n, to_z, to_r, r, z = s.to_n, s.to_z, s.to_r, s.r, s.z
    for t in range(n - 1, -1, -1):
        d_t = d[t]
        np.multiply(d_t, to_n[t], out=g_n[t])
        np.multiply(d_t, to_z[t], out=g_z[t])
        np.dot(g_n[t], W_n, out=q)  # W_hn^T g_n
        np.multiply(q, to_r[t], out=g_r[t])
        if t:
            d_prev = d[t - 1]
            np.multiply(d_t, z[t], out=buffer)
            d_prev += buffer
            np.multiply(q, r[t], out=buffer)
            d_prev += buffer
            np.dot(g[t, :H2], W_rz, out=buffer)  # W_hr^T g_r + W_hz^T g_z
            d_prev += buffer
    grads = lagwalk.empty_like(params, dtype) if out is None else out
    x = lagwalk.one_hot(cache.inputs, params["W_xh"].shape[1], dtype)
    np.matmul(g.T, x, out=grads["W_xh"])
    np.matmul(g[:, :H2].T, cache.h_prev, out=grads["W_hh"][:H2])
    np.matmul(g[:, H2:].T, cache.rh, out=grads["W_hh"][H2:])
    np.matmul(dy.T, cache.h[1:], out=grads["W_hy"])
    np.sum(g, axis=0, out=grads["b_h"])
    np.sum(dy, axis=0, out=grads["b_y"])
    return grads, g


def _walk(params: Params, cache: Cache, k: int) -> np.ndarray:
    """Lag walk of the GRU: (pair_count(n, k), 3H) itemized ``g_{t,j}``, lag-major."""
    W_hh = params["W_hh"]
    d_local = local_messages(params, cache)
    n, H = d_local.shape
    H2 = 2 * H
    W_n = W_hh[H2:]
    W_rz = W_hh[:H2]
    s = _slopes(cache)

    def to_preactivation(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = d.shape[0]
        g = np.empty((m, N_GATES * H))
        g_n = np.multiply(d, s.to_n[:m], out=g[:, H2:])
        np.multiply(d, s.to_z[:m], out=g[:, H:H2])
        q = g_n @ W_n
        np.multiply(q, s.to_r[:m], out=g[:, :H])
        return g, q

    def to_previous(d: np.ndarray, g: np.ndarray, q: np.ndarray) -> np.ndarray:
        m = g.shape[0]
        d_prev = g[1:, :H2] @ W_rz
        d_prev += d[1:] * s.z[1:m]
        d_prev += q[1:] * s.r[1:m]
        return d_prev

    return lagwalk.lag_walk(d_local, n, k, N_GATES * H, to_preactivation, to_previous)


def _blocks(cache: Cache, H: int) -> list[RecurrentBlock]:
    return [
        RecurrentBlock(slice(0, 2 * H), cache.h_prev),  # reset and update gates: h_{j-1}
        RecurrentBlock(slice(2 * H, 3 * H), cache.rh),  # candidate: r_j * h_{j-1}
    ]


_LAYOUT = lagwalk.CellLayout(
    name="GRU",
    n_gates=N_GATES,
    cache_type=Cache,
    cache_phrase="a gru.Cache from gru.forward",
    forward=forward,
    walk=_walk,
    blocks=_blocks,
)


def itemized_magnitudes(
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
        The parameters the cache was computed with.
    cache : Cache
        From :func:`forward`.
    wrt : {"W_hh", "W_xh", "b_h"}
        The parameter (all three gate blocks together) whose gradient is itemized.
    norm : {"fro", "mean_abs"}
        Frobenius norm, or the mean absolute entry over the whole ``(3H, ...)`` array.
    horizon : int or None
        Keep only pairs with ``t - j < horizon`` (others are 0); None keeps all.

    Returns
    -------
    np.ndarray
        (n, n) float64, ``[t, j]`` = size of loss t's gradient through step j, 0 for j > t.

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> m = itemized_magnitudes(params, cache, wrt="b_h", horizon=2)
    >>> m.shape, bool(m[0, 1] == 0), bool(m[2, 0] == 0), bool(m[2, 1] > 0)
    ((3, 3), True, True, True)
    """
    return lagwalk.cell_magnitudes(_LAYOUT, params, cache, wrt, norm, horizon)


def itemized_magnitudes_and_units(
    params: Params,
    cache: Cache,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    *,
    pair_order: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`itemized_magnitudes` plus per-unit contributions, from one lag walk.

    Unit ``i`` owns row ``i`` of every gate block (rows ``i, H + i, ...``); its contribution
    to pair (t, j) is the norm of those rows of the itemized gradient together
    (:mod:`rnnbow_widget.units`), so the squares over units add up to the squared
    Frobenius magnitude.

    Returns
    -------
    magnitudes : np.ndarray
        (n, n).
    units : np.ndarray
        (n (n + 1) / 2, H) packed triangle, row ``t (t + 1) / 2 + j``; with
        ``pair_order=True`` only the walked pairs, in the order of
        ``lagwalk.pair_indices(n, min(horizon, n))`` (what ``UnitStore.put`` keeps).

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
    >>> m, u = itemized_magnitudes_and_units(params, cache)
    >>> u.shape, bool(np.isclose(np.sqrt((u[4] ** 2).sum()), m[2, 1]))
    ((6, 3), True)
    """
    return lagwalk.cell_magnitudes_and_units(_LAYOUT, params, cache, wrt, norm, horizon, pair_order)


def itemized_gradients(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: np.ndarray,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    full: bool = False,
) -> ItemizedGradients:
    """Run the GRU over one chunk and itemize the gradient of ``params[wrt]``.

    Parameters
    ----------
    params : dict of np.ndarray
        From :func:`init_params`.
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    state0 : np.ndarray
        (H,) ``h_0``.
    wrt : {"W_hh", "W_xh", "b_h"}
    norm : {"fro", "mean_abs"}
    horizon : int or None
        Keep only pairs with ``t - j < horizon``; None keeps all.
    full : bool
        Also return every itemized gradient, ``(n, n, *params[wrt].shape)`` (small models).

    Returns
    -------
    ItemizedGradients
        ``.magnitudes`` (n, n), ``.gradient`` (summed; BPTT's when ``horizon=None``),
        ``.full`` or None.

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> x, y, h0 = np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3)
    >>> result = itemized_gradients(params, x, y, h0, full=True)
    >>> result.magnitudes.shape, result.full.shape
    ((3, 3), (3, 3, 9, 3))
    >>> grads, _ = backward(params, forward(params, x, y, h0))
    >>> bool(np.allclose(result.gradient, grads["W_hh"], rtol=1e-12, atol=0))
    True
    """
    return lagwalk.cell_itemized_gradients(
        _LAYOUT, params, inputs, targets, state0, wrt, norm, horizon, full
    )
