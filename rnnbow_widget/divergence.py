"""Divergence: a step whose loss, gradient or parameters became inf or NaN.

The trainer checks each of the three before it changes anything, so a diverging step is
simply not applied. The error says what to change, and the recording's ``meta["diverged"]``
keeps where it happened (saved with the recording; the widget marks the step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TrainingDivergedError", "diverged", "quiet_numerics"]


class TrainingDivergedError(RuntimeError):
    """A training step produced a non-finite loss, gradient or parameter.

    The trainer has been restored to its state before that step and can keep training once a
    hyper-parameter is changed. The step, the quantity and this message are also kept in
    ``trainer.recording.meta["diverged"]`` (saved with the recording; the widget marks it).

    Attributes
    ----------
    step : int
        Index of the chunk whose update diverged (it was not applied).
    quantity : str
        What became non-finite: ``"loss"``, ``"gradient"`` or ``"parameters"``.
    """

    def __init__(self, message: str, step: int, quantity: str) -> None:
        super().__init__(message)
        self.step = step
        self.quantity = quantity


def diverged(trainer: Any, step: int, quantity: str) -> TrainingDivergedError:
    """The error for ``trainer``'s step ``step``, also noted in its recording's meta.

    Parameters
    ----------
    trainer : CharRNNTrainer
        Read for its hyper-parameters (to say what to change) and its recording.
    step : int
        The chunk whose update was not applied.
    quantity : str
        ``"loss"``, ``"gradient"`` or ``"parameters"``.
    """
    error = TrainingDivergedError(
        f"training diverged at step {step}: the {quantity} became non-finite (inf or "
        f"NaN). The update of step {step} was not applied; parameters, optimizer state, "
        "hidden state and data cursor are as they were before it. To continue, lower the "
        f"learning rate (trainer.learning_rate, now {trainer.learning_rate:g}), enable or "
        f"lower gradient clipping (clip={trainer.clip}, clip_norm={trainer.clip_norm}), "
        f"or start again with a smaller init_scale (now {trainer.init_scale:g}).",
        step=step,
        quantity=quantity,
    )
    trainer.recording.meta["diverged"] = {"step": step, "quantity": quantity, "message": str(error)}
    return error


def quiet_numerics() -> Any:
    """A context without numpy's overflow and invalid-value warnings: a trainer reports them
    as :class:`TrainingDivergedError` instead."""
    return np.errstate(over="ignore", divide="ignore", invalid="ignore")
