r"""The LSTM cell (forget gate, no peepholes): parameters, forward pass, BPTT, and the two maps
the itemized-gradient engine walks with.

Column vectors as in ``DESIGN.md``; the gate order i, f, g, o is PyTorch's::

    a_t = W_xh x_t + W_hh h_{t-1} + b_h            (4H,), blocks [a_i; a_f; a_g; a_o]
    i_t = sigmoid(a_i)   f_t = sigmoid(a_f)   g_t = tanh(a_g)   o_t = sigmoid(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)
    y_t = softmax(W_hy h_t + b_y)                  L_t = -log y_t[target_t]

Shapes: ``W_xh (4H, V)``, ``W_hh (4H, H)``, ``b_h (4H,)``, ``W_hy (V, H)``, ``b_y (V,)``. The state
carried between chunks is ``(h, c)``, one ``(2, H)`` array ``[h; c]``.

Backward. The state has two parts, so the message has two: ``d_t = dL/dh_t`` and
``e_t = dL/dc_t``::

    e_t = d_t * o_t (1 - tanh(c_t)^2)  +  f_{t+1} * e_{t+1}       (the cell-state path)
    g_t = [ e_t * g_t * i_t (1 - i_t) ;                             dL / da_i
            e_t * c_{t-1} * f_t (1 - f_t) ;                         dL / da_f
            e_t * i_t * (1 - g_t^2) ;                               dL / da_g
            d_t * tanh(c_t) * o_t (1 - o_t) ]                       dL / da_o
    d_{t-1} = W_hy^T (y_{t-1} - onehot(target_{t-1})) + W_hh^T g_t

The itemized walk keeps each loss's pair ``(d_{t,j}, f_{j+1} e_{t,j+1})`` apart. The itemized
gradient of loss t through step j for ``W_hh`` is ``outer(g_{t,j}, h_{j-1})`` (all four gate
blocks at once), so its Frobenius norm is ``||g_{t,j}|| ||h_{j-1}||``.

Examples
--------
>>> H, V = 3, 4
>>> params = init_params(V, H, np.random.default_rng(0))
>>> grads = backward(params, forward(params, np.array([0, 1]), np.array([1, 3]), np.zeros((2, H))))
>>> {name: grads[name].shape for name in ("W_hh", "b_h")}
{'W_hh': (12, 3), 'b_h': (12,)}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbow_widget.cells import base
from rnnbow_widget.cells.base import Params, RecurrentBlock

NAME = "lstm"
GATES = ("i", "f", "g", "o")
ACTIVATIONS = ("tanh",)


def init_params(
    vocab_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    init_scale: float = 0.1,
    forget_bias: float = 1.0,
) -> Params:
    """Draw initial parameters.

    ``W_xh`` and ``W_hy`` are N(0, 0.01^2) as for the vanilla cell; each gate's block of
    ``W_hh`` is ``init_scale * N(0, 1 / H)``. The forget gate's bias starts at ``forget_bias``
    (1 by default, so ``f`` starts near 0.73 and the cell state is kept), the others at 0.

    Examples
    --------
    >>> p = init_params(5, 3, np.random.default_rng(0))
    >>> p["W_hh"].shape, p["W_xh"].shape, p["b_h"][3:6]
    ((12, 3), (12, 5), array([1., 1., 1.]))
    """
    H, V = hidden_size, vocab_size
    b_h = np.zeros(4 * H)
    b_h[H : 2 * H] = forget_bias
    return {
        "W_xh": rng.standard_normal((4 * H, V)) * 0.01,
        "W_hh": rng.standard_normal((4 * H, H)) * (init_scale / np.sqrt(H)),
        "W_hy": rng.standard_normal((V, H)) * 0.01,
        "b_h": b_h,
        "b_y": np.zeros(V),
    }


def initial_state(hidden_size: int, dtype: Any = np.float64) -> np.ndarray:
    """(2, H) zeros: ``[h_0; c_0]`` at the start of the text."""
    return np.zeros((2, hidden_size), dtype=dtype)


def check_state(state0: object, hidden_size: int) -> np.ndarray:
    """``state0`` as a (2, H) array ``[h_0; c_0]``; a pair ``(h0, c0)`` is stacked."""
    try:
        state = np.asarray(state0)  # a pair of (H,) arrays stacks to (2, H)
    except ValueError:  # parts of different lengths
        state = np.empty(0)
    if state.shape != (2, hidden_size):
        raise ValueError(
            f"state0 must be (h0, c0) or a (2, H) = (2, {hidden_size}) array [h0; c0], "
            f"got {state.shape}"
        )
    return state


@dataclass
class Cache(base.Cache):
    """An LSTM chunk's forward pass: the common fields (:class:`.base.Cache`), the cell states
    ``c`` (n + 1, H) with ``c[0] = c_0``, and the gate values ``gates`` (n, 4H),
    ``[i_t, f_t, g_t, o_t]`` per row."""

    c: np.ndarray
    gates: np.ndarray

    @property
    def final_state(self) -> np.ndarray:
        """(2, H) ``[h_n; c_n]``, the state to carry into the next chunk."""
        return np.stack([self.h[-1], self.c[-1]])


def sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))``, computed as ``(1 + tanh(a / 2)) / 2`` (no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def gate_scale_shift(hidden_size: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(4H,) ``scale`` and ``shift`` with ``gates = shift + scale * tanh(scale * a)``."""
    H = hidden_size
    scale = np.full(4 * H, 0.5, dtype=dtype)
    shift = np.full(4 * H, 0.5, dtype=dtype)
    scale[2 * H : 3 * H], shift[2 * H : 3 * H] = 1.0, 0.0
    return scale, shift


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: object,
    activation: str = "tanh",
) -> Cache:
    """Run the LSTM over one chunk and keep what BPTT needs.

    The arguments are those of :func:`rnnbow_widget.cells.rnn.forward`, but ``state0`` is
    ``[h0; c0]``, a (2, H) array (or the pair ``(h0, c0)``), and ``activation`` can only be
    ``"tanh"`` (it is there for the common signature).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    W_xh, W_hh, W_hy, b_h, b_y = (params[name] for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"))
    n, H = len(inputs), W_hh.shape[1]
    h = np.empty((n + 1, H), dtype=W_hh.dtype)
    c = np.empty((n + 1, H), dtype=W_hh.dtype)
    h[0], c[0] = check_state(state0, H)
    gates = np.empty((n, 4 * H), dtype=W_hh.dtype)
    i_f_g_o = gates.reshape(n, 4, H)  # a view: the four gates of each step
    # sigmoid(a) = (1 + tanh(a / 2)) / 2, so one tanh gives all four gates: shift + scale *
    # tanh(scale * a) with scale = shift = 1/2 in the sigmoid blocks i, f, o, and scale = 1,
    # shift = 0 in the tanh block g.
    scale, shift = gate_scale_shift(H, W_hh.dtype)
    a_in = W_xh.T[inputs] + b_h  # (n, 4H): W_xh x_t + b_h, the part that does not need h_{t-1}
    for t in range(n):
        a = a_in[t] + W_hh.dot(h[t])  # a_t = W_xh x_t + W_hh h_{t-1} + b_h
        gates[t] = shift + scale * np.tanh(scale * a)  # i_t, f_t, g_t, o_t
        i, f, g, o = i_f_g_o[t]
        c[t + 1] = f * c[t] + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
        h[t + 1] = o * np.tanh(c[t + 1])  # h_t = o_t * tanh(c_t)
    y, losses = base.softmax_output(h[1:], W_hy, b_y, targets)
    return Cache(inputs=inputs, targets=targets, h=h, y=y, losses=losses, c=c, gates=gates)


@dataclass(frozen=True)
class Slopes:
    """Per-step local derivatives of one chunk, each (n, H) but ``to_ifg`` (n, 3, H).

    ``e_t = d_t * h_to_c_t + f_{t+1} e_{t+1}``; ``[da_i; da_f; da_g] = to_ifg_t * e_t``;
    ``da_o = d_t * to_o_t``; the cell-state path passes ``f_t * e_t`` to step t - 1.
    """

    h_to_c: np.ndarray
    to_ifg: np.ndarray
    to_o: np.ndarray
    f: np.ndarray


def slopes(cache: Cache) -> Slopes:
    """The local derivatives BPTT and the lag walk share."""
    n, H = cache.gates.shape[0], cache.h.shape[1]
    i, f, g, o = cache.gates.reshape(n, 4, H).transpose(1, 0, 2)
    tanh_c = np.tanh(cache.c[1:])
    to_i = g * i * (1.0 - i)  # da_i / dc_t
    to_f = cache.c[:-1] * f * (1.0 - f)  # da_f / dc_t
    to_g = i * (1.0 - g * g)  # da_g / dc_t
    return Slopes(
        h_to_c=o * (1.0 - tanh_c * tanh_c),  # dc_t / dh_t along h_t = o_t tanh(c_t)
        to_ifg=np.stack([to_i, to_f, to_g], axis=1),
        to_o=tanh_c * o * (1.0 - o),  # da_o / dh_t
        f=f,
    )


def backward(params: Params, cache: Cache, out: Params | None = None) -> Params:
    """Ordinary BPTT: ``dL/dW`` for ``L = sum_t L_t``, one array per parameter (written into
    ``out``, arrays shaped like ``params``, when given)."""
    dy, d = base.output_errors(cache, params["W_hy"])  # d: local messages, then all of dL/dh_t
    W_hh, s = params["W_hh"], slopes(cache)
    n, H = d.shape
    g = np.empty((n, 4, H), dtype=d.dtype)  # g[t] = [da_i; da_f; da_g; da_o] of step t
    e_next = np.zeros(H, dtype=d.dtype)  # f_{t+1} * e_{t+1}: the cell-state path from t + 1
    for t in range(n - 1, -1, -1):
        e = d[t] * s.h_to_c[t] + e_next  # e_t = dL/dc_t
        g[t, :3] = s.to_ifg[t] * e  # [da_i; da_f; da_g]
        g[t, 3] = d[t] * s.to_o[t]  # da_o
        if t:
            d[t - 1] += W_hh.T.dot(g[t].ravel())  # d_{t-1} += W_hh^T g_t
        e_next = e * s.f[t]
    g = g.reshape(n, 4 * H)
    V = params["W_xh"].shape[1]
    return base.parameter_gradients(cache, g, dy, recurrent_blocks(cache), V, out)


@dataclass(frozen=True)
class Steps:
    """The lag walk's two maps for the LSTM; a message is the pair ``(d, f * e)``."""

    W_hh: np.ndarray
    slopes: Slopes

    def first_message(self, d_local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return d_local, np.zeros_like(d_local)  # nothing reaches c_t from after loss t

    def to_preactivation(
        self, message: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        d, e_in = message
        s, m, H = self.slopes, len(d), d.shape[1]
        e = d * s.h_to_c[:m] + e_in  # e_{t,j} = dL_t/dc_j
        g = np.empty((m, 4 * H))
        g[:, : 3 * H] = (s.to_ifg[:m] * e[:, None, :]).reshape(m, 3 * H)
        g[:, 3 * H :] = d * s.to_o[:m]
        return g, e

    def to_previous(
        self, message: tuple[np.ndarray, np.ndarray], g: np.ndarray, e: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        m = len(g)
        return g[1:] @ self.W_hh, e[1:] * self.slopes.f[1:m]  # (d_{t,j-1}, f_j e_{t,j})


def lag_steps(params: Params, cache: Cache) -> Steps:
    """The two maps of the lag walk for this chunk."""
    return Steps(W_hh=params["W_hh"], slopes=slopes(cache))


def recurrent_blocks(cache: Cache) -> list[RecurrentBlock]:
    """All four gate blocks of ``W_hh`` multiply ``h_{j-1}``: one block."""
    return [RecurrentBlock(slice(0, cache.gates.shape[1]), cache.h_prev)]
