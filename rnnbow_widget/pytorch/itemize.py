"""Itemized gradients of a PyTorch ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``: the checked entry
points, the losses' local messages, and the lag walk over the chosen layer and those above it.

``G[t, j]`` is the gradient of the batch loss at step t with respect to the copy of the chosen
weight used at step j, when every step has its own copy. Only the losses' local messages use
autograd (through your ``head``); the rest is the walk of :mod:`rnnbow_widget.engine`, in
torch, on the model's device: pairs ``(t, j)`` grouped by lag ``L = t - j``, one batched step
of each layer's maps (:mod:`rnnbow_widget.pytorch.cells`) per lag and layer.

With a batch, ``G[t, j] = sum_b outer(g_b, v_b)`` (g: the pre-activation gradient of example
b, v: the vector the weight multiplies), so ``||G||_F^2 = sum_{b,c} (g_b . g_c)(v_b . v_c)``:
two (B, B) Gram matrices per pair, and no per-pair ``G H x H`` matrix. Squares and sums are
taken in float64, whatever the model's dtype. One example's own ``G_b[t, j] = outer(g_b, v_b)``
comes out of the same walk: its Frobenius norm is ``||g_b|| ||v_b||``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnbow_widget.checks import check_choice, check_horizon, check_int
from rnnbow_widget.engine import NORM_CHOICES, pair_indices, pair_matrix
from rnnbow_widget.pytorch import arguments, cells, losses
from rnnbow_widget.pytorch.cells import Layer

WRT_CHOICES = ("W_hh", "W_ih", "b_ih", "b_hh")
"""The chosen layer's weights whose gradient can be itemized (PyTorch's ``weight_hh_l{k}``,
``weight_ih_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``)."""

REDUCTIONS = ("sum", "mean")
"""How the per-example losses of one step make the batch loss of that step."""

_MAX_PAIR_ENTRIES = 1 << 22  # float64 entries of per-pair matrices formed at once (32 MiB)

__all__ = [
    "WRT_CHOICES",
    "Itemized",
    "full_gradients",
    "itemize_chunk",
    "itemized_magnitudes",
    "magnitudes_and_units",
]


def itemized_magnitudes(
    rnn: nn.RNNBase,
    head: Callable[[Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
    state0: Any = None,
    *,
    layer: int = -1,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    reduction: str = "sum",
    loss: str | Callable[[Tensor, Tensor], Tensor] = "cross_entropy",
    dtype: torch.dtype | None = None,
    example: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The (n, n) magnitudes of the itemized gradients of one chunk of your PyTorch model.

    ``magnitudes[t, j]`` is the norm of ``G[t, j]``, the gradient of the batch loss at step t
    with respect to the copy of the chosen weight used at step j, when weights are unshared
    across steps. ``G[t, j]`` is zero for ``j > t``; the sum over t and j is autograd's
    gradient of the total loss ``sum_t loss_t``. Nothing of the model changes: not its
    parameters, their ``.grad``, the random number generators nor train/eval mode; it works
    inside ``torch.no_grad()`` and ``torch.inference_mode()``, needs no backward through the
    RNN (cuDNN's or any), and runs on the model's device.

    Parameters
    ----------
    rnn : nn.RNN, nn.LSTM or nn.GRU
        Any ``num_layers``, ``bias``, ``batch_first``, ``nonlinearity`` and (LSTM)
        ``proj_size``; not bidirectional. Dropout between layers is not applied (as in eval
        mode).
    head : callable
        Maps the RNN's output ``(..., H_out)`` to logits ``(..., V)`` position by position
        (usually the model's ``nn.Linear`` decoder). It is called on ``(n, B, H_out)`` as it
        is: a head with dropout or batch norm should be in eval mode.
    inputs : Tensor
        Float, what the RNN receives: ``(n, B, input_size)``, ``(B, n, input_size)`` with
        ``batch_first``, or unbatched ``(n, input_size)``. A ``PackedSequence`` is refused:
        pad it and give padded positions the target -100.
    targets : Tensor
        Int class indices ``(n, B)``, ``(B, n)`` with ``batch_first``, or ``(n,)``; -100
        gives no loss (padding). With a callable ``loss``, anything it takes whose first two
        dimensions are those.
    state0 : Tensor, pair of Tensor, or None
        The initial state in PyTorch's format: ``h0 (num_layers, B, H_out)``, ``(h0, c0)`` for
        the LSTM (``c0 (num_layers, B, hidden_size)``); zeros by default.
    layer : int
        Which layer to itemize (-1: the top one). The losses' messages reach it through the
        layers above.
    wrt : {"W_hh", "W_ih", "b_ih", "b_hh"}
        The weight of that layer, by PyTorch's name without ``_l{k}``.
    norm : {"fro", "mean_abs"}
        Frobenius norm, or the mean absolute entry (the paper's "averaged over hidden nodes";
        with ``B > 1`` it forms each pair's matrix, in chunks: slower).
    horizon : int or None
        Keep only pairs with ``t - j < horizon`` (exact, and cheaper); None keeps all.
    reduction : {"sum", "mean"}
        The batch loss at step t: the sum, or the mean over the examples whose target is not
        ignored, of the per-example losses.
    loss : "cross_entropy" or callable
        ``loss(logits (n, B, V), targets) -> (n, B)`` per-example losses, if not
        cross-entropy.
    dtype : torch.dtype or None
        Compute in this dtype (``torch.float64`` for the last digits; a module ``head`` is
        copied to it); None: the model's. Squares are summed in float64 in any case (in
        float32 the products are taken of messages scaled to at most 1), so tails far below
        float32's smallest square still count.
    example : int or None
        Also size one sequence's own gradients, from the same walk at almost no cost: ``b``
        in ``[0, B)`` (0 for unbatched inputs). ``G_b[t, j]`` is the gradient of that
        sequence's own loss at step t (its per-example loss as it is: not divided by the
        batch size, even with ``reduction="mean"``) with respect to the copy of the weight
        used at step j. With ``reduction="sum"`` the batch's ``G[t, j]`` is the sum over the
        sequences of their ``G_b[t, j]`` (their norms do not add up).

    Returns
    -------
    magnitudes : np.ndarray
        (n, n) float64; zero above the diagonal and beyond the horizon.
    example_magnitudes : np.ndarray
        Only when ``example`` is given (then the two come as a tuple): (n, n) float64, the
        norms of ``G_b[t, j]`` in the same ``norm``, zero where ``magnitudes`` is.

    Raises
    ------
    TypeError, ValueError
        For a bad argument; the message names it.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> lstm, decoder = nn.LSTM(8, 16, num_layers=2), nn.Linear(16, 5)
    >>> x, y = torch.randn(12, 3, 8), torch.randint(0, 5, (12, 3))   # (n, B, ...)
    >>> m = itemized_magnitudes(lstm, decoder, x, y, horizon=5)
    >>> m.shape, bool(m[11, 7] > 0), bool(m[11, 6] == 0)   # 11 - 6 = 5 is beyond the horizon
    ((12, 12), True, True)
    >>> m, mine = itemized_magnitudes(lstm, decoder, x, y, horizon=5, example=2)
    >>> mine.shape, bool(mine[11, 7] > 0)   # sequence 2's own loss at step 11, via step 7
    ((12, 12), True)
    """
    result = itemize_chunk(
        rnn, head, inputs, targets, state0, layer, wrt, norm, horizon, reduction, loss, dtype,
        example=example,
    )  # fmt: skip
    if result.example is None:
        return result.magnitudes
    return result.magnitudes, result.example


def magnitudes_and_units(
    rnn: nn.RNNBase,
    head: Callable[[Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
    state0: Any = None,
    *,
    layer: int = -1,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    reduction: str = "sum",
    loss: str | Callable[[Tensor, Tensor], Tensor] = "cross_entropy",
    dtype: torch.dtype | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`itemized_magnitudes`, and each hidden unit's share of every pair's gradient.

    The arguments are those of :func:`itemized_magnitudes`.

    Returns
    -------
    magnitudes : np.ndarray
        (n, n) float64, as :func:`itemized_magnitudes` gives them.
    units : np.ndarray
        (n, n, hidden_size) float64: unit i owns row i of every gate block of ``G[t, j]``;
        its share is the Frobenius norm of those rows, so that with ``norm="fro"`` the squares
        over units add up to ``magnitudes**2`` (as ``rnnbow_widget.itemize``'s ``units``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> gru = nn.GRU(4, 6, batch_first=True)
    >>> x, y = torch.randn(2, 5, 4), torch.randint(0, 3, (2, 5))   # (B, n, ...)
    >>> m, units = magnitudes_and_units(gru, nn.Linear(6, 3), x, y)
    >>> units.shape, bool(np.allclose((units**2).sum(axis=2), m**2))
    ((5, 5, 6), True)
    """
    result = itemize_chunk(
        rnn, head, inputs, targets, state0, layer, wrt, norm, horizon, reduction, loss, dtype,
        units=True,
    )  # fmt: skip
    assert result.units is not None
    return result.magnitudes, result.units


def full_gradients(
    rnn: nn.RNNBase,
    head: Callable[[Tensor], Tensor],
    inputs: Tensor,
    targets: Tensor,
    state0: Any = None,
    *,
    layer: int = -1,
    wrt: str = "W_hh",
    horizon: int | None = None,
    reduction: str = "sum",
    loss: str | Callable[[Tensor, Tensor], Tensor] = "cross_entropy",
    dtype: torch.dtype | None = None,
) -> np.ndarray:
    """Every itemized gradient ``G[t, j]``, ``(n, n, *weight.shape)`` float64: for small
    teaching models and for checking (``n^2`` times the size of the weight).

    The arguments are those of :func:`itemized_magnitudes` (``norm`` aside). Zero above the
    diagonal and beyond the horizon; with ``horizon=None`` the sum over the first two axes is
    autograd's gradient of the total loss.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> rnn, head = nn.RNN(3, 4), nn.Linear(4, 2)
    >>> x, y = torch.randn(6, 3), torch.randint(0, 2, (6,))   # unbatched (n, ...)
    >>> G = full_gradients(rnn, head, x, y)
    >>> total = nn.functional.cross_entropy(head(rnn(x)[0]), y, reduction="sum")
    >>> (autograd,) = torch.autograd.grad(total, rnn.weight_hh_l0)
    >>> G.shape, bool(np.allclose(G.sum(axis=(0, 1)), autograd.numpy(), atol=1e-6))
    ((6, 6, 4, 4), True)
    """
    result = itemize_chunk(
        rnn, head, inputs, targets, state0, layer, wrt, "fro", horizon, reduction, loss, dtype,
        full=True,
    )  # fmt: skip
    assert result.full is not None
    return result.full


# ----------------------------------------------------------------------------- computing


@dataclass(frozen=True)
class Itemized:
    """Everything one itemization of a chunk gives (:func:`itemize_chunk`).

    Attributes
    ----------
    magnitudes : np.ndarray
        (n, n) float64, as :func:`itemized_magnitudes` gives them.
    example : np.ndarray or None
        (n, n) float64, the example's own magnitudes when one was asked for.
    units, full : np.ndarray or None
        As :func:`magnitudes_and_units` and :func:`full_gradients` give them, when asked for.
    losses : np.ndarray
        (n, B) float64: each example's own loss at each step, from the walk's forward pass
        (0 where the target is ignored).
    counted : np.ndarray
        (n, B) bool: the losses whose target is not ignored.
    predictions : np.ndarray
        (n, B) int64: the argmax of the head's logits.
    """

    magnitudes: np.ndarray
    example: np.ndarray | None
    units: np.ndarray | None
    full: np.ndarray | None
    losses: np.ndarray
    counted: np.ndarray
    predictions: np.ndarray


def itemize_chunk(
    rnn: object,
    head: object,
    inputs: object,
    targets: object,
    state0: object = None,
    layer: object = -1,
    wrt: str = "W_hh",
    norm: str = "fro",
    horizon: int | None = None,
    reduction: str = "sum",
    loss: object = "cross_entropy",
    dtype: object = None,
    *,
    example: object = None,
    units: bool = False,
    full: bool = False,
) -> Itemized:
    """The one computation behind :func:`itemized_magnitudes`, :func:`magnitudes_and_units`
    and :func:`full_gradients` (the arguments are theirs), with what its forward pass gives
    besides: the per-example losses and predictions that a :class:`Recorder` records."""
    rnn = arguments.check_rnn(rnn)
    if not callable(head):
        raise TypeError(f"head must map the RNN's output to logits (a callable), got {head!r}")
    wrt = check_choice("wrt", wrt, WRT_CHOICES)
    norm = check_choice("norm", norm, NORM_CHOICES)
    reduction = check_choice("reduction", reduction, REDUCTIONS)
    loss = arguments.check_loss(loss)
    if wrt in ("b_ih", "b_hh") and not rnn.bias:
        raise ValueError(f"wrt={wrt!r} but rnn has no biases (bias=False): itemize a weight")
    weight = rnn.weight_hh_l0
    dtype = arguments.check_dtype(dtype, weight.dtype)
    chunk = arguments.check_chunk(rnn, inputs, targets, state0, layer)
    lags = check_horizon(horizon, len(chunk.x))
    B = chunk.x.shape[1]
    example = None if example is None else check_int("example", example, minimum=0)
    if example is not None and example >= B:
        raise ValueError(
            f"example={example} is out of range for a batch of {B} sequences: choose one of "
            f"0 .. {B - 1}"
        )
    with _undisturbed(weight.device):
        layers = _forward(rnn, chunk, weight.device, dtype)
        top = losses.local_messages(head, dtype, layers[-1].h[1:], chunk.y, loss)
        walk = _walk(layers, top.d, lags, wrt, norm, rnn.hidden_size, example, units, full)
    # The batch loss at step t weighs every example's own loss by w_t (1, or 1 / count_t),
    # so the batch's G[t, j] is w_t times the sum of the examples' G_b[t, j].
    w = np.ones(len(chunk.x)) if reduction == "sum" else 1.0 / np.maximum(top.counted.sum(1), 1)
    return Itemized(
        magnitudes=walk.magnitudes * w[:, None],
        example=walk.example,
        units=None if walk.units is None else walk.units * w[:, None, None],
        full=None if walk.full is None else walk.full * w.reshape(-1, *[1] * (walk.full.ndim - 1)),
        losses=top.losses,
        counted=top.counted,
        predictions=top.predictions,
    )


@contextmanager
def _undisturbed(device: torch.device) -> Iterator[None]:
    """Leave the user's training as it was: random states restored (a head may draw), no
    autograd graph kept, no autocast, normal tensors even inside ``torch.inference_mode()``."""
    cuda = [device] if device.type == "cuda" else []
    autocast = device.type in ("cpu", "cuda")
    with (
        torch.random.fork_rng(devices=cuda),
        torch.inference_mode(False),
        torch.no_grad(),
        torch.autocast(device.type, enabled=False) if autocast else nullcontext(),
    ):
        yield


def _forward(
    rnn: nn.RNNBase, chunk: arguments.Chunk, device: torch.device, dtype: torch.dtype
) -> list[Layer]:
    """Run every layer up to the top; keep the chosen layer and those above it."""
    x = chunk.x.to(device, dtype)
    kept: list[Layer] = []
    for k in range(rnn.num_layers):
        state = tuple(part.to(device, dtype) for part in chunk.states[k])
        run = cells.run_layer(rnn, cells.layer_weights(rnn, k, dtype), x, state)
        if k >= chunk.layer:
            kept.append(run)
        x = run.h[1:]  # the next layer's input (no dropout)
    return kept


@dataclass(frozen=True)
class _Walked:
    """The walk's sizes, each example's loss counted whole (see :func:`itemize_chunk`)."""

    magnitudes: np.ndarray
    example: np.ndarray | None
    units: np.ndarray | None
    full: np.ndarray | None


def _walk(
    layers: list[Layer],
    d_top: Tensor,
    lags: int,
    wrt: str,
    norm: str,
    H: int,
    example: int | None,
    units: bool,
    full: bool,
) -> _Walked:
    """Walk ``lags`` lags back from every loss through ``layers`` (the chosen one first, the
    top one last) and size the chosen layer's itemized gradients (and example ``example``'s
    own)."""
    chosen = layers[0]
    n, B = d_top.shape[:2]
    v = {"W_hh": chosen.h_prev, "W_ih": chosen.x}.get(wrt, d_top.new_ones(n, B, 1))
    v = v.to(torch.float64)  # (n, B, K): what the weight multiplies at step j
    v_gram = v @ v.transpose(1, 2)  # (n, B, B): v_{j,b} . v_{j,c}
    sizes, own, shares, gradients = [], [], [], []
    messages: list[Any] = [None] * len(layers)
    for lag in range(lags):
        from_above: Tensor | None = d_top if lag == 0 else None  # loss t enters the top at t
        for k in reversed(range(len(layers))):
            if lag == 0:
                messages[k] = layers[k].start(from_above)
            elif from_above is not None:
                messages[k] = layers[k].receive(messages[k], from_above)
            g_ih, g_hh, carry = layers[k].to_preactivation(messages[k])
            from_above = layers[k].to_input(g_ih) if k else None
            if lag + 1 < lags:
                messages[k] = layers[k].to_previous(messages[k], g_hh, carry)
        # the chosen layer's rows j = 0 .. m-1, sources t = j + lag, in the compute dtype
        g = g_hh if wrt in ("W_hh", "b_hh") else g_ih  # (m, B, G H)
        m = len(g)
        sizes.append(_sizes(g, v[:m], v_gram[:m], norm))
        if example is not None:  # G_b = outer(g_b, v_b): the same sizes with B = 1
            b = slice(example, example + 1)
            own.append(_sizes(g[:, b], v[:m, b], v_gram[:m, b, b], norm))
        if units or full:
            g = g.to(torch.float64)
        if units:  # unit i: rows i of every gate block; ||row r||^2 = g_r^T Gram(v) g_r
            rows = (g * (v_gram[:m] @ g)).sum(dim=1)  # (m, G H)
            shares.append(rows.reshape(m, -1, H).sum(dim=1).sqrt())
        if full:
            gradients.append(torch.einsum("mbk,mbi->mki", g, v[:m]))
    t, j = pair_indices(n, lags)
    unit_shares = full_tensor = None
    if units:
        unit_shares = np.zeros((n, n, H))
        unit_shares[t, j] = torch.cat(shares).cpu().numpy()
    if full:
        pairs = torch.cat(gradients).cpu().numpy()
        full_tensor = np.zeros((n, n, *pairs.shape[1:]))
        full_tensor[t, j] = pairs
        if wrt in ("b_ih", "b_hh"):
            full_tensor = full_tensor[..., 0]
    return _Walked(
        magnitudes=pair_matrix(torch.cat(sizes).cpu().numpy(), n, lags),
        example=None if example is None else pair_matrix(torch.cat(own).cpu().numpy(), n, lags),
        units=unit_shares,
        full=full_tensor,
    )


def _sizes(g: Tensor, v: Tensor, v_gram: Tensor, norm: str) -> Tensor:
    """(m,) float64, the norm of ``sum_b outer(g[r, b], v[r, b])`` for every row r: from the
    two Gram matrices (Frobenius), or formed in chunks (mean absolute entry)."""
    if norm == "fro":
        return (_gram(g) * v_gram).sum(dim=(1, 2)).sqrt()
    return _mean_abs(g.to(torch.float64), v)


def _gram(g: Tensor) -> Tensor:
    """(m, B, B) float64: ``g[r, b] . g[r, c]`` for every row r.

    Speed measure: a float32 ``g`` (the model's dtype) is multiplied in float32, three times
    faster than cast to float64 (4.3 against 13 ms for 60 rows of 32 x 1024 messages; about 10
    of a horizon-5 itemization's 77 ms at (H, n, B) = (256, 64, 32)). Each row is first divided
    by its largest entry, so that products of tiny messages (lag >= 20: 1e-27, whose squares
    are 0 in float32) keep their size, and the scale comes back squared in float64. The
    products carry float32's rounding, as the messages themselves do.
    """
    if g.dtype == torch.float64:
        return g @ g.transpose(1, 2)
    scale = g.abs().amax(dim=(1, 2), keepdim=True).clamp_min(torch.finfo(g.dtype).tiny)
    unit = g / scale
    return (unit @ unit.transpose(1, 2)).to(torch.float64) * scale.to(torch.float64) ** 2


def _mean_abs(g: Tensor, v: Tensor) -> Tensor:
    """(m,) the mean absolute entry of ``sum_b outer(g[r, b], v[r, b])`` for every row r."""
    m, B, P = g.shape
    K = v.shape[2]
    if B == 1:  # |outer(g, v)| sums to |g|_1 |v|_1
        return g.abs().sum(dim=(1, 2)) * v.abs().sum(dim=(1, 2)) / (P * K)
    step = max(1, _MAX_PAIR_ENTRIES // (P * K))
    sums = [
        torch.einsum("mbk,mbi->mki", g[s : s + step], v[s : s + step]).abs().sum(dim=(1, 2))
        for s in range(0, m, step)
    ]
    return torch.cat(sums) / (P * K)
