"""Argument checks of the PyTorch backend: each returns the value in the form the walk uses, or
raises a ``TypeError`` or ``ValueError`` whose message names the argument (as
:mod:`rnnbow_widget.checks` does for the numpy side, whose checks it uses too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbow_widget.checks import check_int
from rnnbow_widget.pytorch import cells

IGNORE_INDEX = -100
"""A target that gives no loss (``F.cross_entropy``'s default ``ignore_index``): padding."""


@dataclass(frozen=True)
class Chunk:
    """The checked arguments: ``x (n, B, input_size)`` and ``y (n, B, ...)`` time-major, the
    initial state of each layer, and the layer to itemize."""

    x: Tensor
    y: Tensor
    states: list[tuple[Tensor, ...]]
    layer: int


def check_rnn(rnn: object) -> nn.RNNBase:
    """``rnn`` if it is a unidirectional ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``."""
    if not isinstance(rnn, nn.RNNBase) or rnn.mode not in cells.MODES:
        raise TypeError(f"rnn must be an nn.RNN, nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    if rnn.bidirectional:
        raise ValueError(
            "rnn must not be bidirectional: itemizing over time needs one direction. In a "
            "bidirectional RNN the loss at step t also reaches the steps after t (through the "
            "reverse direction, with its own weights), so G[t, j] is not zero for j > t and "
            "'how far back the gradient goes' has no single meaning. Itemize a model with "
            "bidirectional=False."
        )
    return rnn


def check_dtype(dtype: object, default: torch.dtype) -> torch.dtype:
    """A torch floating dtype, ``default`` for None."""
    if dtype is None:
        return default
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a torch floating dtype or None, got {dtype!r}")
    return dtype


def check_loss(loss: object) -> str | Callable[[Tensor, Tensor], Tensor]:
    """``"cross_entropy"`` or a callable."""
    if callable(loss):
        return loss  # type: ignore[return-value]
    if loss != "cross_entropy":
        raise ValueError(f"loss must be 'cross_entropy' or a callable, got {loss!r}")
    return loss


def check_chunk(
    rnn: nn.RNNBase, inputs: object, targets: object, state0: object, layer: object
) -> Chunk:
    """The chunk time-major, with the state of each layer and the layer as a non-negative int."""
    if isinstance(inputs, PackedSequence):
        raise TypeError(
            "inputs must be a padded tensor, not a PackedSequence: pad it with "
            "torch.nn.utils.rnn.pad_packed_sequence and give the padded positions the target "
            f"{IGNORE_INDEX} (no loss); the losses before each sequence's end are unchanged"
        )
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
        kind = f"{inputs.dtype} tensor" if isinstance(inputs, Tensor) else type(inputs).__name__
        raise TypeError(f"inputs must be a float tensor (what the RNN receives), got a {kind}")
    layout = "(B, n, input_size)" if rnn.batch_first else "(n, B, input_size)"
    if inputs.ndim not in (2, 3) or inputs.shape[-1] != rnn.input_size or 0 in inputs.shape:
        raise ValueError(
            f"inputs must have shape {layout} or (n, input_size) with input_size = "
            f"{rnn.input_size}, got {tuple(inputs.shape)}"
        )
    batched = inputs.ndim == 3
    x = inputs.transpose(0, 1) if batched and rnn.batch_first else inputs
    x = x if batched else x[:, None]
    if not isinstance(targets, Tensor):
        raise TypeError(f"targets must be a tensor, got {type(targets).__name__}")
    y = targets.transpose(0, 1) if batched and rnn.batch_first and targets.ndim > 1 else targets
    y = y if batched else y[:, None]
    n, B = x.shape[:2]
    if tuple(y.shape[:2]) != (n, B):
        expected = ("(B, n)" if rnn.batch_first else "(n, B)") if batched else "(n,)"
        got = tuple(targets.shape)
        raise ValueError(
            f"targets must have shape {expected} like inputs (n={n}, B={B}), got {got}"
        )
    L = rnn.num_layers
    layer = check_int("layer", layer, -L, L - 1) % L
    return Chunk(x, y, check_state(rnn, state0, B, batched), layer)


def check_state(rnn: nn.RNNBase, state0: object, B: int, batched: bool) -> list[tuple[Tensor, ...]]:
    """``state0`` split by layer: ``[(h0_k,)]`` or ``[(h0_k, c0_k)]``, each (B, ·)."""
    lstm = rnn.mode == "LSTM"
    L, H = rnn.num_layers, rnn.hidden_size
    shapes = [(L, B, rnn.proj_size or H)] + ([(L, B, H)] if lstm else [])
    if state0 is None:
        return [tuple(torch.zeros(shape[1:]) for shape in shapes)] * L
    parts = tuple(state0) if lstm and isinstance(state0, tuple | list) else (state0,)
    if lstm and len(parts) != 2:
        raise TypeError("state0 must be the pair (h0, c0) for an nn.LSTM, or None")
    checked = []
    for name, part, shape in zip(("h0", "c0"), parts, shapes, strict=False):
        if not isinstance(part, Tensor):
            raise TypeError(f"state0's {name} must be a tensor, got {type(part).__name__}")
        if tuple(part.shape) != (shape if batched else shape[::2]):
            expected = f"(num_layers, B, {'H' if name == 'c0' else 'H_out'}) = {shape}"
            if not batched:
                expected = f"(num_layers, {'H' if name == 'c0' else 'H_out'}) = {shape[::2]}"
            raise ValueError(f"state0's {name} must have shape {expected}, got {tuple(part.shape)}")
        checked.append(part if batched else part[:, None])
    return [tuple(part[k] for part in checked) for k in range(L)]
