r"""The GRU cell: parameters, forward pass, BPTT, and the two maps the itemized-gradient engine
walks with.

The variant of Cho et al. (2014), with the reset gate applied *before* the recurrent matmul
of the candidate (Keras' ``reset_after=False``; PyTorch's ``nn.GRU`` applies it after)::

    r_t = sigmoid(W_xr x_t + W_hr h_{t-1} + b_r)          reset gate
    z_t = sigmoid(W_xz x_t + W_hz h_{t-1} + b_z)          update gate (keep the old state)
    n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n)     candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    y_t = softmax(W_hy h_t + b_y)                         L_t = -log y_t[target_t]

The gate blocks are stacked along the rows in the order r, z, n (PyTorch's):
``W_xh (3H, V) = [W_xr; W_xz; W_xn]``, ``W_hh (3H, H) = [W_hr; W_hz; W_hn]``,
``b_h (3H,) = [b_r; b_z; b_n]``; ``W_hy (V, H)``, ``b_y (V,)``.

Backward, with ``d_t = dL/dh_t``::

    g_n = d_t * (1 - z_t) * (1 - n_t^2)                   dL / da_n
    g_z = d_t * (h_{t-1} - n_t) * z_t (1 - z_t)           dL / da_z
    q   = W_hn^T g_n                                      dL / d(r_t * h_{t-1})
    g_r = q * h_{t-1} * r_t (1 - r_t)                     dL / da_r
    d_{t-1} = W_hy^T (y_{t-1} - onehot(target_{t-1}))
              + z_t * d_t + r_t * q + W_hr^T g_r + W_hz^T g_z

The itemized gradient of loss t through step j for ``W_hh`` is
``[outer(g_r, h_{j-1}); outer(g_z, h_{j-1}); outer(g_n, r_j * h_{j-1})]``: two row blocks with
different vectors (:func:`recurrent_blocks`).

Examples
--------
>>> params = init_params(4, 3, np.random.default_rng(0))
>>> cache = forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), initial_state(3))
>>> cache.gates.shape, backward(params, cache)["W_hh"].shape
((3, 9), (9, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnbow_widget.cells import base
from rnnbow_widget.cells.base import Params, RecurrentBlock
from rnnbow_widget.cells.lstm import sigmoid

NAME = "gru"
GATES = ("r", "z", "n")
ACTIVATIONS = ("tanh",)


def init_params(
    vocab_size: int, hidden_size: int, rng: np.random.Generator, init_scale: float = 0.1
) -> Params:
    """Draw initial parameters: as the vanilla cell's, one ``W_hh`` block per gate; biases 0.

    Examples
    --------
    >>> p = init_params(5, 3, np.random.default_rng(0))
    >>> p["W_hh"].shape, p["W_xh"].shape, p["b_h"].shape
    ((9, 3), (9, 5), (9,))
    """
    H, V = hidden_size, vocab_size
    return {
        "W_xh": rng.standard_normal((3 * H, V)) * 0.01,
        "W_hh": rng.standard_normal((3 * H, H)) * (init_scale / np.sqrt(H)),
        "W_hy": rng.standard_normal((V, H)) * 0.01,
        "b_h": np.zeros(3 * H),
        "b_y": np.zeros(V),
    }


initial_state = base.zero_state  # the state is h alone
check_state = base.check_vector_state


@dataclass
class Cache(base.Cache):
    """A GRU chunk's forward pass: the common fields (:class:`.base.Cache`), the gate values
    ``gates`` (n, 3H), ``[r_t, z_t, n_t]`` per row, and ``rh`` (n, H), ``r_t * h_{t-1}`` (the
    vector ``W_hn`` multiplies)."""

    gates: np.ndarray
    rh: np.ndarray


def forward(
    params: Params,
    inputs: np.ndarray,
    targets: np.ndarray,
    state0: np.ndarray,
    activation: str = "tanh",
) -> Cache:
    """Run the GRU over one chunk and keep what BPTT needs.

    The arguments are those of :func:`rnnbow_widget.cells.rnn.forward`; ``activation`` can only
    be ``"tanh"`` (it is there for the common signature).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    W_xh, W_hh, W_hy, b_h, b_y = (params[name] for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"))
    n, H = len(inputs), W_hh.shape[1]
    W_h_rz, W_hn = W_hh[: 2 * H], W_hh[2 * H :]
    h = np.empty((n + 1, H), dtype=W_hh.dtype)
    h[0] = check_state(state0, H)
    gates = np.empty((n, 3 * H), dtype=W_hh.dtype)
    rh = np.empty((n, H), dtype=W_hh.dtype)
    a_in = W_xh.T[inputs] + b_h  # (n, 3H): W_xh x_t + b_h, the part that does not need h_{t-1}
    for t in range(n):
        gates[t, : 2 * H] = sigmoid(a_in[t, : 2 * H] + W_h_rz.dot(h[t]))  # [r_t; z_t]
        r, z = gates[t, :H], gates[t, H : 2 * H]
        rh[t] = r * h[t]
        gates[t, 2 * H :] = np.tanh(a_in[t, 2 * H :] + W_hn.dot(rh[t]))  # n_t
        h[t + 1] = (1.0 - z) * gates[t, 2 * H :] + z * h[t]  # h_t = (1 - z_t) n_t + z_t h_{t-1}
    y, losses = base.softmax_output(h[1:], W_hy, b_y, targets)
    return Cache(inputs=inputs, targets=targets, h=h, y=y, losses=losses, gates=gates, rh=rh)


@dataclass(frozen=True)
class Slopes:
    """Per-step local derivatives of one chunk, each (n, H): ``g_n = d * to_n``,
    ``g_z = d * to_z``, ``g_r = q * to_r``; ``r`` and ``z`` carry the message to step t - 1."""

    to_n: np.ndarray
    to_z: np.ndarray
    to_r: np.ndarray
    r: np.ndarray
    z: np.ndarray


def slopes(cache: Cache) -> Slopes:
    """The local derivatives BPTT and the lag walk share."""
    n, H = cache.rh.shape
    r, z, c = cache.gates.reshape(n, 3, H).transpose(1, 0, 2)
    h_prev = cache.h_prev
    return Slopes(
        to_n=(1.0 - z) * (1.0 - c * c),
        to_z=(h_prev - c) * z * (1.0 - z),
        to_r=h_prev * r * (1.0 - r),
        r=r,
        z=z,
    )


def backward(params: Params, cache: Cache, out: Params | None = None) -> Params:
    """Ordinary BPTT: ``dL/dW`` for ``L = sum_t L_t``, one array per parameter (written into
    ``out``, arrays shaped like ``params``, when given)."""
    dy, d = base.output_errors(cache, params["W_hy"])  # d: local messages, then all of dL/dh_t
    n, H = d.shape
    W_h_rz, W_hn = params["W_hh"][: 2 * H], params["W_hh"][2 * H :]
    s = slopes(cache)
    g = np.empty((n, 3 * H), dtype=d.dtype)
    for t in range(n - 1, -1, -1):
        g[t, 2 * H :] = d[t] * s.to_n[t]  # g_n
        g[t, H : 2 * H] = d[t] * s.to_z[t]  # g_z
        q = W_hn.T.dot(g[t, 2 * H :])  # q = W_hn^T g_n
        g[t, :H] = q * s.to_r[t]  # g_r
        if t:
            d[t - 1] += s.z[t] * d[t] + s.r[t] * q + W_h_rz.T.dot(g[t, : 2 * H])
    V = params["W_xh"].shape[1]
    return base.parameter_gradients(cache, g, dy, recurrent_blocks(cache), V, out)


@dataclass(frozen=True)
class Steps:
    """The lag walk's two maps for the GRU; a message is ``d = dL_t/dh_j``."""

    W_hh: np.ndarray
    slopes: Slopes

    def first_message(self, d_local: np.ndarray) -> np.ndarray:
        return d_local

    def to_preactivation(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, m, H = self.slopes, len(d), d.shape[1]
        g = np.empty((m, 3 * H))
        g[:, 2 * H :] = d * s.to_n[:m]  # g_n
        g[:, H : 2 * H] = d * s.to_z[:m]  # g_z
        q = g[:, 2 * H :] @ self.W_hh[2 * H :]  # q = W_hn^T g_n
        g[:, :H] = q * s.to_r[:m]  # g_r
        return g, q

    def to_previous(self, d: np.ndarray, g: np.ndarray, q: np.ndarray) -> np.ndarray:
        s, m, H = self.slopes, len(g), d.shape[1]
        return (
            s.z[1:m] * d[1:] + s.r[1:m] * q[1:] + g[1:, : 2 * H] @ self.W_hh[: 2 * H]
        )  # d_{t,j-1} = z_j d + r_j q + W_hr^T g_r + W_hz^T g_z


def lag_steps(params: Params, cache: Cache) -> Steps:
    """The two maps of the lag walk for this chunk."""
    return Steps(W_hh=params["W_hh"], slopes=slopes(cache))


def recurrent_blocks(cache: Cache) -> list[RecurrentBlock]:
    """The reset and update rows of ``W_hh`` multiply ``h_{j-1}``, the candidate's
    ``r_j * h_{j-1}``."""
    H = cache.h.shape[1]
    return [
        RecurrentBlock(slice(0, 2 * H), cache.h_prev),
        RecurrentBlock(slice(2 * H, 3 * H), cache.rh),
    ]
