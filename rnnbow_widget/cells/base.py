"""What every cell shares: the softmax output layer, the cache's common part, and the two
interfaces a cell module fills in (:class:`Cell` for training, :class:`LagSteps` for the
itemized-gradient engine).

All cells use the same output layer and loss (``DESIGN.md``, math contract)::

    y_t = softmax(W_hy h_t + b_y)        L_t = -log y_t[target_t]

so the local message of loss t into ``h_t``, where every backward walk starts, is the same
for all of them: ``d_{t,t} = W_hy^T (y_t - onehot(target_t))``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any, Protocol

import numpy as np

Params = dict[str, np.ndarray]

PARAM_NAMES = ("W_xh", "W_hh", "W_hy", "b_h", "b_y")
"""The keys of every cell's parameters; gated cells stack their gates along the rows."""


def softmax_output(
    h: np.ndarray, W_hy: np.ndarray, b_y: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``y_t = softmax(W_hy h_t + b_y)`` and ``L_t = -log y_t[target_t]`` for every step.

    Parameters
    ----------
    h : np.ndarray
        (n, H) hidden states ``h_1 .. h_n``, one per row.
    W_hy, b_y : np.ndarray
        (V, H) and (V,).
    targets : np.ndarray
        (n,) int.

    Returns
    -------
    y : np.ndarray
        (n, V) probabilities.
    losses : np.ndarray
        (n,) cross-entropy of each step.
    """
    logits = h @ W_hy.T + b_y
    logits -= logits.max(axis=1, keepdims=True)  # the same softmax, without overflow
    y = np.exp(logits)
    y /= y.sum(axis=1, keepdims=True)
    losses = -np.log(y[np.arange(len(targets)), targets])
    return y, losses


def output_error(y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(n, V) ``dL_t / d logits_t = y_t - onehot(target_t)``, a new array."""
    dy = y.copy()
    dy[np.arange(len(targets)), targets] -= 1.0
    return dy


def output_errors(cache: Cache, W_hy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where every backward walk starts: ``dy_t = y_t - onehot(target_t)`` (n, V), and the
    local messages ``d_{t,t} = W_hy^T dy_t`` (n, H), loss t's message into ``h_t``."""
    dy = output_error(cache.y, cache.targets)
    return dy, dy @ W_hy


def one_hot(indices: np.ndarray, size: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """(n, size) rows ``x_t`` with a 1 at ``indices[t]``."""
    x = np.zeros((len(indices), size), dtype=dtype)
    x[np.arange(len(indices)), indices] = 1.0
    return x


def zero_state(hidden_size: int, dtype: Any = np.float64) -> np.ndarray:
    """(H,) zeros: ``h_0`` at the start of the text, for cells whose state is ``h`` alone."""
    return np.zeros(hidden_size, dtype=dtype)


def check_vector_state(state0: object, hidden_size: int) -> np.ndarray:
    """``state0`` as an (H,) array ``h_0``, else a ``ValueError`` naming the shape."""
    h0 = np.asarray(state0)
    if h0.shape != (hidden_size,):
        raise ValueError(f"state0 must be h0 of shape (H,) = ({hidden_size},), got {h0.shape}")
    return h0


def parameter_gradients(
    cache: Cache,
    g: np.ndarray,
    dy: np.ndarray,
    blocks: list[RecurrentBlock],
    vocab_size: int,
    out: Params | None = None,
) -> Params:
    """BPTT's gradients from the summed pre-activation gradients and the output errors.

    Parameters
    ----------
    cache : Cache
        The chunk's forward pass.
    g : np.ndarray
        (n, P) ``dL/da_t``, all losses summed (``a_t`` the stacked pre-activations).
    dy : np.ndarray
        (n, V) ``y_t - onehot(target_t)``.
    blocks : list of RecurrentBlock
        Which vector each row block of ``W_hh`` multiplies (the cell's ``recurrent_blocks``).
    vocab_size : int
        V.
    out : dict of np.ndarray, optional
        Arrays shaped like the parameters to write the gradients into (new ones by default).

    Returns
    -------
    dict of np.ndarray
        ``dW_xh = sum_t outer(g_t, x_t)``, ``dW_hh[rows] = sum_t outer(g_t[rows], v_t)`` per
        block, ``dW_hy = sum_t outer(dy_t, h_t)``, ``db_h = sum_t g_t``, ``db_y = sum_t dy_t``.
    """
    if out is None:
        H = blocks[0].vectors.shape[1]
        shapes = {"W_xh": (g.shape[1], vocab_size), "W_hh": (g.shape[1], H)}
        shapes.update({"W_hy": (vocab_size, H), "b_h": (g.shape[1],), "b_y": (vocab_size,)})
        out = {name: np.empty(shape, dtype=g.dtype) for name, shape in shapes.items()}
    np.matmul(g.T, one_hot(cache.inputs, vocab_size, g.dtype), out=out["W_xh"])
    for block in blocks:
        np.matmul(g[:, block.rows].T, block.vectors, out=out["W_hh"][block.rows])
    np.matmul(dy.T, cache.h[1:], out=out["W_hy"])
    np.sum(g, axis=0, out=out["b_h"])
    np.sum(dy, axis=0, out=out["b_y"])
    return out


@dataclass
class Cache:
    """What every cell's forward pass keeps (each cell adds its own fields).

    Attributes
    ----------
    inputs, targets : np.ndarray
        (n,) int vocabulary indices.
    h : np.ndarray
        (n + 1, H) hidden states; ``h[0]`` is the state carried in, ``h[t + 1]`` the state
        after input ``t``.
    y : np.ndarray
        (n, V) softmax outputs.
    losses : np.ndarray
        (n,) per-step cross-entropy ``L_t``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    h: np.ndarray
    y: np.ndarray
    losses: np.ndarray

    @property
    def h_prev(self) -> np.ndarray:
        """(n, H): the state each step starts from, ``h[:-1]``."""
        return self.h[:-1]

    @property
    def predictions(self) -> np.ndarray:
        """(n,) the most likely next symbol at each step."""
        return self.y.argmax(axis=1)

    @property
    def final_state(self) -> np.ndarray:
        """The state to carry into the next chunk (a copy)."""
        return self.h[-1].copy()

    def astype(self, dtype: np.dtype | type) -> Cache:
        """The same cache with every float array in ``dtype`` (itself when they all are)."""
        changes = {
            field.name: value.astype(dtype)
            for field in fields(self)
            if isinstance(value := getattr(self, field.name), np.ndarray)
            and value.dtype.kind == "f"
            and value.dtype != dtype
        }
        return replace(self, **changes) if changes else self


@dataclass(frozen=True)
class RecurrentBlock:
    """Rows of a weight matrix that multiply the same vector at every step.

    The itemized gradient of pair (t, j) restricted to these rows is
    ``outer(g_{t,j}[rows], vectors[j])``; its squared Frobenius norm is
    ``||g_{t,j}[rows]||^2 ||vectors[j]||^2``.

    Attributes
    ----------
    rows : slice
        Rows of the weight (and columns of ``g``) in this block.
    vectors : np.ndarray
        (n, width): the vector the block multiplies at step j (``h_{j-1}`` for ``W_hh``,
        ``r_j * h_{j-1}`` for the GRU's candidate rows, the one-hot ``x_j`` for ``W_xh``, a
        single 1 for ``b_h``).
    """

    rows: slice
    vectors: np.ndarray

    @cached_property
    def squared_norms(self) -> np.ndarray:
        """(n,) ``||vectors[j]||^2`` in float64."""
        v = np.asarray(self.vectors, dtype=np.float64)
        return np.einsum("ij,ij->i", v, v)


class LagSteps(Protocol):
    """What the lag walk needs from a cell for one cached chunk (``rnnbow_widget.engine``).

    A *message* holds one row per live source: at lag L, row j is the message of loss
    ``t = j + L`` into the state after step j. The vanilla cell's message is ``d = dL_t/dh_j``;
    the LSTM's is the pair ``(d, e)`` because its state has two parts.
    """

    def first_message(self, d_local: np.ndarray) -> Any:
        """The lag-0 message from the local messages ``d_{t,t}`` (n, H)."""
        ...

    def to_preactivation(self, message: Any) -> tuple[np.ndarray, Any]:
        """``g`` (m, P): each row's gradient w.r.t. step j's stacked pre-activations, for rows
        ``j = 0 .. m-1``, and anything :meth:`to_previous` reuses."""
        ...

    def to_previous(self, message: Any, g: np.ndarray, carry: Any) -> Any:
        """Rows ``j = 1 .. m-1`` moved one step back, to ``j - 1`` (m - 1 rows)."""
        ...


class Cell(Protocol):
    """The interface of a cell module (``cells.rnn``, ``cells.lstm``, ``cells.gru``)."""

    NAME: str
    GATES: tuple[str, ...]
    ACTIVATIONS: tuple[str, ...]

    def init_params(
        self, vocab_size: int, hidden_size: int, rng: np.random.Generator, init_scale: float = 0.1
    ) -> Params: ...

    def initial_state(self, hidden_size: int, dtype: Any = np.float64) -> np.ndarray: ...

    def check_state(self, state0: object, hidden_size: int) -> np.ndarray: ...

    def forward(
        self,
        params: Params,
        inputs: np.ndarray,
        targets: np.ndarray,
        state0: np.ndarray,
        activation: str = "tanh",
    ) -> Cache: ...

    def backward(self, params: Params, cache: Any) -> Params: ...

    def lag_steps(self, params: Params, cache: Any) -> LagSteps: ...

    def recurrent_blocks(self, cache: Any) -> list[RecurrentBlock]: ...
