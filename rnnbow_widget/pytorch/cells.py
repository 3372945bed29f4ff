r"""PyTorch's three recurrent layers, exactly as ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` define
them: one layer's forward pass (what the walk needs of it), and the two maps of the lag walk.

PyTorch's row-vector convention; one row per time step, then one per example: ``x (n, B, I)``,
``h (n + 1, B, H_out)`` with ``h[0] = h_0`` and ``h[j + 1]`` the output after input j. Each
layer has ``W_ih (G H, I)``, ``W_hh (G H, H_out)`` and, with ``bias=True``, ``b_ih, b_hh
(G H,)``, the gate blocks stacked along the rows in PyTorch's order::

    nn.RNN    a_j = W_ih x_j + b_ih + W_hh h_{j-1} + b_hh        h_j = act(a_j)  (tanh or relu)

    nn.LSTM   [a_i; a_f; a_g; a_o] = W_ih x_j + b_ih + W_hh h_{j-1} + b_hh
              i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
              c_j = f * c_{j-1} + i * g      m_j = o * tanh(c_j)
              h_j = W_hr m_j  (proj_size > 0; H_out = proj_size),  else h_j = m_j

    nn.GRU    [a_r; a_z; a_n] = W_ih x_j + b_ih,   [s_r; s_z; s_n] = W_hh h_{j-1} + b_hh
              r = sigmoid(a_r + s_r)   z = sigmoid(a_z + s_z)
              n_j = tanh(a_n + r * s_n)                  the reset gate after the matmul
              h_j = (1 - z) * n_j + z * h_{j-1}

(``rnnbow_widget.cells.gru`` is the other GRU variant, ``tanh(W_xn x + W_hn (r * h) + b_n)``.)

Backward. A loss's *message* into step j is ``d = dL/dh_j`` (the LSTM adds ``f_{j+1} e_{j+1}``,
its cell-state path). From it each layer gives ``g_ih = dL/d(W_ih x_j + b_ih)`` and
``g_hh = dL/d(W_hh h_{j-1} + b_hh)``, so that the itemized gradients of the step's copies are
``outer(g_ih, x_j)`` for ``W_ih``, ``outer(g_hh, h_{j-1})`` for ``W_hh``, ``g_ih`` and ``g_hh``
for the biases. They are equal but for the GRU's candidate rows, where ``g_hh = r * g_ih``.
The message moves to step j - 1 through ``W_hh`` (and the cell or update path), and to the layer
below, whose output ``h_j`` is this layer's input ``x_j``, as ``W_ih^T g_ih``.

A message holds one row per live pair: at lag L, row j is loss ``t = j + L``'s message into
step j (shape ``(m, B, H_out)``, ``m = n - L``), as in :mod:`rnnbow_widget.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

MODES = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}
"""``rnn.mode`` of the layers we itemize, and the cell that computes them."""

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
"""G, the number of gate blocks stacked in ``W_ih`` and ``W_hh``."""


@dataclass(frozen=True)
class Weights:
    """One layer's weights, detached and in the computation's dtype (biases None without bias;
    ``W_hr`` only for an LSTM with ``proj_size > 0``)."""

    W_ih: Tensor
    W_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    W_hr: Tensor | None


def layer_weights(rnn: torch.nn.RNNBase, k: int, dtype: torch.dtype) -> Weights:
    """Layer k's weights of ``rnn``, by PyTorch's names (``weight_ih_l{k}``, ...)."""

    def read(name: str) -> Tensor:
        return getattr(rnn, f"{name}_l{k}").detach().to(dtype)

    biases = (read("bias_ih"), read("bias_hh")) if rnn.bias else (None, None)
    W_hr = read("weight_hr") if rnn.proj_size else None
    return Weights(read("weight_ih"), read("weight_hh"), *biases, W_hr)


def affine(v: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
    """``W v + b`` for every row of ``v`` (no ``b`` without bias)."""
    out = v @ W.T
    return out if b is None else out + b


def input_part(w: Weights, x: Tensor) -> Tensor:
    """``W_ih x_j + b_ih + b_hh`` for every step at once: what does not need ``h_{j-1}``
    (``nn.RNN`` and ``nn.LSTM``, whose two biases simply add)."""
    a_x = affine(x, w.W_ih, w.b_ih)
    return a_x if w.b_hh is None else a_x + w.b_hh


# --------------------------------------------------------------------------- nn.RNN


class _LayerRun:
    """What every layer run shares: the vector ``W_hh`` multiplies, and the message that
    goes down into the layer below. (Subclasses are dataclasses with ``weights`` and ``h``.)"""

    weights: Weights
    h: Tensor

    @property
    def h_prev(self) -> Tensor:
        """(n, B, H_out) ``h_{j-1}``, what ``W_hh`` multiplies at step j."""
        return self.h[:-1]

    def to_input(self, g_ih: Tensor) -> Tensor:
        """``W_ih^T g_ih``: the message into ``x_j``, the output of the layer below."""
        return g_ih @ self.weights.W_ih


class _VectorMessage(_LayerRun):
    """A layer whose message into ``h_j`` is one vector, ``d = dL_t/dh_j`` (RNN, GRU)."""

    def start(self, d: Tensor) -> Tensor:
        """The message made of ``d`` alone (lag 0)."""
        return d

    def receive(self, message: Tensor, d: Tensor) -> Tensor:
        """Add ``d`` (from the layer above) to the message into ``h_j``."""
        return message + d


@dataclass(frozen=True)
class RNNLayer(_VectorMessage):
    """An ``nn.RNN`` layer run over one chunk: ``x (n, B, I)``, ``h (n + 1, B, H)`` and
    ``dact (n, B, H) = act'(a_j)``."""

    weights: Weights
    x: Tensor
    h: Tensor
    dact: Tensor

    def to_preactivation(self, d: Tensor) -> tuple[Tensor, Tensor, None]:
        g = self.dact[: len(d)] * d  # g_{t,j} = act'(a_j) * d_{t,j}
        return g, g, None

    def to_previous(self, d: Tensor, g_hh: Tensor, carry: None) -> Tensor:
        return g_hh[1:] @ self.weights.W_hh  # d_{t,j-1} = W_hh^T g_{t,j}


def rnn_forward(w: Weights, x: Tensor, h0: Tensor, relu: bool) -> RNNLayer:
    """Run an ``nn.RNN`` layer (tanh, or relu) over ``x`` from ``h0`` (B, H)."""
    act = torch.relu if relu else torch.tanh
    a_x = input_part(w, x)  # (n, B, H)
    h = x.new_empty((len(x) + 1, *h0.shape))
    h[0] = h0
    for j in range(len(x)):
        h[j + 1] = act(torch.addmm(a_x[j], h[j], w.W_hh.T))  # h_j = act(a_x + W_hh h_{j-1})
    dact = (h[1:] > 0).to(h.dtype) if relu else 1.0 - h[1:] ** 2  # relu' = [a > 0], tanh' = 1 - h^2
    return RNNLayer(w, x, h, dact)


# --------------------------------------------------------------------------- nn.LSTM


@dataclass(frozen=True)
class LSTMLayer(_LayerRun):
    """An ``nn.LSTM`` layer run over one chunk: ``x``, ``h`` (outputs), ``c (n + 1, B, H)``
    with ``c[0] = c_0``, and the local derivatives of each step, each (n, B, H):
    ``m_to_c = dc_j/dm_j`` along ``m = o tanh(c)``, ``to_i, to_f, to_g`` (``da/dc_j``),
    ``to_o`` (``da_o/dm_j``) and the forget gate ``f``."""

    weights: Weights
    x: Tensor
    h: Tensor
    c: Tensor
    m_to_c: Tensor
    to_i: Tensor
    to_f: Tensor
    to_g: Tensor
    to_o: Tensor
    f: Tensor

    def start(self, d: Tensor) -> tuple[Tensor, Tensor]:
        """The message ``(d, 0)``: nothing reaches ``c_j`` from after the loss."""
        return d, torch.zeros(*d.shape[:2], self.c.shape[2], dtype=d.dtype, device=d.device)

    def receive(self, message: tuple[Tensor, Tensor], d: Tensor) -> tuple[Tensor, Tensor]:
        return message[0] + d, message[1]

    def to_preactivation(self, message: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        d, f_e_next = message  # dL/dh_j, and f_{j+1} e_{j+1} along the cell state
        m = len(d)
        dm = d if self.weights.W_hr is None else d @ self.weights.W_hr  # dL/dm_j
        e = dm * self.m_to_c[:m] + f_e_next  # e_{t,j} = dL/dc_j
        g = torch.cat(
            [e * self.to_i[:m], e * self.to_f[:m], e * self.to_g[:m], dm * self.to_o[:m]], dim=-1
        )  # [da_i; da_f; da_g; da_o]
        return g, g, e

    def to_previous(self, message: Any, g_hh: Tensor, e: Tensor) -> tuple[Tensor, Tensor]:
        # (d_{t,j-1}, f_j e_{t,j}) = (W_hh^T g_{t,j}, f_j * e_{t,j})
        return g_hh[1:] @ self.weights.W_hh, e[1:] * self.f[1 : len(e)]


def lstm_forward(w: Weights, x: Tensor, h0: Tensor, c0: Tensor) -> LSTMLayer:
    """Run an ``nn.LSTM`` layer over ``x`` from ``(h0, c0)``, each (B, ·)."""
    a_x = input_part(w, x)  # (n, B, 4H)
    n, H = len(x), c0.shape[-1]
    h = x.new_empty((n + 1, *h0.shape))
    c = x.new_empty((n + 1, *c0.shape))
    gates = x.new_empty((n, c0.shape[0], 4 * H))  # [i, f, g, o] of each step
    h[0], c[0] = h0, c0
    for j in range(n):
        a = torch.addmm(a_x[j], h[j], w.W_hh.T)  # a_x + W_hh h_{j-1}
        a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        gates[j] = torch.cat([i, f, g, o], dim=-1)
        c[j + 1] = f * c[j] + i * g  # c_j = f * c_{j-1} + i * g
        m_j = o * torch.tanh(c[j + 1])  # m_j = o * tanh(c_j)
        h[j + 1] = m_j if w.W_hr is None else m_j @ w.W_hr.T  # h_j = W_hr m_j with a projection
    i, f, g, o = gates.chunk(4, dim=-1)
    tanh_c = torch.tanh(c[1:])
    return LSTMLayer(
        weights=w,
        x=x,
        h=h,
        c=c,
        m_to_c=o * (1.0 - tanh_c**2),
        to_i=g * i * (1.0 - i),
        to_f=c[:-1] * f * (1.0 - f),
        to_g=i * (1.0 - g**2),
        to_o=tanh_c * o * (1.0 - o),
        f=f,
    )


# --------------------------------------------------------------------------- nn.GRU


@dataclass(frozen=True)
class GRULayer(_VectorMessage):
    """An ``nn.GRU`` layer run over one chunk: ``x``, ``h``, and the local derivatives of each
    step, each (n, B, H): ``to_n = dh_j/da_n``, ``to_z = dh_j/da_z``, ``to_r = s_n r (1 - r)``,
    and the gates ``r`` and ``z``."""

    weights: Weights
    x: Tensor
    h: Tensor
    to_n: Tensor
    to_z: Tensor
    to_r: Tensor
    r: Tensor
    z: Tensor

    def to_preactivation(self, d: Tensor) -> tuple[Tensor, Tensor, None]:
        m = len(d)
        g_n = d * self.to_n[:m]  # dL/da_n (the input side of the candidate)
        g_z = d * self.to_z[:m]  # dL/da_z = dL/ds_z
        g_r = g_n * self.to_r[:m]  # dL/da_r = dL/ds_r, through r * s_n
        g_ih = torch.cat([g_r, g_z, g_n], dim=-1)
        g_hh = torch.cat([g_r, g_z, g_n * self.r[:m]], dim=-1)  # dL/ds_n = r * dL/da_n
        return g_ih, g_hh, None

    def to_previous(self, d: Tensor, g_hh: Tensor, carry: None) -> Tensor:
        # d_{t,j-1} = z_j * d_{t,j} + W_hh^T g_hh
        return d[1:] * self.z[1 : len(d)] + g_hh[1:] @ self.weights.W_hh


def gru_forward(w: Weights, x: Tensor, h0: Tensor) -> GRULayer:
    """Run an ``nn.GRU`` layer over ``x`` from ``h0`` (B, H)."""
    a_x = affine(x, w.W_ih, w.b_ih)  # (n, B, 3H): [a_r; a_z; a_n]
    n, H = len(x), h0.shape[-1]
    h = x.new_empty((n + 1, *h0.shape))
    r_z_n = x.new_empty((n, h0.shape[0], 3 * H))
    s_n = x.new_empty((n, *h0.shape))
    h[0] = h0
    for j in range(n):
        a_r, a_z, a_n = a_x[j].chunk(3, dim=-1)
        s_r, s_z, s_nj = affine(h[j], w.W_hh, w.b_hh).chunk(3, dim=-1)  # W_hh h_{j-1} + b_hh
        r, z = torch.sigmoid(a_r + s_r), torch.sigmoid(a_z + s_z)
        n_j = torch.tanh(a_n + r * s_nj)  # n_j = tanh(a_n + r * (W_hn h_{j-1} + b_hn))
        s_n[j] = s_nj
        r_z_n[j] = torch.cat([r, z, n_j], dim=-1)
        h[j + 1] = (1.0 - z) * n_j + z * h[j]  # h_j = (1 - z) * n_j + z * h_{j-1}
    r, z, n_ = r_z_n.chunk(3, dim=-1)
    return GRULayer(
        weights=w,
        x=x,
        h=h,
        to_n=(1.0 - z) * (1.0 - n_**2),
        to_z=(h[:-1] - n_) * z * (1.0 - z),
        to_r=s_n * r * (1.0 - r),
        r=r,
        z=z,
    )


Layer = RNNLayer | LSTMLayer | GRULayer


def run_layer(rnn: torch.nn.RNNBase, w: Weights, x: Tensor, state0: tuple[Tensor, ...]) -> Layer:
    """Run one layer of ``rnn`` (its cell from ``rnn.mode``) over ``x`` from ``state0``."""
    cell = MODES[rnn.mode]
    if cell == "lstm":
        return lstm_forward(w, x, *state0)
    if cell == "gru":
        return gru_forward(w, x, *state0)
    return rnn_forward(w, x, *state0, relu=rnn.mode == "RNN_RELU")
