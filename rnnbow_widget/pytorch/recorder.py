"""Recorder: itemized gradients of your own PyTorch RNN, recorded from inside your training loop.

One call per training step, ``recorder.observe(step, inputs, targets, state0, tokens=ids)``,
after the optimizer's step or before it; every ``every`` steps it itemizes the chunk
(:func:`rnnbow_widget.pytorch.itemized_magnitudes`, with one example sequence's own
magnitudes), takes that sequence's predictions and per-step losses and the batch's loss from
the same forward pass, and appends a record to ``recorder.recording`` (and to a run directory
when given). ``RNNbow(recorder)`` follows it live. What it is given (loss, gradient norm,
clipping) is read on recorded steps only, so passing tensors costs nothing on the others. In a
distributed run it records on one rank only (rank 0 by default) and adds no collective
operation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnbow_widget.checks import check_int, check_positive
from rnnbow_widget.events import Listeners
from rnnbow_widget.pytorch.itemize import itemize_chunk
from rnnbow_widget.record import Record
from rnnbow_widget.recording import Recording
from rnnbow_widget.rundir import RunWriter

__all__ = ["Recorder"]

IGNORED_TOKENS = ("∅", "␀", "<ignored target>")
"""The label of targets the loss ignores (-100): the first of these not in your vocabulary."""

SMOOTHING = 0.999
"""Weight per training step of the previous value in the smoothed loss the overview draws, as
the numpy trainer's: over the ``s`` steps from one record to the next, ``SMOOTHING ** s``."""


class Recorder:
    """Record the itemized gradients of ``rnn`` every ``every`` steps of your training loop.

    Parameters
    ----------
    rnn : nn.RNN, nn.LSTM or nn.GRU
        The recurrent layer(s) of your model (as for ``itemized_magnitudes``).
    head : callable
        Maps the RNN's output, ``(..., hidden)``, to logits, ``(..., V)``: usually the model's
        ``nn.Linear`` decoder.
    vocab : sequence of str
        The token of each id (``V`` entries), for the label row. The recording's vocabulary
        is this plus one token, ``"∅"`` (or ``"␀"`` if yours has it), the label of targets
        your loss ignores (negative ids such as -100, e.g. padding).
    seq_length : int
        ``n``, the steps of every chunk you observe.
    every : int, default 100
        Record steps with ``step % every == 0``.
    run_dir : str or os.PathLike, optional
        Also write the records to this run directory, for a notebook elsewhere
        (``RNNbow(run_dir)``). ``close()`` marks the run finished.
    example : int, default 0
        Which sequence of the batch the label row shows (its inputs, targets, predictions and
        per-step losses). The magnitudes are the whole batch's (what the optimizer applies);
        the sequence's own are recorded too (``Record.example_magnitudes``: the gradients of
        its own losses, not divided by the batch size), and the stacked bars can show either.
    max_norm : float, optional
        Your ``clip_grad_norm_`` bound: a record is marked clipped when the ``grad_norm`` you
        pass exceeds it (then pass ``grad_norm`` at every observe).
    rank : int, default 0
        In a ``torch.distributed`` run, the rank that records (the others do nothing).
    title : str, optional
        The run's title in the views.
    **itemize : Any
        ``layer``, ``wrt``, ``norm``, ``horizon``, ``reduction``, ``loss``, ``dtype``: passed to
        :func:`~rnnbow_widget.pytorch.itemized_magnitudes`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> rnn, decoder = nn.LSTM(8, 16), nn.Linear(16, 5)
    >>> rec = Recorder(rnn, decoder, vocab=list("abcde"), seq_length=10, every=2)
    >>> x, y = torch.randn(10, 4, 8), torch.randint(0, 5, (10, 4))
    >>> for step in range(4):
    ...     _ = rec.observe(step, x, y, tokens=y.roll(1, 0))
    >>> len(rec.recording), rec.recording[1].step
    (2, 2)
    """

    def __init__(
        self,
        rnn: nn.RNNBase,
        head: Callable[[Tensor], Tensor],
        *,
        vocab: Sequence[str],
        seq_length: int,
        every: int = 100,
        run_dir: str | os.PathLike[str] | None = None,
        example: int = 0,
        rank: int = 0,
        title: str | None = None,
        max_norm: float | None = None,
        **itemize: Any,
    ) -> None:
        allowed = {"layer", "wrt", "norm", "horizon", "reduction", "loss", "dtype"}
        if set(itemize) - allowed:
            raise TypeError(
                f"Recorder() got unexpected keyword argument(s) "
                f"{', '.join(sorted(set(itemize) - allowed))}; itemizing takes "
                f"{', '.join(sorted(allowed))}"
            )
        if not isinstance(rnn, nn.RNNBase):
            raise TypeError(f"rnn must be an nn.RNN, nn.LSTM or nn.GRU, got {type(rnn).__name__}")
        self.rnn, self.head, self._itemize = rnn, head, itemize
        self.every = check_int("every", every, minimum=1)
        self.example = check_int("example", example, minimum=0)
        self.rank = check_int("rank", rank, minimum=0)
        self.max_norm = check_positive("max_norm", max_norm, allow_none=True)
        cell = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}.get(type(rnn).__name__, "rnn")
        meta = {
            "title": title or f"PyTorch {type(rnn).__name__}, H={rnn.hidden_size}",
            "hidden_size": rnn.hidden_size,
            "cell": cell,
            "num_layers": rnn.num_layers,
            "record_every": self.every,
            "backend": "pytorch",
            **{key: value for key, value in itemize.items() if key != "dtype" and key != "loss"},
        }
        vocab = list(vocab)
        self._ignored = len(vocab)  # the id of the label of ignored targets
        vocab.append(next(token for token in IGNORED_TOKENS if token not in vocab))
        self.recording = Recording(seq_length, vocab, meta)
        self.run = None if run_dir is None else RunWriter(run_dir, source=self.recording)
        self.smooth_loss: float | None = None
        self._smoothed_at = 0  # the step of the last loss in smooth_loss
        self._record_listeners, self._end_listeners = Listeners(), Listeners()

    def records_here(self) -> bool:
        """True in this process's rank (always outside a distributed run)."""
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        return not distributed or torch.distributed.get_rank() == self.rank

    def observe(
        self,
        step: int,
        inputs: Tensor,
        targets: Tensor,
        state0: Any = None,
        *,
        tokens: Tensor,
        loss: float | Tensor | None = None,
        grad_norm: float | Tensor | None = None,
        clipped: bool | Tensor | None = None,
    ) -> Record | None:
        """Record this step if it is due (``step % every == 0``); returns the record or None.

        Parameters
        ----------
        step : int
            Your training step.
        inputs : Tensor
            What the RNN receives, ``(n, B, input_size)`` or ``(B, n, input_size)`` per its
            ``batch_first`` (e.g. your embedding's output).
        targets : Tensor
            ``(n, B)`` or ``(B, n)`` int: the true next token ids.
        state0 : optional
            The RNN's initial state for this chunk, in PyTorch's format (zeros by default).
        tokens : Tensor
            The input token ids, shaped like ``targets`` (the label row and ``Record.inputs``).
        loss : float or 0-dim Tensor, optional
            Your batch loss, as the optimizer saw it; the overview's loss line is its running
            average. Without it, the batch's mean loss per token from the itemization's own
            forward pass (``F.cross_entropy``'s default mean, padding left out; with a callable
            ``loss=`` itemizing option, the mean of its values), at the weights of this call.
        grad_norm : float or 0-dim Tensor, optional
            The gradient norm before clipping, as ``torch.nn.utils.clip_grad_norm_`` returns
            it. The recorder never works one out: it sees only ``rnn`` and ``head``, and a norm
            of part of the parameters would mislead.
        clipped : bool or 0-dim Tensor, optional
            Whether your clipping changed the gradient; by default ``grad_norm > max_norm``
            when the recorder has a ``max_norm``, else False.
        """
        step = check_int("step", step, minimum=0)
        if step % self.every or not self.records_here():
            return None
        shown_targets = self._row(targets, "targets")
        shown_targets = np.where(shown_targets < 0, self._ignored, shown_targets)  # -100
        shown = {"inputs": self._row(tokens, "tokens"), "targets": shown_targets}
        norm, batch_loss = _scalar("grad_norm", grad_norm), _scalar("loss", loss)
        if clipped is None and self.max_norm is not None and norm is None:
            raise ValueError(
                f"Recorder(max_norm={self.max_norm:g}) tells clipping from the gradient norm, and "
                "observe() got no grad_norm: pass grad_norm=norm with "
                "norm = torch.nn.utils.clip_grad_norm_(params, max_norm)"
            )
        if clipped is None:
            clipped = self.max_norm is not None and norm is not None and norm > self.max_norm
        clipped = _flag("clipped", clipped)
        batched = isinstance(inputs, Tensor) and inputs.dim() == 3
        b = self.example if batched else 0
        result = itemize_chunk(
            self.rnn, self.head, inputs, targets, state0, example=b, **self._itemize
        )
        counted = result.losses[result.counted]  # none when every target is padding
        if batch_loss is None and counted.size:
            batch_loss = float(counted.mean())
        if batch_loss is not None:
            self._smooth(step, batch_loss)
        record = self.recording.append(
            step=step,
            **shown,
            predictions=result.predictions[:, b],
            losses=result.losses[:, b],
            magnitudes=result.magnitudes,
            example_magnitudes=result.example,
            grad_norm=norm if norm is None or math.isfinite(norm) else None,
            clipped=clipped,
            smooth_loss=self.smooth_loss,
        )
        if self.run is not None:
            self.run.flush_if_due()
        self._record_listeners.call(record)
        self._end_listeners.call()  # each observation is complete: views push it now
        return record

    def _row(self, ids: Tensor, name: str) -> np.ndarray:
        """The example's row of ``ids`` ((n, B) or (B, n) per batch_first; or (n,))."""
        if not isinstance(ids, Tensor):
            raise TypeError(f"{name} must be a Tensor of token ids, got {type(ids).__name__}")
        if ids.dim() == 1:
            row = ids
        else:
            batch = ids.shape[0 if self.rnn.batch_first else 1]
            if self.example >= batch:
                raise ValueError(
                    f"example={self.example} is out of range for a batch of {batch} sequences"
                )
            row = ids[self.example] if self.rnn.batch_first else ids[:, self.example]
        return row.detach().to("cpu", torch.int64).numpy()

    def _smooth(self, step: int, loss: float) -> None:
        """Fold this step's loss into the running average, weighing the previous value by
        :data:`SMOOTHING` per training step since it (the first loss starts it)."""
        if self.smooth_loss is None or not math.isfinite(self.smooth_loss):
            self.smooth_loss = loss
        else:
            keep = SMOOTHING ** max(step - self._smoothed_at, 0)
            self.smooth_loss = keep * self.smooth_loss + (1 - keep) * loss
        self._smoothed_at = step

    # ------------------------------------------------------------------ for the widget
    def on_record(
        self, callback: Callable[[Any], Any], *, decoded: bool = True
    ) -> Callable[[], None]:
        """Call ``callback(record)`` (or ``callback(index)`` with ``decoded=False``) after
        each new record; returns a function that unsubscribes."""
        if decoded:
            return self._record_listeners.add(callback)
        return self._record_listeners.add(lambda record: callback(record.index))

    def on_train_end(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` after each observation that recorded; returns an unsubscriber."""
        return self._end_listeners.add(callback)

    def close(self) -> None:
        """Write what is pending to the run directory and mark the run finished."""
        if self.run is not None:
            self.run.close()

    def __repr__(self) -> str:
        return (
            f"Recorder({type(self.rnn).__name__}, every={self.every}, "
            f"records={len(self.recording)})"
        )


def _scalar(name: str, value: object) -> float | None:
    """``value`` as a float (None stays None): a real number or a one-element tensor, read
    here, on a recorded step (for a tensor on a GPU, the one synchronization)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{name} must be a number or a 0-dim tensor, got a tensor of shape "
                f"{tuple(value.shape)}: pass the batch's value (e.g. loss, not the losses)"
            )
        return float(value.detach().reshape(()).to("cpu", torch.float64))
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number or a 0-dim tensor, got {type(value).__name__}")
    return float(value)


def _flag(name: str, value: object) -> bool:
    """``value`` as a bool: a bool or a one-element tensor (``norm > max_norm``)."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return bool(value.detach().reshape(()).cpu())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be a bool or a 0-dim tensor, got {type(value).__name__}")
