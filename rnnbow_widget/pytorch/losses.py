"""The losses' local messages: where the lag walk starts, and the only use of autograd.

Each example's loss at step t reaches the top layer's output ``h_t`` through the user's head
alone, so one backward of the sum of every per-example loss gives each loss's own message
``d_{t,t} = d loss_t / d h_t``. The same forward pass gives the per-example losses and the
predictions that a recorder shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbow_widget.pytorch.arguments import IGNORE_INDEX

__all__ = ["LocalMessages", "local_messages"]


def _in_dtype(head: Any, dtype: torch.dtype) -> Any:
    """``head``, or a copy of it in ``dtype`` when it is a module of another dtype."""
    if not isinstance(head, nn.Module):
        return head
    dtypes = {p.dtype for p in head.parameters() if p.is_floating_point()}
    return head if dtypes <= {dtype} else copy.deepcopy(head).to(dtype)


@dataclass(frozen=True)
class LocalMessages:
    """Where the walk starts: ``d (n, B, H_out)``, each example's message of its own loss at
    step t into ``h_t``; and, from the same forward pass, the per-example losses (n, B), the
    losses that count (n, B) and the predictions (n, B), as numpy arrays."""

    d: Tensor
    losses: np.ndarray
    counted: np.ndarray
    predictions: np.ndarray


def local_messages(
    head: Any, dtype: torch.dtype, out: Tensor, y: Tensor, loss: Any
) -> LocalMessages:
    """``d_{t,t} = d loss_t / d h_t`` for every example: where each loss's walk starts.

    ``head`` (copied to ``dtype`` when it is a module of another dtype) maps the top layer's
    outputs ``out (n, B, H_out)`` to logits; ``loss`` is ``"cross_entropy"`` or the user's
    callable.

    The head acts position by position and each example's loss depends on its own row only,
    so one backward of the sum of every per-example loss gives every loss's own message.
    """
    head = _in_dtype(head, dtype)
    out = out.detach().requires_grad_()
    y = y.to(out.device).clone()  # a normal tensor, even from inference mode (autograd keeps it)
    n, B = out.shape[:2]
    with torch.enable_grad():
        logits = head(out)
        if not isinstance(logits, Tensor) or tuple(logits.shape[:2]) != (n, B):
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ValueError(
                f"head must map the RNN's output (n, B, H_out) = {tuple(out.shape)} to logits "
                f"(n, B, V), position by position; got {got}"
            )
        if loss == "cross_entropy":
            losses, counted = _cross_entropy(logits, y)
        else:
            losses = loss(logits, y)
            if not isinstance(losses, Tensor) or tuple(losses.shape) != (n, B):
                got = tuple(losses.shape) if isinstance(losses, Tensor) else type(losses).__name__
                raise ValueError(
                    f"loss must return per-example losses (n, B) = {(n, B)}, got {got}"
                )
            counted = torch.ones(n, B, dtype=torch.bool)
        (d,) = torch.autograd.grad(losses.sum(), out)  # sum over t and b of loss_{t,b}
    return LocalMessages(
        d=d,
        losses=losses.detach().to("cpu", torch.float64).numpy(),
        counted=counted.cpu().numpy(),
        predictions=logits.detach().argmax(dim=-1).cpu().numpy(),
    )


def _cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(n, B) per-example cross-entropy, and (n, B) True where the target is not ignored."""
    V = logits.shape[-1]
    if y.ndim != 2 or y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise TypeError(
            f"targets must hold integer class indices, (n, B) or (B, n); got a {y.dtype} "
            f"tensor of {y.ndim} dimensions (soft targets need a callable loss)"
        )
    kept = y != IGNORE_INDEX
    bad = kept & ((y < 0) | (y >= V))
    if bool(bad.any()):
        raise ValueError(
            f"targets must hold class indices in [0, {V}) (V from the head's logits) or "
            f"{IGNORE_INDEX} (ignored), got {int(y[bad][0])}"
        )
    losses = F.cross_entropy(
        logits.reshape(-1, V), y.reshape(-1).long(), reduction="none", ignore_index=IGNORE_INDEX
    )
    return losses.reshape(y.shape), kept
