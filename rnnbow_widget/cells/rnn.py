"""The vanilla recurrent cell (the paper's): parameters, forward pass, BPTT, and the two maps
the itemized-gradient engine walks with.

Column vectors, as in min-char-rnn and ``DESIGN.md``; steps t = 1..n::

    z_t = W_xh x_t + W_hh h_{t-1} + b_h        h_t = act(z_t)        act = tanh or relu
    y_t = softmax(W_hy h_t + b_y)              L_t = -log y_t[target_t]

Shapes: ``W_xh (H, V)``, ``W_hh (H, H)``, ``W_hy (V, H)``, ``b_h (H,)``, ``b_y (V,)``; ``x_t`` is
one-hot, so ``W_xh x_t`` is column ``inputs[t]`` of ``W_xh``. Arrays hold one step per row,
0-based: ``h[0]`` is ``h_0`` (carried in from the previous chunk), ``h[t + 1]`` the state after
input ``t``. Only the recurrence is a Python loop; everything else is batched over the chunk.
In the loops, ``A.dot(v)`` is ``A @ v`` (a few microseconds less per step for small vectors).

Backward (BPTT). ``d_t = dL/dh_t`` collects the messages of every loss at step t::

    d_t = W_hy^T (y_t - onehot(target_t)) + W_hh^T g_{t+1}       g_t = act'(z_t) * d_t

and the gradients are ``dW_hh = sum_t outer(g_t, h_{t-1})``, ``dW_xh = sum_t outer(g_t, x_t)``,
``db_h = sum_t g_t``. The itemized walk keeps each loss's message apart instead
(:mod:`rnnbow_widget.engine`): ``g_{t,j} = act'(z_j) * d_{t,j}``, ``d_{t,j-1} = W_hh^T g_{t,j}``.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> params = init_params(vocab_size=4, hidden_size=3, rng=rng)
>>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
>>> cache.h.shape, cache.y.shape, backward(params, cache)["W_hh"].shape
((4, 3), (3, 4), (3, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnbow_widget.cells import base
from rnnbow_widget.cells.base import Params, RecurrentBlock

NAME = "rnn"
GATES = ("h",)
ACTIVATIONS = ("tanh", "relu")


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


initial_state = base.zero_state  # the state is h alone
check_state = base.check_vector_state


@dataclass
class Cache(base.Cache):
    """The forward pass of one chunk (see :class:`rnnbow_widget.cells.base.Cache`), plus:

    Attributes
    ----------
    dact : np.ndarray
        (n, H) ``act'(z_t)``: ``1 - h_t^2`` for tanh, ``1`` where ``z_t > 0`` for relu.
    """

    dact: np.ndarray


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: np.ndarray,
    activation: str = "tanh",
) -> Cache:
    """Run the cell over one chunk and keep what BPTT needs.

    Parameters
    ----------
    params : dict of np.ndarray
        ``W_xh, W_hh, W_hy, b_h, b_y`` (float64, or float32 for a single-precision run).
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    state0 : np.ndarray
        (H,) ``h_0``.
    activation : {"tanh", "relu"}
        The non-linearity ``act``.

    Returns
    -------
    Cache
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    act = np.tanh if activation == "tanh" else relu
    W_xh, W_hh, W_hy, b_h, b_y = (params[name] for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"))
    n, H = len(inputs), W_hh.shape[0]
    h = np.empty((n + 1, H), dtype=W_hh.dtype)
    h[0] = state0
    x_part = W_xh.T[inputs] + b_h  # (n, H): W_xh x_t + b_h, the part that does not need h_{t-1}
    for t, x_t in enumerate(x_part):
        h[t + 1] = act(x_t + W_hh.dot(h[t]))  # h_t = act(W_xh x_t + W_hh h_{t-1} + b_h)
    # act'(z_t) from h_t: tanh' = 1 - tanh^2; relu' = 1 where relu(z) > 0.
    dact = 1.0 - h[1:] ** 2 if activation == "tanh" else (h[1:] > 0).astype(h.dtype)
    y, losses = base.softmax_output(h[1:], W_hy, b_y, targets)
    return Cache(inputs=inputs, targets=targets, h=h, y=y, losses=losses, dact=dact)


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)``, element-wise."""
    return np.maximum(z, 0.0)


def backward(params: Params, cache: Cache, out: Params | None = None) -> Params:
    """Ordinary BPTT: ``dL/dW`` for ``L = sum_t L_t``, one array per parameter.

    ``out`` (optional) holds arrays shaped like ``params`` to write the gradients into.

    Examples
    --------
    >>> params = init_params(4, 3, np.random.default_rng(0))
    >>> cache = forward(params, np.array([0, 1]), np.array([1, 2]), initial_state(3))
    >>> sorted(backward(params, cache))
    ['W_hh', 'W_hy', 'W_xh', 'b_h', 'b_y']
    """
    W_hh, dact = params["W_hh"], cache.dact
    dy, d = base.output_errors(cache, params["W_hy"])  # d: the local messages, then dL/dh_t
    for t in range(len(d) - 1, 0, -1):
        d[t - 1] += W_hh.T.dot(dact[t] * d[t])  # d_{t-1} += W_hh^T g_t, g_t = act'(z_t) d_t
    g = dact * d  # g_t = act'(z_t) * d_t
    V = params["W_xh"].shape[1]
    return base.parameter_gradients(cache, g, dy, recurrent_blocks(cache), V, out)


@dataclass(frozen=True)
class Steps:
    """The lag walk's two maps for the vanilla cell: ``g = act'(z_j) * d``, ``d' = W_hh^T g``."""

    W_hh: np.ndarray
    dact: np.ndarray

    def first_message(self, d_local: np.ndarray) -> np.ndarray:
        return d_local

    def to_preactivation(self, d: np.ndarray) -> tuple[np.ndarray, None]:
        return self.dact[: len(d)] * d, None  # g_{t,j} = act'(z_j) * d_{t,j}

    def to_previous(self, d: np.ndarray, g: np.ndarray, carry: None) -> np.ndarray:
        return g[1:] @ self.W_hh  # d_{t,j-1} = W_hh^T g_{t,j}, one row per source


def lag_steps(params: Params, cache: Cache) -> Steps:
    """The two maps of the lag walk for this chunk."""
    return Steps(W_hh=params["W_hh"], dact=cache.dact)


def recurrent_blocks(cache: Cache) -> list[RecurrentBlock]:
    """``W_hh`` multiplies ``h_{j-1}`` at step j: one block."""
    return [RecurrentBlock(slice(0, cache.h.shape[1]), cache.h_prev)]
