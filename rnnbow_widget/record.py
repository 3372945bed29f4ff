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
    inputs, targets, predictions : str
        The chunk's inputs, the true next tokens and the model's guesses of them, as text
        (``predictions[i]`` is the guess of ``targets[i]`` for a character vocabulary; other
        vocabularies join their tokens with spaces).
    input_ids, target_ids, prediction_ids : numpy.ndarray
        The same as ``(n,)`` token ids (read-only), for any vocabulary.
    input_tokens, target_tokens, prediction_tokens : list of str
        The same as one token per step.
    losses : numpy.ndarray
        ``(n,)`` float32 per-step losses ``L_t`` (read-only).
    magnitudes : numpy.ndarray
        ``(n, n)`` float32 ``[t, j]``, the itemized gradient size of loss t at step j; zero for
        ``j > t`` (read-only).
    example_magnitudes : numpy.ndarray or None
        The same for the one sequence of a batch that ``inputs`` shows, its own losses'
        gradients (``magnitudes`` are then the batch's); None when not recorded.
    loss, smooth_loss : float
        Mean of ``losses``; the trainer's smoothed loss (the chunk's own loss when the
        recording was not given one).
    offset : int or None
        Corpus position of the first input (None when not recorded).
    grad_norm : float or None
        The gradient's global norm before clipping (None when not recorded).
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

    @property
    def offset(self) -> int | None:
        """Corpus position of the first input, or None when the recording was not told."""
        offset = int(self._value("offset"))
        return None if offset < 0 else offset

    clipped = property(lambda self: bool(self._value("clipped")), doc="Clipping fired.")
    loss = property(lambda self: float(self._value("loss")), doc="Mean of ``losses``.")
    smooth_loss = property(
        lambda self: float(self._value("smooth_loss")), doc="The trainer's smoothed loss."
    )

    @property
    def grad_norm(self) -> float | None:
        """Global gradient norm before clipping, or None when the recording was not told."""
        norm = float(self._value("grad_norm"))
        return None if np.isnan(norm) else norm

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
        """The input tokens as text (:meth:`Recording.decode`)."""
        return self._recording.decode(self._value("inputs"))

    @cached_property
    def targets(self) -> str:
        """The true next tokens as text."""
        return self._recording.decode(self._value("targets"))

    @cached_property
    def predictions(self) -> str:
        """The model's guesses of the targets as text."""
        return self._recording.decode(self._value("predictions"))

    @property
    def input_ids(self) -> np.ndarray:
        """(n,) int token ids of the inputs (positions in ``recording.vocab``)."""
        return self._ids("inputs")

    @property
    def target_ids(self) -> np.ndarray:
        """(n,) int token ids of the targets."""
        return self._ids("targets")

    @property
    def prediction_ids(self) -> np.ndarray:
        """(n,) int token ids of the predictions."""
        return self._ids("predictions")

    @property
    def input_tokens(self) -> list[str]:
        """The input tokens, one string per step."""
        return self._recording.tokens(self._value("inputs"))

    @property
    def target_tokens(self) -> list[str]:
        """The target tokens, one string per step."""
        return self._recording.tokens(self._value("targets"))

    @property
    def prediction_tokens(self) -> list[str]:
        """The predicted tokens, one string per step."""
        return self._recording.tokens(self._value("predictions"))

    def _ids(self, name: str) -> np.ndarray:
        ids = self._value(name).astype(np.int64)
        ids.flags.writeable = False
        return ids

    @cached_property
    def losses(self) -> np.ndarray:
        """(n,) float32 per-step losses (read-only)."""
        return self._value("losses")

    @cached_property
    def magnitudes(self) -> np.ndarray:
        """(n, n) float32 ``[t, j]``, zero for ``j > t`` (read-only)."""
        return _unpacked(self._value("magnitudes"), self._recording.seq_length)

    @cached_property
    def example_magnitudes(self) -> np.ndarray | None:
        """(n, n) float32, the shown sequence's own magnitudes, or None when not recorded."""
        if "example_magnitudes" not in self._recording.column_names:
            return None
        return _unpacked(self._value("example_magnitudes"), self._recording.seq_length)

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


def _unpacked(packed: np.ndarray, n: int) -> np.ndarray:
    """(n, n) float32 from a packed lower triangle, zero above the diagonal (read-only)."""
    out = np.zeros((n, n), dtype=np.float32)
    out[np.tril_indices(n)] = packed
    out.flags.writeable = False
    return out


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
