"""Record: one recorded chunk, read from its recording."""

from __future__ import annotations

import html
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rnnbow_widget.recording import Recording

__all__ = ["Record"]


class Record:
    """One recorded chunk, read from its recording (values are decoded when first used).

    Attributes
    ----------
    index : int
        Position of the record in its :class:`Recording`.
    step : int
        Training chunk index (optimizer steps before this chunk).
    offset : int
        Position in the corpus of the chunk's first input.
    inputs, targets, predictions : str
        The chunk's inputs, the true next symbols and the argmax predictions, decoded with the
        vocabulary (``predictions[i]`` is the guess of ``targets[i]``).
    losses : numpy.ndarray
        ``(n,)`` float32 per-step losses ``L_t`` (read-only).
    magnitudes : numpy.ndarray
        ``(n, n)`` float32 ``[t, j]``, the itemized gradient size of loss t at step j; zero for
        ``j > t`` (read-only).
    loss, smooth_loss, grad_norm : float
        Mean of ``losses``; the trainer's smoothed loss; the gradient's global norm before
        clipping.
    clipped : bool
        Whether clipping changed the gradient.
    max_gradient, mean_gradient, effective_horizon, reach : float
        Summary numbers of ``magnitudes`` (:mod:`rnnbow_widget.metrics`).
    accuracy : float
        Fraction of predictions equal to targets.
    """

    def __init__(self, recording: Recording, index: int) -> None:
        self._recording = recording
        self.index = index

    def _value(self, name: str) -> Any:
        return self._recording.column(name)[self.index]

    step = property(lambda self: int(self._value("step")), doc="Training chunk index.")
    offset = property(lambda self: int(self._value("offset")), doc="Corpus position.")
    clipped = property(lambda self: bool(self._value("clipped")), doc="Clipping fired.")
    loss = property(lambda self: float(self._value("loss")), doc="Mean of ``losses``.")
    smooth_loss = property(
        lambda self: float(self._value("smooth_loss")), doc="The trainer's smoothed loss."
    )
    grad_norm = property(
        lambda self: float(self._value("grad_norm")), doc="Gradient norm before clipping."
    )
    max_gradient = property(
        lambda self: float(self._value("max_gradient")), doc="``metrics.max_gradient``."
    )
    mean_gradient = property(
        lambda self: float(self._value("mean_gradient")), doc="``metrics.mean_gradient``."
    )
    effective_horizon = property(
        lambda self: float(self._value("effective_horizon")),
        doc="``metrics.effective_horizon``.",
    )
    reach = property(lambda self: float(self._value("reach")), doc="``metrics.reach``.")
    accuracy = property(
        lambda self: float(self._value("accuracy")), doc="Fraction of right predictions."
    )

    @cached_property
    def inputs(self) -> str:
        """The input symbols."""
        return self._recording.decode(self._value("inputs"))

    @cached_property
    def targets(self) -> str:
        """The true next symbols."""
        return self._recording.decode(self._value("targets"))

    @cached_property
    def predictions(self) -> str:
        """The argmax predictions."""
        return self._recording.decode(self._value("predictions"))

    @cached_property
    def losses(self) -> np.ndarray:
        """(n,) float32 per-step losses (read-only)."""
        return self._value("losses")

    @cached_property
    def magnitudes(self) -> np.ndarray:
        """(n, n) float32 ``[t, j]``, zero for ``j > t`` (read-only)."""
        n = self._recording.seq_length
        out = np.zeros((n, n), dtype=np.float32)
        out[np.tril_indices(n)] = self._value("magnitudes")
        out.flags.writeable = False
        return out

    def __repr__(self) -> str:
        text = self.inputs if len(self.inputs) <= 40 else self.inputs[:39] + "…"
        n = self._recording.seq_length
        return (
            f"Record(index={self.index}, step={self.step}, loss={self.loss:.4f}, "
            f"accuracy={self.accuracy:.2f}, inputs={text!r}, magnitudes=({n}, {n}))"
        )

    def _repr_html_(self) -> str:
        """A notebook's rich view: the summary line, then one column per step with its total
        gradient as a small bar over the input and the target (red where the prediction
        missed it)."""
        vocab = self._recording.vocab
        totals = self.magnitudes.sum(axis=0, dtype=np.float64)
        tallest = float(totals.max()) if totals.size and totals.max() > 0 else 1.0
        heights = np.rint(totals / tallest * _BAR_PIXELS).astype(int)
        columns = zip(
            self._value("inputs"), self._value("targets"), self._value("predictions"), strict=True
        )
        bars, inputs, targets = [], [], []
        for j, (x, y, guess) in enumerate(columns):
            title = f"step {j}: total gradient {totals[j]:.4g}"
            bars.append(
                f'<td title="{title}" style="vertical-align:bottom;padding:0 1px">'
                f'<div style="height:{heights[j]}px;background:#5b6bbf"></div></td>'
            )
            inputs.append(f"<td>{html.escape(_visible(vocab[x]))}</td>")
            missed = "" if guess == y else ' style="color:#c62828"'
            predicted = html.escape(_visible(vocab[guess]), quote=True)
            targets.append(
                f'<td title="predicted {predicted}"{missed}>{html.escape(_visible(vocab[y]))}</td>'
            )
        head = html.escape(repr(self).removeprefix("Record(").removesuffix(")"))
        row = '<tr><th style="text-align:right;padding-right:6px;font-weight:normal">{}</th>{}</tr>'
        return (
            f'<div class="rnnbow-record"><div style="font-family:monospace">Record: {head}</div>'
            '<table style="border-collapse:collapse;font-family:monospace;text-align:center">'
            + row.format("gradient", "".join(bars))
            + row.format("input", "".join(inputs))
            + row.format("target", "".join(targets))
            + "</table></div>"
        )


_BAR_PIXELS = 32
"""Height of the tallest bar in a record's notebook view."""

_STAND_INS = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5"}


def _visible(symbol: str) -> str:
    """A printable form of a symbol: whitespace as a glyph (as the widget's label row shows it),
    other control characters as ``\\xNN``, an empty symbol as the empty-set sign."""
    if symbol in _STAND_INS:
        return _STAND_INS[symbol]
    out = "".join(
        f"\\x{ord(ch):02x}" if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 else ch for ch in symbol
    )
    return out or "\u2205"
