r"""LSTM cell: parameters, forward pass with a cache, BPTT, itemized gradients.

The vanilla LSTM (forget gate, no peepholes), column vectors as in ``DESIGN.md``::

    a_t = W_xh x_t + W_hh h_{t-1} + b_h            (4H,), gate blocks [i; f; g; o]
    i_t = sigmoid(a_i)   f_t = sigmoid(a_f)   g_t = tanh(a_g)   o_t = sigmoid(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)
    y_t = softmax(W_hy h_t + b_y)                  L_t = -log y_t[target_t]

Shapes: ``W_xh (4H, V)``, ``W_hh (4H, H)``, ``b_h (4H,)``, ``W_hy (V, H)``, ``b_y (V,)``; the gate
order i, f, g, o is PyTorch's. The state carried between chunks is ``(h, c)``, stored as one
``(2, H)`` array ``[h; c]``.

Backward message (two parts, because the state has two parts). For loss t and step
``j <= t`` let ``d_{t,j} = dL_t/dh_j`` and ``e_{t,j} = dL_t/dc_j`` (all paths)::

    d_{t,t}   = W_hy^T (y_t - onehot(target_t))
    e_{t,j}   = d_{t,j} * o_j * (1 - tanh(c_j)^2)  +  f_{j+1} * e_{t,j+1}   (no 2nd term at j = t)
    g_{t,j}   = [ e_{t,j} * g_j * i_j (1 - i_j) ;          dL_t / da_i
                  e_{t,j} * c_{j-1} * f_j (1 - f_j) ;      dL_t / da_f
                  e_{t,j} * i_j * (1 - g_j^2) ;            dL_t / da_g
                  d_{t,j} * tanh(c_j) * o_j (1 - o_j) ]    dL_t / da_o
    d_{t,j-1} = W_hh^T g_{t,j}
    f_j * e_{t,j}  is the part of e_{t,j-1} that skips the gates (the cell-state path).

The **itemized gradient** of loss t through step j is ``outer(g_{t,j}, h_{j-1})`` for
``W_hh`` (all four gate blocks at once, a ``(4H, H)`` matrix), ``outer(g_{t,j}, x_j)`` for
``W_xh`` and ``g_{t,j}`` for ``b_h``; summed over ``j <= t`` and t it is BPTT's gradient.
Its Frobenius norm is ``||g_{t,j}|| ||h_{j-1}||``. The lag walk (:mod:`.lagwalk`) carries the
messages of one lag as an ``(n - L, 2H)`` pair ``(d, f * e)`` and moves them with one matmul.

Sigmoids are evaluated as ``(1 + tanh(a / 2)) / 2`` so one ``tanh`` per step covers all gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rnnbow_widget.cells import lagwalk
from rnnbow_widget.cells.lagwalk import ItemizedGradients, Params, RecurrentBlock

N_GATES = 4
GATES = ("i", "f", "g", "o")
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
    vocab_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    init_scale: float = 0.1,
    forget_bias: float = 1.0,
) -> Params:
    """Draw initial parameters.

    ``W_xh`` and ``W_hy`` are N(0, 0.01^2) as for the vanilla cell; each gate's block of
    ``W_hh`` is ``init_scale * N(0, 1 / H)``. The forget gate's bias starts at
    ``forget_bias`` (1 by default, so ``f`` starts near 0.73 and the cell state is kept),
    all other biases at 0.

    Parameters
    ----------
    vocab_size : int
        V.
    hidden_size : int
        H.
    rng : np.random.Generator
    init_scale : float
        Scale of the recurrent weights.
    forget_bias : float
        Initial bias of the forget gate.

    Returns
    -------
    dict of np.ndarray
        ``W_xh (4H, V)``, ``W_hh (4H, H)``, ``W_hy (V, H)``, ``b_h (4H,)``, ``b_y (V,)``.

    Examples
    --------
    >>> p = init_params(5, 3, np.random.default_rng(0))
    >>> p["W_hh"].shape, p["W_xh"].shape, p["b_h"][3:6]
    ((12, 3), (12, 5), array([1., 1., 1.]))
    """
    H, V = hidden_size, vocab_size
    b_h = np.zeros(N_GATES * H)
    b_h[H : 2 * H] = forget_bias
    return {
        "W_xh": rng.standard_normal((N_GATES * H, V)) * 0.01,
        "W_hh": rng.standard_normal((N_GATES * H, H)) * (init_scale / np.sqrt(H)),
        "W_hy": rng.standard_normal((V, H)) * 0.01,
        "b_h": b_h,
        "b_y": np.zeros(V),
    }


def initial_state(hidden_size: int) -> np.ndarray:
    """(2, H) zeros: ``[h_0; c_0]`` at the start of the text."""
    return np.zeros((2, hidden_size))


@dataclass
class Cache:
    """What the forward pass keeps for BPTT and for the itemized gradients.

    Attributes
    ----------
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    h : np.ndarray
        (n + 1, H) hidden states, ``h[0] = h_0``.
    c : np.ndarray
        (n + 1, H) cell states, ``c[0] = c_0``.
    gates : np.ndarray
        (n, 4H) gate activations ``[i_t, f_t, g_t, o_t]``.
    tanh_c : np.ndarray
        (n, H) ``tanh(c_t)`` for t = 1..n.
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
    c: np.ndarray
    gates: np.ndarray
    tanh_c: np.ndarray
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
        """(2, H) ``[h_n; c_n]``, the state to carry into the next chunk."""
        state = np.empty((2, self.h.shape[1]), dtype=self.h.dtype)
        state[0] = self.h[-1]
        state[1] = self.c[-1]
        return state


def _check_activation(activation: str) -> None:
    lagwalk.check_choice("activation", activation, ACTIVATIONS)


def _split_state(state0: object, H: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(state0, tuple | list) and len(state0) == 2:
        h0, c0 = (np.asarray(s, dtype=np.float64) for s in state0)
    else:
        state = np.asarray(state0, dtype=np.float64)
        if state.shape != (2, H):
            raise ValueError(
                f"state0 must be (h0, c0) or a (2, H) = (2, {H}) array [h0; c0], "
                f"got shape {state.shape}"
            )
        h0, c0 = state
    if h0.shape != (H,) or c0.shape != (H,):
        raise ValueError(
            f"state0 must be (h0, c0) with h0 and c0 of shape (H,) = ({H},), "
            f"got {h0.shape} and {c0.shape}"
        )
    return h0, c0


@lru_cache(maxsize=8)
def _gate_constants(H: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(4H,) ``scale`` and ``shift`` with ``act(a) = shift + scale * tanh(scale * a)``: the
    sigmoid gates have scale = shift = 0.5, the g block (scale 1, shift 0) is a plain tanh.
    Read-only, cached per H and dtype."""
    scale = np.full(N_GATES * H, 0.5, dtype=dtype)
    scale[2 * H : 3 * H] = 1.0
    shift = np.full(N_GATES * H, 0.5, dtype=dtype)
    shift[2 * H : 3 * H] = 0.0
    scale.flags.writeable = False
    shift.flags.writeable = False
    return scale, shift


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: object,
    activation: str = "tanh",
) -> Cache:
    """Run the LSTM over one chunk and return the cache.

    Only the recurrence is a Python loop; the input projection, the output layer and the
    softmax are batched over all steps.

    Parameters
    ----------
    params : dict of np.ndarray
        From :func:`init_params`.
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    state0 : tuple of np.ndarray or np.ndarray
        ``(h0, c0)``, each (H,), or a (2, H) array ``[h0; c0]``.
    activation : {"tanh"}
        Only ``"tanh"`` (kept for the same signature as the vanilla cell).

    Returns
    -------
    Cache

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
    >>> cache.h.shape, cache.gates.shape, cache.final_state.shape
    ((4, 3), (3, 12), (2, 3))
    """
    _check_activation(activation)
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    H = W_hh.shape[1]
    h0, c0 = _split_state(state0, H)
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    n = len(inputs)
    dtype = W_hh.dtype
    scale, shift = _gate_constants(H, dtype)
    a = W_xh.T[inputs] + params["b_h"]  # (n, 4H): W_xh x_t + b_h for one-hot x_t
    a *= scale
    gates = np.empty((n, N_GATES * H), dtype=dtype)
    h = np.empty((n + 1, H), dtype=dtype)
    c = np.empty((n + 1, H), dtype=dtype)
    tanh_c = np.empty((n, H), dtype=dtype)
    h[0] = h0
    c[0] = c0
    ig = np.empty(H, dtype=dtype)
    # At H = 100 a step is a 4 us matvec plus ~0.4 us per numpy call, and building a view
    # (gates[t], c[t + 1], ...) costs ~0.15 us, so the loop walks zipped row iterators and
    # hands each step's outputs h_{t+1}, c_{t+1} on as the next step's inputs, and all
    # operands are 1-D and contiguous (2-D or broadcast ufunc calls cost ~2x more). The
    # output array is passed positionally: ~0.07 us cheaper per call than ``out=``.
    dot, multiply, add, tanh = np.dot, np.multiply, np.add, np.tanh
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(N_GATES))
    h_prev, c_prev = h[0], c[0]
    for s, a_t, i_t, f_t, g_t, o_t, c_next, tc, h_next in zip(
        gates, a, i, f, g, o, c[1:], tanh_c, h[1:], strict=True
    ):
        dot(W_hh, h_prev, s)  # no per-chunk copies of W_hh: they cost more than this
        multiply(s, scale, s)
        add(s, a_t, s)
        tanh(s, s)  # sigmoid(a) = (1 + tanh(a / 2)) / 2: one tanh for all four gates
        multiply(s, scale, s)
        add(s, shift, s)
        multiply(f_t, c_prev, c_next)
        multiply(i_t, g_t, ig)
        add(c_next, ig, c_next)
        tanh(c_next, tc)
        multiply(o_t, tc, h_next)
        h_prev, c_prev = h_next, c_next
    p, losses = lagwalk.softmax_losses(h[1:], params["W_hy"], params["b_y"], targets)
    return Cache(
        inputs=inputs, targets=targets, h=h, c=c, gates=gates, tanh_c=tanh_c, p=p, losses=losses
    )


local_messages = lagwalk.local_messages


@dataclass(frozen=True)
class _Slopes:
    """Per-step local derivatives (all (n, H) except ``to_ifg``), from the cache (views).

    ``dc = d * h_to_c + e_in``; ``da_o = d * to_o``; ``[da_i; da_f; da_g] = dc * to_ifg``
    with ``to_ifg`` (n, 3, H); ``e`` passed to step j-1 is ``dc * f``.
    """

    h_to_c: np.ndarray
    to_o: np.ndarray
    to_ifg: np.ndarray
    f: np.ndarray


def _slopes(cache: Cache) -> _Slopes:
    n, H = cache.tanh_c.shape
    i, f, g, o = cache.gates.reshape(n, N_GATES, H).transpose(1, 0, 2)
    # sigmoid' = s (1 - s) over all four blocks in two whole-array calls (the g block's entry
    # is overwritten below); the views into `slopes` then take the remaining factors.
    slopes = 1.0 - cache.gates
    slopes *= cache.gates
    blocks = slopes.reshape(n, N_GATES, H)
    to_i, to_f, to_g, to_o = blocks.transpose(1, 0, 2)
    to_i *= g  # da_i = dc * g * i (1 - i)
    to_f *= cache.c[:-1]  # da_f = dc * c_{j-1} * f (1 - f)
    np.multiply(g, g, out=to_g)
    np.subtract(1.0, to_g, out=to_g)
    to_g *= i  # da_g = dc * i (1 - g^2)
    tanh_c = cache.tanh_c
    to_o *= tanh_c  # da_o = d * tanh(c_j) * o (1 - o)
    h_to_c = tanh_c * tanh_c
    np.subtract(1.0, h_to_c, out=h_to_c)
    h_to_c *= o
    return _Slopes(h_to_c=h_to_c, to_o=to_o, to_ifg=blocks[:, :3], f=f)


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
        (n, 4H) ``dL/da_t`` summed over all losses.

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
    >>> grads, g = backward(params, cache)
    >>> grads["W_hh"].shape, g.shape
    ((12, 3), (3, 12))
    """
    W_hh = params["W_hh"]
    dy = lagwalk.output_error(cache.p, cache.targets)
    d = dy @ params["W_hy"]  # (n, H): local messages, then the total message into h_t
    cache.local, cache.local_W_hy = d.copy(), params["W_hy"]  # kept for the itemizer
    n, H = d.shape
    s = _slopes(cache)
    dtype = W_hh.dtype
    g = np.empty((n, N_GATES * H), dtype=dtype)
    g_ifg = g[:, : 3 * H].reshape(n, 3, H)  # a view: [da_i; da_f; da_g] of each step
    dc = np.zeros(H, dtype=dtype)  # f_{t+1} * dL/dc_{t+1}: the cell-state path from step t + 1
    buffer = np.empty(H, dtype=dtype)
    dot, multiply, add = np.dot, np.multiply, np.add
    # Same layout rules as the forward loop (row iterators, positional outputs), and the
    # message d_{t-1} that step t completes is the next step's d_t.
    d_t = d[n - 1]
    steps = zip(
        range(n - 1, -1, -1),
        g[::-1],
        g_ifg[::-1],
        g[::-1, 3 * H :],
        s.h_to_c[::-1],
        s.to_o[::-1],
        s.to_ifg[::-1],
        s.f[::-1],
        strict=True,
    )
    for t, g_t, g_ifg_t, g_o_t, h_to_c_t, to_o_t, to_ifg_t, f_t in steps:
        multiply(d_t, h_to_c_t, buffer)
        add(dc, buffer, dc)  # now dL/dc_t
        multiply(d_t, to_o_t, g_o_t)
        multiply(to_ifg_t, dc, g_ifg_t)  # the one broadcast (3, H) call: cheaper than 3
        if t:
            dot(g_t, W_hh, buffer)  # W_hh^T g_t
            d_t = d[t - 1]
            add(d_t, buffer, d_t)
            multiply(dc, f_t, dc)
    grads = lagwalk.empty_like(params, dtype) if out is None else out
    x = lagwalk.one_hot(cache.inputs, params["W_xh"].shape[1], dtype)
    np.matmul(g.T, x, out=grads["W_xh"])
    np.matmul(g.T, cache.h_prev, out=grads["W_hh"])
    np.matmul(dy.T, cache.h[1:], out=grads["W_hy"])
    np.sum(g, axis=0, out=grads["b_h"])
    np.sum(dy, axis=0, out=grads["b_y"])
    return grads, g


def _walk(params: Params, cache: Cache, k: int) -> np.ndarray:
    """Lag walk of the LSTM: (pair_count(n, k), 4H) itemized ``g_{t,j}``, lag-major."""
    W_hh = params["W_hh"]
    d_local = local_messages(params, cache)
    n, H = d_local.shape
    s = _slopes(cache)

    def to_preactivation(message: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        d, e_in = message
        m = d.shape[0]
        dc = d * s.h_to_c[:m]
        if e_in is not None:
            dc += e_in
        g = np.empty((m, N_GATES * H))
        np.multiply(d, s.to_o[:m], out=g[:, 3 * H :])
        np.multiply(s.to_ifg[:m], dc[:, None, :], out=g[:, : 3 * H].reshape(m, 3, H))
        return g, dc

    def to_previous(
        message: tuple[np.ndarray, np.ndarray], g: np.ndarray, dc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        m = g.shape[0]
        return g[1:] @ W_hh, dc[1:] * s.f[1:m]

    return lagwalk.lag_walk((d_local, None), n, k, N_GATES * H, to_preactivation, to_previous)


def _blocks(cache: Cache, H: int) -> list[RecurrentBlock]:
    return [RecurrentBlock(slice(0, N_GATES * H), cache.h_prev)]  # all gates multiply h_{j-1}


_LAYOUT = lagwalk.CellLayout(
    name="LSTM",
    n_gates=N_GATES,
    cache_type=Cache,
    cache_phrase="an lstm.Cache from lstm.forward",
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
        The parameter (all four gate blocks together) whose gradient is itemized.
    norm : {"fro", "mean_abs"}
        Frobenius norm, or the mean absolute entry over the whole ``(4H, ...)`` array.
    horizon : int or None
        Keep only pairs with ``t - j < horizon`` (others are 0); None keeps all.

    Returns
    -------
    np.ndarray
        (n, n) float64, ``[t, j]`` = size of loss t's gradient through step j, 0 for j > t.

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
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
    state0: object,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    full: bool = False,
) -> ItemizedGradients:
    """Run the LSTM over one chunk and itemize the gradient of ``params[wrt]``.

    Parameters
    ----------
    params : dict of np.ndarray
        From :func:`init_params`.
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    state0 : tuple of np.ndarray or np.ndarray
        ``(h0, c0)`` or a (2, H) array.
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
    >>> x, y, s0 = np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3)
    >>> result = itemized_gradients(params, x, y, s0, full=True)
    >>> result.magnitudes.shape, result.full.shape
    ((3, 3), (3, 3, 12, 3))
    >>> grads, _ = backward(params, forward(params, x, y, s0))
    >>> bool(np.allclose(result.gradient, grads["W_hh"], rtol=1e-12, atol=0))
    True
    """
    return lagwalk.cell_itemized_gradients(
        _LAYOUT, params, inputs, targets, state0, wrt, norm, horizon, full
    )
