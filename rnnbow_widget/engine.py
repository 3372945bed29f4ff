"""The itemized-gradient engine: one lag walk for every cell.

Ordinary BPTT adds the messages of all losses together as it walks back, so it only knows
their sum. Here every loss keeps its own message (``DESIGN.md``, math contract; vanilla cell)::

    d_{t,t}   = W_hy^T (y_t - onehot(target_t))     message of loss t into h_t
    g_{t,j}   = act'(z_j) * d_{t,j}                 ... into the pre-activation z_j
    d_{t,j-1} = W_hh^T g_{t,j}                      ... one step further back

and the **itemized gradient** of loss t through step j is ``outer(g_{t,j}, h_{j-1})`` for
``W_hh``, ``outer(g_{t,j}, x_j)`` for ``W_xh`` and ``g_{t,j}`` for ``b_h``. Summed over all pairs
``j <= t`` they give exactly BPTT's gradient. Gated cells have wider messages and stacked
gates (``cells.lstm``, ``cells.gru``); each cell supplies the two maps of the walk
(:class:`~rnnbow_widget.cells.base.LagSteps`) and this module does the rest.

How the walk goes
-----------------
Pairs are grouped by lag ``L = t - j``. At lag L the messages of all sources form one matrix
whose row j belongs to source ``t = j + L``; one matmul with ``W_hh`` moves all of them to
lag L + 1 (dropping the row of step 0, which has nothing before it). A horizon of k costs k
such steps. Norms factorise over outer products (``||outer(g, v)|| = ||g|| ||v||``), so no
``P x H`` matrix is formed unless the full tensors are asked for. Everything is float64: the
vanishing tail (1e-25 and below at lag 20 with small weights) is what the widget shows, and
its squares underflow float32.

This module trusts its arguments; :mod:`rnnbow_widget.itemize` is the checked entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import numpy as np

from rnnbow_widget.cells.base import Cache, Params, RecurrentBlock, one_hot, output_errors

WRT_CHOICES = ("W_hh", "W_xh", "b_h")
"""Parameters whose gradient can be itemized."""

NORM_CHOICES = ("fro", "mean_abs")
"""How one itemized gradient becomes one number: Frobenius norm, or mean absolute entry."""


# ----------------------------------------------------------------------------- pairs


def pair_count(n: int, lags: int) -> int:
    """Number of pairs ``(t, j)`` with ``0 <= j <= t < n`` and ``t - j < lags``."""
    k = min(lags, n)
    return k * n - k * (k - 1) // 2


@lru_cache(maxsize=64)
def pair_indices(n: int, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """``(t, j)`` of every pair in the walk's row order: lag 0 (``j = 0..n-1``), lag 1, ...

    Examples
    --------
    >>> [index.tolist() for index in pair_indices(3, 2)]
    [[0, 1, 2, 1, 2], [0, 1, 2, 0, 1]]
    """
    k = min(lags, n)
    j = np.concatenate([np.arange(n - lag) for lag in range(k)])
    t = j + np.repeat(np.arange(k), n - np.arange(k))
    t.flags.writeable = j.flags.writeable = False
    return t, j


def pair_matrix(values: np.ndarray, n: int, lags: int) -> np.ndarray:
    """(n, n) float64 with ``values[r]`` at the ``(t, j)`` of walk row r; 0 elsewhere."""
    out = np.zeros((n, n))
    out[pair_indices(n, lags)] = values
    return out


# ----------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Walk:
    """The pre-activation gradients ``g_{t,j}`` of every pair with ``t - j < lags``.

    Attributes
    ----------
    g : np.ndarray
        (pair_count(n, lags), P) float64, rows in the order of :func:`pair_indices`.
    n, lags : int
        Chunk length and lags walked (``1 <= lags <= n``).
    blocks : list of RecurrentBlock
        How the rows of ``W_hh`` split by the vector they multiply.
    inputs : np.ndarray
        (n,) the chunk's input indices (the one-hot ``x_j`` of ``W_xh``).
    vocab_size : int
        V.
    """

    g: np.ndarray
    n: int
    lags: int
    blocks: list[RecurrentBlock]
    inputs: np.ndarray
    vocab_size: int

    @property
    def t(self) -> np.ndarray:
        """(pairs,) the source loss of each row."""
        return pair_indices(self.n, self.lags)[0]

    @property
    def j(self) -> np.ndarray:
        """(pairs,) the step of each row."""
        return pair_indices(self.n, self.lags)[1]


def local_messages(params: Params, cache: Cache) -> np.ndarray:
    """(n, H): ``d_{t,t} = W_hy^T (y_t - onehot(target_t))``, loss t's message into ``h_t``."""
    return output_errors(cache, params["W_hy"])[1]


def walk(cell: ModuleType, params: Params, cache: Cache, lags: int) -> Walk:
    """Walk ``lags`` lags back from every loss of a cached chunk, in float64.

    Parameters
    ----------
    cell : module
        The cell that made ``cache`` (``rnnbow_widget.cells.get_cell``).
    params : dict of np.ndarray
        The parameters ``cache`` was computed with (any float dtype).
    cache : Cache
        From ``cell.forward``.
    lags : int
        ``1 <= lags <= n``.

    Examples
    --------
    >>> from rnnbow_widget.cells import rnn
    >>> params = rnn.init_params(4, 3, np.random.default_rng(0))
    >>> cache = rnn.forward(params, np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3))
    >>> walk(rnn, params, cache, lags=2).g.shape  # 3 pairs at lag 0, 2 at lag 1
    (5, 3)
    """
    params = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    cache = cache.astype(np.float64)
    steps = cell.lag_steps(params, cache)
    message = steps.first_message(local_messages(params, cache))
    rows = []
    for lag in range(lags):
        g, carry = steps.to_preactivation(message)
        rows.append(g)
        if lag + 1 < lags:
            message = steps.to_previous(message, g, carry)
    return Walk(
        g=np.concatenate(rows),
        n=len(cache.inputs),
        lags=lags,
        blocks=cell.recurrent_blocks(cache),
        inputs=cache.inputs,
        vocab_size=params["W_xh"].shape[1],
    )


def factors(walk: Walk, wrt: str) -> list[RecurrentBlock]:
    """What the rows of ``g`` multiply for parameter ``wrt``: the itemized gradient of a pair
    is ``outer(g[rows], vectors[j])`` for each block (``b_h``: a vector holding 1)."""
    every_row = slice(0, walk.g.shape[1])
    if wrt == "W_hh":
        return walk.blocks
    if wrt == "W_xh":
        return [RecurrentBlock(every_row, one_hot(walk.inputs, walk.vocab_size))]
    return [RecurrentBlock(every_row, np.ones((walk.n, 1)))]


# ----------------------------------------------------------------------------- what it gives


def magnitudes(walk: Walk, wrt: str, norm: str) -> np.ndarray:
    """(n, n) ``[t, j]`` = size of loss t's itemized gradient of ``wrt`` through step j.

    ``norm="fro"``: ``sqrt(sum over blocks ||g[rows]||^2 ||v_j||^2)``. ``norm="mean_abs"``:
    the mean of the absolute entries, ``sum over blocks |g[rows]|_1 |v_j|_1 / entries``.
    Pairs not walked (above the diagonal, beyond the horizon) are 0.
    """
    size = np.zeros(len(walk.g))
    entries = 0
    for block in factors(walk, wrt):
        g = walk.g[:, block.rows]
        if norm == "fro":
            size += np.einsum("ij,ij->i", g, g) * block.squared_norms[walk.j]
        else:
            size += np.abs(g).sum(axis=1) * np.abs(block.vectors).sum(axis=1)[walk.j]
            entries += g.shape[1] * block.vectors.shape[1]
    size = np.sqrt(size) if norm == "fro" else size / entries
    return pair_matrix(size, walk.n, walk.lags)


def unit_contributions(walk: Walk, wrt: str) -> np.ndarray:
    """(pairs, H): hidden unit i's share of each pair's itemized gradient, walk row order.

    Row r of ``outer(g, v)`` has norm ``|g_r| ||v||``. Unit i owns row i of every gate block
    (rows ``i, H + i, 2H + i, ...``); its share is the norm of those rows together, so that
    with ``norm="fro"`` the squares over units add up to the squared magnitude.
    """
    H = walk.blocks[0].vectors.shape[1]
    rows = np.abs(walk.g)  # then the norm of each row of the itemized gradient
    for block in factors(walk, wrt):
        rows[:, block.rows] *= np.sqrt(block.squared_norms)[walk.j][:, None]
    gates = rows.reshape(len(rows), -1, H)  # (pairs, G, H): unit i's row in each gate block
    if gates.shape[1] == 1:
        return gates[:, 0]
    return np.sqrt(np.square(gates).sum(axis=1))


def summed_gradient(walk: Walk, wrt: str) -> np.ndarray:
    """The sum of every walked pair's itemized gradient, shaped like ``params[wrt]``.

    With every lag walked this is ordinary BPTT's gradient.
    """
    g_sum = one_hot(walk.j, walk.n).T @ walk.g  # row j: the sum over sources t of g_{t,j}
    blocks = factors(walk, wrt)
    gradient = np.empty((walk.g.shape[1], blocks[0].vectors.shape[1]))
    for block in blocks:
        gradient[block.rows] = g_sum[:, block.rows].T @ block.vectors
    return gradient[:, 0] if wrt == "b_h" else gradient


def full_gradients(walk: Walk, wrt: str) -> np.ndarray:
    """``(n, n, *params[wrt].shape)``: every itemized gradient (zero outside the walked pairs).

    ``n^2`` times the size of the parameter: meant for small teaching models.
    """
    t, j = walk.t, walk.j
    blocks = factors(walk, wrt)
    out = np.zeros((walk.n, walk.n, walk.g.shape[1], blocks[0].vectors.shape[1]))
    for block in blocks:
        out[t, j, block.rows] = walk.g[:, block.rows, None] * block.vectors[j][:, None, :]
    return out[..., 0] if wrt == "b_h" else out
