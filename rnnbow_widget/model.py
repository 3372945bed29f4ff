"""Vanilla recurrent cell: parameters, forward pass with a cache, ordinary BPTT.

The math follows ``DESIGN.md`` (column-vector notation, min-char-rnn layout)::

    z_t = W_xh x_t + W_hh h_{t-1} + b_h        h_t = act(z_t)
    y_t = softmax(W_hy h_t + b_y)              L_t = -log y_t[target_t]

Arrays are stored one time step per row: ``h[t]`` is the hidden state after step ``t``
with ``h[0] = h0`` the state carried in from the previous chunk, so ``h`` has ``n + 1`` rows.
The forward and backward passes compute in the dtype of the parameters: float64 as drawn by
``init_params``, float32 when the trainer runs with ``dtype="float32"``. The itemized-gradient
engine (``rnnbow_widget.itemize``) always works in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_h", "b_y")
ACTIVATIONS = ("tanh", "relu")

Params = dict[str, np.ndarray]


def check_activation(activation: str) -> str:
    """Return ``activation`` if it is supported, else raise a ``ValueError`` naming the choices."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {ACTIVATIONS}, got {activation!r}; "
            "use 'tanh' (the paper's cell) or 'relu'"
        )
    return activation


def check_params(params: Params) -> tuple[int, int]:
    """Check that ``params`` holds a consistent vanilla cell and return ``(H, V)``.

    Raises
    ------
    TypeError
        If ``params`` is not a mapping of arrays.
    ValueError
        If a key is missing or a shape disagrees with ``W_hh (H, H)``, ``W_xh (H, V)``,
        ``W_hy (V, H)``, ``b_h (H,)``, ``b_y (V,)``.

    Examples
    --------
    >>> check_params(init_params(5, 3, np.random.default_rng(0)))
    (3, 5)
    """
    if not hasattr(params, "keys"):
        raise TypeError(
            f"params must be a dict of numpy arrays with keys {PARAM_NAMES}, "
            f"got {type(params).__name__}"
        )
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; expected the keys {PARAM_NAMES}, "
            f"got {sorted(params.keys())}"
        )
    shapes = {name: np.shape(params[name]) for name in PARAM_NAMES}
    W_hh_shape = shapes["W_hh"]
    if len(W_hh_shape) != 2 or W_hh_shape[0] != W_hh_shape[1]:
        raise ValueError(f"params['W_hh'] must be square (H, H), got shape {W_hh_shape}")
    H = W_hh_shape[0]
    W_xh_shape = shapes["W_xh"]
    if len(W_xh_shape) != 2 or W_xh_shape[0] != H:
        raise ValueError(f"params['W_xh'] must have shape (H, V) = ({H}, V), got {W_xh_shape}")
    V = W_xh_shape[1]
    expected = {"W_hy": (V, H), "b_h": (H,), "b_y": (V,)}
    for name, shape in expected.items():
        if shapes[name] != shape:
            raise ValueError(
                f"params[{name!r}] must have shape {shape} (H={H}, V={V}), got {shapes[name]}"
            )
    return H, V


def init_params(
    vocab_size: int, hidden_size: int, rng: np.random.Generator, init_scale: float = 0.1
) -> Params:
    """Draw initial parameters.

    ``W_xh`` and ``W_hy`` are N(0, 0.01^2) as in min-char-rnn; ``W_hh`` is
    ``init_scale * N(0, 1 / H)``, so its spectral radius is close to ``init_scale``: below 1
    the gradient vanishes back through time, above 1 it can explode. The default 0.1 equals
    min-char-rnn's ``0.01 * randn`` at ``H = 100``.

    Examples
    --------
    >>> p = init_params(5, 3, np.random.default_rng(0))
    >>> p["W_hh"].shape, p["W_xh"].shape, p["W_hy"].shape
    ((3, 3), (3, 5), (5, 3))
    """
    H, V = hidden_size, vocab_size
    return {
        "W_xh": rng.standard_normal((H, V)) * 0.01,
        "W_hh": rng.standard_normal((H, H)) * (init_scale / np.sqrt(H)),
        "W_hy": rng.standard_normal((V, H)) * 0.01,
        "b_h": np.zeros(H),
        "b_y": np.zeros(V),
    }


@dataclass
class Cache:
    """What the forward pass keeps for BPTT and for the itemized-gradient engine.

    Attributes
    ----------
    inputs, targets : (n,) int arrays of vocabulary indices.
    h : (n + 1, H) hidden states, ``h[0]`` is ``h0``.
    dact : (n, H) derivative of the activation at ``z_t`` (``1 - h_t^2`` for tanh).
    p : (n, V) softmax outputs ``y_t``.
    losses : (n,) per-step cross-entropy ``L_t``.
    local : (n, H) or None
        The local messages ``d_{t,t}`` (:func:`local_messages`), kept by :func:`backward`,
        which works them out anyway, so that itemizing the same chunk afterwards does not
        repeat the product. None until then.
    local_W_hy : np.ndarray or None
        The ``W_hy`` array ``local`` was computed with (compared by identity).
    """

    inputs: np.ndarray
    targets: np.ndarray
    h: np.ndarray
    dact: np.ndarray
    p: np.ndarray
    losses: np.ndarray
    local: np.ndarray | None = None
    local_W_hy: np.ndarray | None = None

    @property
    def h_prev(self) -> np.ndarray:
        """(n, H): ``h_{t-1}`` for each step t, i.e. ``h[:-1]``."""
        return self.h[:-1]

    @property
    def predictions(self) -> np.ndarray:
        """(n,) argmax of ``y_t``."""
        return self.p.argmax(axis=1)


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    h0: np.ndarray,
    activation: str = "tanh",
) -> Cache:
    """Run the cell over one chunk and return the cache.

    Only the recurrence is a Python loop; the input projection, the output layer and the
    softmax are batched over all time steps.
    """
    W_xh, W_hh, W_hy = params["W_xh"], params["W_hh"], params["W_hy"]
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    n = len(inputs)
    H = W_hh.shape[0]
    z = W_xh.T[inputs] + params["b_h"]  # (n, H): W_xh x_t + b_h for one-hot x_t
    h = np.empty((n + 1, H), dtype=W_hh.dtype)
    h[0] = h0
    if activation == "tanh":
        nonlinearity = np.tanh
    elif activation == "relu":
        nonlinearity = _relu
    else:
        check_activation(activation)
    # The recurrence is the only loop. Row views are made once and every call writes into
    # preallocated memory (passed positionally, a little cheaper than ``out=``): per step
    # one matrix-vector product, one add, one activation.
    hs = list(h)
    Wh = np.empty(H, dtype=W_hh.dtype)
    dot, add = np.dot, np.add
    for z_t, h_prev, h_t in zip(z, hs[:-1], hs[1:], strict=True):
        dot(W_hh, h_prev, Wh)
        add(z_t, Wh, z_t)
        nonlinearity(z_t, h_t)
    dact = 1.0 - h[1:] * h[1:] if activation == "tanh" else (z > 0).astype(h.dtype)
    logits = h[1:] @ W_hy.T + params["b_y"]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    losses = -np.log(p[np.arange(n), targets])
    return Cache(inputs=inputs, targets=targets, h=h, dact=dact, p=p, losses=losses)


def _relu(z: np.ndarray, out: np.ndarray, /) -> np.ndarray:
    return np.maximum(z, 0.0, out=out)


def output_error(cache: Cache, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """(n, V): ``dL_t / d(logits_t) = y_t - onehot(target_t)``, a new array of ``dtype``."""
    dy = np.array(cache.p, dtype=dtype)
    dy[np.arange(len(cache.targets)), cache.targets] -= 1.0
    return dy


def local_messages(params: Params, cache: Cache) -> np.ndarray:
    """(n, H) float64: ``d_{t,t} = W_hy^T (y_t - onehot(target_t))``, loss t's message into ``h_t``.

    Returns ``cache.local`` when :func:`backward` has kept it in float64 for these same
    ``params`` (the same product, so the same bits), else works it out. Treat it as read-only.
    """
    kept = kept_local_messages(cache, params["W_hy"])
    return output_error(cache) @ params["W_hy"] if kept is None else kept


def kept_local_messages(cache: object, W_hy: np.ndarray) -> np.ndarray | None:
    """``cache.local`` if a cell's ``backward`` kept it in float64 for this ``W_hy`` array.

    Shared by every cell's ``local_messages``: the kept messages are the same product, so
    itemizing with them gives the same bits. None when there is nothing (usable) kept.
    """
    kept = getattr(cache, "local", None)
    if kept is not None and cache.local_W_hy is W_hy and kept.dtype == np.float64:
        return kept
    return None


def backward(params: Params, cache: Cache, out: Params | None = None) -> tuple[Params, np.ndarray]:
    """Ordinary BPTT over the chunk.

    Keeps the local messages it works out on the way in ``cache.local`` (see :class:`Cache`).

    Parameters
    ----------
    params : dict of np.ndarray
        The parameters the cache was computed with.
    cache : Cache
        From :func:`forward`.
    out : dict of np.ndarray, optional
        Float64 arrays shaped like ``params`` (e.g. views into the trainer's flat gradient
        vector) to write the gradients into, as the gated cells' ``backward`` allows: saves
        allocating the weight gradients and copying them into place on every chunk.

    Returns
    -------
    grads : dict with the same keys and shapes as ``params``: ``dL/dW`` for ``L = sum_t L_t``.
    g : (n, H) ``dL/dz_t`` summed over all losses (the total message at each step).
    """
    W_hh, W_hy = params["W_hh"], params["W_hy"]
    dtype = W_hh.dtype
    dy = output_error(cache, dtype)
    local = dy @ W_hy  # (n, H): the local messages d_{t,t}
    cache.local, cache.local_W_hy = local, W_hy  # kept for the itemizer
    n, H = local.shape
    d = np.empty_like(local)  # the total message into h_t
    d[-1] = local[-1]
    dact = cache.dact
    g = np.empty((n, H), dtype=dtype)
    ds, gs, dacts, locals_ = list(d), list(g), list(dact), list(local)
    back = np.empty(H, dtype=dtype)
    dot, multiply, add = np.dot, np.multiply, np.add
    for t in range(n - 1, 0, -1):
        multiply(ds[t], dacts[t], gs[t])  # g_t = act'(z_t) * d_t
        dot(gs[t], W_hh, back)  # W_hh^T g_t
        add(locals_[t - 1], back, ds[t - 1])  # d_{t-1} = d_local_{t-1} + W_hh^T g_t
    np.multiply(ds[0], dacts[0], out=gs[0])
    x = np.zeros((n, params["W_xh"].shape[1]), dtype=dtype)  # one-hot inputs, (n, V)
    x[np.arange(n), cache.inputs] = 1.0
    if out is None:
        out = {name: np.empty(params[name].shape, dtype=dtype) for name in PARAM_NAMES}
    np.matmul(g.T, x, out=out["W_xh"])
    np.matmul(g.T, cache.h_prev, out=out["W_hh"])
    np.matmul(dy.T, cache.h[1:], out=out["W_hy"])
    np.sum(g, axis=0, out=out["b_h"])
    np.sum(dy, axis=0, out=out["b_y"])
    grads = {name: out[name] for name in PARAM_NAMES}
    return grads, g
