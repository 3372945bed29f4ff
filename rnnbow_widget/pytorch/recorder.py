"""Recorder: itemized gradients of your own PyTorch RNN, recorded from inside your training loop.

One call per training step, ``recorder.observe(step, inputs, targets, state0, tokens=ids)``,
after the optimizer's step or before it; every ``every`` steps it itemizes the chunk
(:func:`rnnbow_widget.pytorch.itemized_magnitudes`), runs the model once more without
gradients for the predictions and per-step losses of one example sequence, and appends a
record to ``recorder.recording`` (and to a run directory when given). ``RNNbow(recorder)``
follows it live. In a distributed run it records on one rank only (rank 0 by default) and
adds no collective operation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnbow_widget.checks import check_int
from rnnbow_widget.events import Listeners
from rnnbow_widget.pytorch.itemize import itemized_magnitudes
from rnnbow_widget.record import Record
from rnnbow_widget.recording import Recording
from rnnbow_widget.rundir import RunWriter

__all__ = ["Recorder"]

SMOOTHING = 0.99
"""Weight of the previous value in the smoothed loss the overview draws."""


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
        The token of each id (``V`` entries), for the label row.
    seq_length : int
        ``n``, the steps of every chunk you observe.
    every : int, default 100
        Record steps with ``step % every == 0``.
    run_dir : str or os.PathLike, optional
        Also write the records to this run directory, for a notebook elsewhere
        (``RNNbow(run_dir)``). ``close()`` marks the run finished.
    example : int, default 0
        Which sequence of the batch the label row shows (its inputs, targets, predictions and
        per-step losses); the magnitudes are the whole batch's.
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
        self.recording = Recording(seq_length, vocab, meta)
        self.run = None if run_dir is None else RunWriter(run_dir, source=self.recording)
        self.smooth_loss: float | None = None
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
        clipped: bool = False,
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
        loss, grad_norm : float or Tensor, optional
            Your batch loss (the overview's loss line is its running average) and gradient
            norm before clipping, when you have them.
        clipped : bool, default False
            Whether your clipping changed the gradient.
        """
        step = check_int("step", step, minimum=0)
        if step % self.every or not self.records_here():
            return None
        shown = {"inputs": self._row(tokens, "tokens"), "targets": self._row(targets, "targets")}
        magnitudes = itemized_magnitudes(
            self.rnn, self.head, inputs, targets, state0, **self._itemize
        )
        predictions, losses = self._example(inputs, targets, state0)
        if loss is not None:
            value = float(loss)
            self.smooth_loss = (
                value
                if self.smooth_loss is None
                else SMOOTHING * self.smooth_loss + (1 - SMOOTHING) * value
            )
        norm = None if grad_norm is None else float(grad_norm)
        record = self.recording.append(
            step=step,
            **shown,
            predictions=predictions,
            losses=losses,
            magnitudes=magnitudes,
            grad_norm=norm if norm is None or math.isfinite(norm) else None,
            clipped=bool(clipped),
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

    def _example(self, inputs: Tensor, targets: Tensor, state0: Any) -> tuple[Any, Any]:
        """The predictions (argmax) and per-step losses of the example sequence, from one
        forward without gradients (random states restored: dropout draws nothing for good)."""
        devices = [inputs.device] if inputs.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            out, _ = self.rnn(inputs, state0)
            logits = self.head(out)  # (n, B, V), (B, n, V) or, unbatched, (n, V)
        if logits.dim() == 3:
            logits = logits[self.example] if self.rnn.batch_first else logits[:, self.example]
        target = torch.as_tensor(self._row(targets, "targets"), device=logits.device)
        losses = nn.functional.cross_entropy(logits.float(), target, reduction="none")
        predictions = logits.argmax(dim=-1).cpu().numpy()
        return predictions, losses.cpu().double().numpy()

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
