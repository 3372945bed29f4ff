"""CharRNNTrainer: a character-level recurrent network, trained chunk by chunk and recorded.

The loop is min-char-rnn's: the corpus is read in consecutive chunks of ``n = seq_length``
characters (inputs ``text[p : p + n]``, targets ``text[p + 1 : p + n + 1]``), the hidden
state is carried from one chunk to the next, and each chunk is one optimizer step on the
BPTT gradient. When fewer than ``n + 1`` characters remain, the cursor wraps to 0 and the
hidden state is reset to zeros.

Every ``record_every`` chunks (and on every ``step()`` call) the same forward cache also
goes to :func:`rnnbow_widget.itemize.magnitudes_from_cache`, and the chunk is appended to
``trainer.recording``; record listeners (the widget) are then called with the new record.

State changes only after a step has fully succeeded, so an interrupt (Ctrl-C, a kernel
interrupt) or a diverging step never leaves the trainer half-updated.
"""

from __future__ import annotations

import math
import operator
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbow_widget import cells, itemize, model
from rnnbow_widget.optim import (
    Optimizer,
    check_optimizer_name,
    check_positive,
    clip_gradients,
    global_norm,
    make_optimizer,
)
from rnnbow_widget.payload import float32_to_bfloat16
from rnnbow_widget.recording import Record, Recording
from rnnbow_widget.units import UnitStore

__all__ = ["CELLS", "CharRNNTrainer", "TrainingDivergedError"]

Params = dict[str, np.ndarray]


class TrainingDivergedError(RuntimeError):
    """A training step produced a non-finite loss, gradient or parameter.

    The trainer has been restored to its state before that step and can keep training
    once a hyper-parameter is changed. The step, the quantity and this message are also
    kept in ``trainer.recording.meta["diverged"]`` (saved with the recording; the widget
    marks the step in its overview).

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


# --------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class _Cell:
    """What the trainer needs from a cell (``rnnbow_widget.model`` or a ``cells`` module)."""

    init_params: Callable[..., Params]
    initial_state: Callable[[int], np.ndarray]
    forward: Callable[..., Any]
    backward: Callable[..., tuple[Params, np.ndarray]]
    magnitudes: Callable[..., np.ndarray]
    final_state: Callable[[Any], np.ndarray]
    activations: tuple[str, ...]
    # Same as magnitudes, plus per-unit contributions (rnnbow_widget.units) from one walk.
    magnitudes_and_units: Callable[..., tuple[np.ndarray, np.ndarray]]


def _vanilla_cell() -> _Cell:
    return _Cell(
        init_params=model.init_params,
        initial_state=np.zeros,
        forward=model.forward,
        backward=model.backward,
        # The trainer checks the options once and makes every cache itself.
        magnitudes=itemize.trusted_magnitudes,
        final_state=lambda cache: cache.h[-1],
        activations=model.ACTIVATIONS,
        magnitudes_and_units=itemize.trusted_magnitudes_and_units,
    )


def _gated_cell(module: Any) -> _Cell:
    return _Cell(
        init_params=module.init_params,
        initial_state=module.initial_state,
        forward=module.forward,
        backward=module.backward,
        magnitudes=module.itemized_magnitudes,
        final_state=lambda cache: cache.final_state,
        activations=module.ACTIVATIONS,
        magnitudes_and_units=module.itemized_magnitudes_and_units,
    )


# The one place where a cell name becomes code.
_CELLS: dict[str, _Cell] = {
    "rnn": _vanilla_cell(),
    **{name: _gated_cell(module) for name, module in cells.CELLS.items()},
}
CELLS = tuple(_CELLS)
DTYPES = ("float64", "float32")


# --------------------------------------------------------------------------- validation
def _check_int(name: str, value: object, minimum: int, hint: str = "") -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})"
        ) from None
    if number < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {number}{hint}")
    return number


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_dtype(dtype: object) -> np.dtype:
    """``dtype`` ("float64", "float32" or the numpy types) as a numpy dtype, else raise."""
    try:
        resolved = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else None
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(
            f"dtype must be one of {DTYPES}, got {dtype!r}; float32 is faster, float64 (the "
            "default) is the paper's precision"
        )
    return resolved


def _encode(text: str) -> tuple[str, np.ndarray]:
    """Sorted vocabulary string and the text as an array of vocabulary indices."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    symbols, data = np.unique(codes, return_inverse=True)
    return "".join(map(chr, symbols.tolist())), data.astype(np.intp, copy=False)


def _flatten(params: Params, dtype: np.dtype) -> tuple[np.ndarray, Params]:
    """One vector of ``dtype`` holding every parameter, and the parameters as views into it.

    The optimizer, the clipping and the finiteness checks then work on one long array each
    (a few ufunc calls per step instead of a few per parameter).
    """
    flat = np.concatenate([np.asarray(a, dtype=dtype).ravel() for a in params.values()])
    return flat, _ParameterViews(_views(flat, params))


def _views(flat: np.ndarray, like: Params) -> Params:
    """Arrays shaped like ``like``, laid out one after another in ``flat``."""
    views: Params = {}
    offset = 0
    for key, array in like.items():
        views[key] = flat[offset : offset + array.size].reshape(array.shape)
        offset += array.size
    return views


_SAFE_STEP = 1e30
"""Steps below this cannot take a finite float32 or float64 number past the largest one: a
half unit in the last place there is 1e31 (float32) or 1e292 (float64)."""


def _sum_of_squares_is_finite(flat: np.ndarray) -> bool:
    """True if ``sum(flat**2)`` is finite, which implies every ``|flat[i]|`` is below the square
    root of the dtype's largest number (1.3e154 in float64, 1.8e19 in float32)."""
    return math.isfinite(global_norm({"flat": flat}))


class _ParameterViews(dict):
    """The trainer's ``params``: a dict whose arrays may be changed in place, not rebound."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "trainer.params holds views into the trainer's parameter vector: change an array "
            "in place (trainer.params['W_hh'][...] = value) instead of replacing it"
        )

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _refuse


# --------------------------------------------------------------------------- trainer
class CharRNNTrainer:
    """Train a character-level recurrent network and record its itemized gradients.

    Parameters
    ----------
    text : str
        Training corpus; needs at least ``seq_length + 1`` characters.
    hidden_size : int, default 100
        ``H``, the number of hidden units.
    seq_length : int, default 25
        ``n``, characters per chunk (the BPTT unroll length), at least 2.
    learning_rate : float, default 0.1
        Optimizer step size, finite and > 0 (0.1 suits Adagrad; use about 1e-3 with Adam).
    seed : int or None, default 0
        Seeds the parameter initialization and, separately, ``sample``.
    record_every : int, default 100
        Record chunk ``i`` when ``i % record_every == 0`` (the paper records every 100).
    cell : str, default "rnn"
        Recurrent cell, one of ``CELLS``: ``"rnn"`` (the paper's vanilla cell,
        ``rnnbow_widget.model``), ``"lstm"`` or ``"gru"`` (``rnnbow_widget.cells``).
    activation : str, default "tanh"
        ``"tanh"`` (the paper's cell) or ``"relu"`` (vanilla cell only).
    optimizer : str, default "adagrad"
        ``"adagrad"``, ``"sgd"`` or ``"adam"``.
    clip : float or None, default 5.0
        Element-wise gradient clipping bound; ``None`` disables it.
    clip_norm : float or None, default None
        Global-norm gradient clipping bound; ``None`` disables it.
    init_scale : float, default 0.1
        Approximate spectral radius of the initial ``W_hh`` (see ``model.init_params``).
    horizon : int or None, default None
        If set, recorded magnitudes only cover pairs with ``t - j < horizon`` (cheaper;
        values above ``seq_length`` mean every pair); ``None`` computes every pair.
    wrt : str, default "W_hh"
        Parameter whose itemized gradient is recorded.
    norm : str, default "fro"
        Magnitude of one itemized gradient: ``"fro"`` (Frobenius) or ``"mean_abs"``
        (mean absolute entry, the paper's "averaged over hidden nodes").
    name : str or None
        Title of the run, stored in the recording's ``meta``.
    units_budget_mb : float, default 256
        Memory budget (MiB) for the per-unit drilldown: every record's contribution per
        hidden unit (``trainer.recording.units``, a :class:`~rnnbow_widget.units.UnitStore`,
        about 65 KB per record at n = 25, H = 100; with a ``horizon`` only the pairs within it
        are kept, 23 KB at horizon 5). Over budget, every other kept record is dropped, so the
        kept ones still span training. 0 keeps none.
    dtype : str, default "float64"
        Precision of the parameters, the optimizer state and the forward and backward passes:
        ``"float64"`` (the default, as in the paper's analysis) or ``"float32"`` (PyTorch's
        default; about 1.5x faster for the vanilla cell and the LSTM, 1.25x for the GRU).
        The recorded magnitudes are always computed in float64 from the float32 values.

    Attributes
    ----------
    params : dict of numpy.ndarray
        The live parameters (``W_xh, W_hh, W_hy, b_h, b_y``), updated in place (they are
        views into one vector: change them in place, ``params["W_hh"][:] = ...``).
    vocab : str
        The sorted distinct symbols of ``text``.
    recording : Recording
        Every recorded chunk so far.
    learning_rate : float
        The optimizer's step size; assign to change it between calls to ``train``.
    optimizer : Optimizer
        The optimizer (its state covers all parameters as one vector).

    Examples
    --------
    >>> trainer = CharRNNTrainer("hello world! " * 20, hidden_size=8, seq_length=5,
    ...                          record_every=10)
    >>> loss = trainer.train(40, progress=False)
    >>> trainer.steps_done, len(trainer.recording), trainer.recording[1].step
    (40, 4, 10)
    >>> len(trainer.sample(12))
    12
    """

    def __init__(
        self,
        text: str,
        hidden_size: int = 100,
        seq_length: int = 25,
        learning_rate: float = 0.1,
        seed: int | None = 0,
        record_every: int = 100,
        cell: str = "rnn",
        activation: str = "tanh",
        optimizer: str = "adagrad",
        clip: float | None = 5.0,
        clip_norm: float | None = None,
        init_scale: float = 0.1,
        horizon: int | None = None,
        wrt: str = "W_hh",
        norm: str = "fro",
        name: str | None = None,
        units_budget_mb: float = 256.0,
        dtype: str = "float64",
    ) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text must not be empty: give the trainer a corpus to read")
        self.seq_length = _check_int("seq_length", seq_length, 2)
        if len(text) < self.seq_length + 1:
            raise ValueError(
                f"text must have at least seq_length + 1 = {self.seq_length + 1} characters "
                f"(one chunk of inputs plus its next-character target), got {len(text)}"
            )
        self.hidden_size = _check_int("hidden_size", hidden_size, 1)
        learning_rate = check_positive("learning_rate", learning_rate)
        if seed is not None:
            seed = _check_int("seed", seed, 0)
        self.seed = seed
        self.record_every = _check_int("record_every", record_every, 1)
        self.cell = _check_choice("cell", cell, CELLS)
        self._cell = _CELLS[self.cell]
        if not isinstance(activation, str) or activation not in self._cell.activations:
            raise ValueError(
                f"activation must be one of {self._cell.activations} for cell {self.cell!r}, "
                f"got {activation!r}"
            )
        self.activation = activation
        self.optimizer_name = check_optimizer_name(optimizer)
        self.clip = check_positive("clip", clip, allow_none=True)
        self.clip_norm = check_positive("clip_norm", clip_norm, allow_none=True)
        self.init_scale = check_positive("init_scale", init_scale)
        if horizon is not None:
            horizon = _check_int("horizon", horizon, 1)
        self.horizon = horizon
        self.wrt = _check_choice("wrt", wrt, itemize.WRT_CHOICES)
        self.norm = _check_choice("norm", norm, itemize.NORM_CHOICES)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        units_budget = UnitStore(1, 1, units_budget_mb).budget_mb  # checks the argument
        self._dtype = _check_dtype(dtype)
        self.dtype = self._dtype.name

        self.vocab, self._data = _encode(text)
        V, H = len(self.vocab), self.hidden_size
        init_seq, sample_seq = np.random.SeedSequence(seed).spawn(2)
        self._theta, self.params = _flatten(
            self._cell.init_params(V, H, np.random.default_rng(init_seq), self.init_scale),
            self._dtype,
        )
        self._sample_rng = np.random.default_rng(sample_seq)
        # The cell's backward writes the gradients straight into views of one flat vector.
        self._grad = np.empty_like(self._theta)
        self._grad_views = _views(self._grad, self.params)
        self._flat_params, self._flat_grads = {"theta": self._theta}, {"theta": self._grad}
        self.optimizer: Optimizer = make_optimizer(
            self.optimizer_name, learning_rate, self._flat_params
        )
        self._magnitude_options = {"wrt": self.wrt, "norm": self.norm, "horizon": self.horizon}

        self._h = self._initial_state()
        self._position = 0
        self._steps_done = 0
        self._losses = np.empty(1024)
        self.smooth_loss = math.log(V)
        # Next-character distribution from the carried state (uniform at initialization).
        self._next_probs = np.full(V, 1.0 / V)
        self._record_listeners: list[Callable[[Record], Any]] = []
        self._index_listeners: list[Callable[[int], Any]] = []  # on_record(decoded=False)
        self._end_listeners: list[Callable[[], Any]] = []

        title = name or (
            f"{self.cell} ({self.activation}), H={H}, n={self.seq_length}, "
            f"{self.optimizer_name} lr={self.learning_rate:g}"
        )
        self.recording = Recording(
            self.seq_length,
            self.vocab,
            meta={
                "title": title,
                "hidden_size": H,
                "cell": self.cell,
                "activation": self.activation,
                "record_every": self.record_every,
                "corpus_length": len(text),
                "learning_rate": self.learning_rate,
                "seq_length": self.seq_length,
                "init_scale": self.init_scale,
                "optimizer": self.optimizer_name,
                "horizon": self.horizon,
                "dtype": self.dtype,
            },
        )
        if units_budget > 0:
            # Only the pairs the walk reaches are kept: ~n / horizon times more records fit.
            self.recording.units = UnitStore(self.seq_length, H, units_budget, self.horizon)

    # ------------------------------------------------------------------ state
    def _initial_state(self) -> np.ndarray:
        """The cell's zero state in the trainer's dtype."""
        return self._cell.initial_state(self.hidden_size).astype(self._dtype)

    @property
    def learning_rate(self) -> float:
        """The optimizer's step size; may be changed between calls to ``train``."""
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.optimizer.learning_rate = check_positive("learning_rate", value)

    @property
    def steps_done(self) -> int:
        """Number of chunks trained on so far (optimizer updates applied)."""
        return self._steps_done

    @property
    def position(self) -> int:
        """Corpus index where the next chunk starts (before a possible wrap to 0)."""
        return self._position

    @property
    def hidden_state(self) -> np.ndarray:
        """Copy of the state carried into the next chunk: (H,), or (2, H) ``[h; c]`` for LSTM."""
        return self._h.copy()

    @property
    def loss_history(self) -> np.ndarray:
        """Mean per-character loss of every chunk trained on, shape ``(steps_done,)``."""
        return self._losses[: self._steps_done].copy()

    def __repr__(self) -> str:
        return (
            f"CharRNNTrainer(vocab={len(self.vocab)}, hidden_size={self.hidden_size}, "
            f"seq_length={self.seq_length}, steps_done={self._steps_done}, "
            f"records={len(self.recording)}, smooth_loss={self.smooth_loss:.4f})"
        )

    # ------------------------------------------------------------------ listeners
    def on_record(
        self, callback: Callable[[Record], Any] | Callable[[int], Any], *, decoded: bool = True
    ) -> Callable[[], None]:
        """Call ``callback(record)`` after each new record; returns a function that unsubscribes.

        Parameters
        ----------
        callback : callable
            Called with the new :class:`Record`.
        decoded : bool, default True
            False calls ``callback(index)`` with the record's index in ``trainer.recording``
            instead, and builds no ``Record`` for it: for a listener that only needs to know
            that records arrived (the widget, which reads them in batches), recording every
            chunk then costs no more than without a listener.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if not isinstance(decoded, bool):
            raise TypeError(f"decoded must be True or False, got {decoded!r}")
        listeners = self._record_listeners if decoded else self._index_listeners
        listeners.append(callback)
        return _unsubscriber(listeners, callback)

    def on_train_end(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` whenever ``train()``/``step()`` ends; returns an unsubscriber."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        self._end_listeners.append(callback)
        return _unsubscriber(self._end_listeners, callback)

    def _notify_end(self) -> None:
        for callback in list(self._end_listeners):
            callback()

    # ------------------------------------------------------------------ training
    def _diverged(self, step: int, quantity: str) -> TrainingDivergedError:
        error = TrainingDivergedError(
            f"training diverged at step {step}: the {quantity} became non-finite (inf or "
            f"NaN). The update of step {step} was not applied; parameters, optimizer state, "
            "hidden state and data cursor are as they were before it. To continue, lower the "
            f"learning rate (trainer.learning_rate, now {self.learning_rate:g}), "
            f"enable or lower gradient clipping (clip={self.clip}, clip_norm={self.clip_norm}), "
            f"or start again with a smaller init_scale (now {self.init_scale:g}).",
            step=step,
            quantity=quantity,
        )
        # Kept in the recording (saved with it, shown by the widget): where the run diverged.
        self.recording.meta["diverged"] = {
            "step": step,
            "quantity": quantity,
            "message": str(error),
        }
        return error

    def _advance(self, record: bool) -> int | None:
        """Train on one chunk; all state changes happen at the end, after every check.

        Returns the new record's index when the chunk was recorded, else None.
        """
        n = self.seq_length
        step = self._steps_done
        p, h = self._position, self._h
        if p + n + 1 > len(self._data):
            p, h = 0, self._initial_state()
        inputs, targets = self._data[p : p + n], self._data[p + 1 : p + n + 1]
        params, cell = self.params, self._cell

        cache = cell.forward(params, inputs, targets, h, self.activation)
        loss = float(cache.losses.sum()) / n
        if not math.isfinite(loss):
            raise self._diverged(step, "loss")
        cell.backward(params, cache, out=self._grad_views)  # fills self._grad
        magnitudes = units = None
        store = self.recording.units
        if record and store is not None:
            # A store that keeps the walk's lags takes its pairs as they come (no triangle).
            pair_order = store.lags == min(self._magnitude_options["horizon"] or n, n)
            magnitudes, units = cell.magnitudes_and_units(
                params, cache, pair_order=pair_order, **self._magnitude_options
            )
        elif record:
            magnitudes = cell.magnitudes(params, cache, **self._magnitude_options)
        if units is not None:
            # Round the units now, while they are still in the CPU's caches (the optimizer's
            # pass over every parameter evicts them); they are stored at the commit.
            units = float32_to_bfloat16(units)
        report = clip_gradients(self._flat_grads, self.clip, self.clip_norm)
        if not math.isfinite(report.grad_norm):
            raise self._diverged(step, "gradient")
        self._apply_update(step, report.grad_norm)

        # Commit.
        self._h = cell.final_state(cache)
        self._next_probs = cache.p[-1]
        self._position = p + n
        if step == len(self._losses):
            self._losses = np.concatenate([self._losses, np.empty(len(self._losses))])
        self._losses[step] = loss
        self.smooth_loss = 0.999 * self.smooth_loss + 0.001 * loss
        self._steps_done = step + 1
        if not record:
            return None
        # Recording.append without the checks and the Record: only listeners need one.
        index = self.recording._append(
            step,
            p,
            inputs,
            targets,
            cache.predictions,
            cache.losses,
            magnitudes,
            report.grad_norm,
            report.clipped,
            self.smooth_loss,
        )
        if units is not None:
            store.put(index, units, pair_order=pair_order, encoded=True)
        if self._record_listeners:
            rec = self.recording[index]
            for callback in list(self._record_listeners):
                callback(rec)
        for callback in list(self._index_listeners):
            callback(index)
        return index

    def _apply_update(self, step: int, grad_norm: float) -> None:
        """Apply the optimizer's step to theta, or nothing if theta would not stay finite.

        The optimizer proposes the step without changing its state, so a non-finite step is
        dropped by not committing it: no copies of the parameters or the optimizer state are
        taken. When ``theta - delta`` provably cannot overflow (:meth:`_step_is_safe`), the
        update is done in place. Otherwise (rare: huge or non-finite values) the candidate
        is built aside and checked entry by entry first.
        """
        theta = self._theta
        delta = self.optimizer.propose(self._flat_grads)["theta"]
        if self._step_is_safe(theta, delta, grad_norm):
            theta -= delta
        else:
            candidate = theta - delta
            if not np.isfinite(candidate).all():
                raise self._diverged(step, "parameters")
            np.copyto(theta, candidate)
        self.optimizer.commit()

    def _step_is_safe(self, theta: np.ndarray, delta: np.ndarray, grad_norm: float) -> bool:
        """True if ``theta - delta`` cannot create a non-finite entry.

        Training keeps theta finite (a step that would not is dropped). If the optimizer
        bounds its step below :data:`_SAFE_STEP` (Adagrad: by the learning rate), no finite
        entry can pass the largest float: nothing to look at. Else, if ``sum(theta**2)`` and
        ``sum(delta**2)`` are both finite, every entry of both is below the square root of
        the largest float, so their difference cannot overflow either.
        """
        bound = self.optimizer.step_bound(grad_norm)
        if bound is not None and bound < _SAFE_STEP:
            return True
        return _sum_of_squares_is_finite(delta) and _sum_of_squares_is_finite(theta)

    def step(self) -> Record:
        """Train on one chunk and record it, whatever ``record_every`` says.

        Returns
        -------
        Record
            The new record (also ``trainer.recording[-1]``).

        Raises
        ------
        TrainingDivergedError
            If the step produced a non-finite loss, gradient or parameter (not applied).
        """
        stop = _DeferredInterrupt()
        try:
            with stop, _quiet_numerics():
                index = self._advance(record=True)
        finally:
            self._notify_end()
        if stop.requested:
            raise KeyboardInterrupt(
                f"interrupted after completing step {self._steps_done - 1} "
                "(it is trainer.recording[-1])"
            )
        assert index is not None
        return self.recording[index]

    def train(self, steps: int, progress: bool = True) -> float:
        """Train on ``steps`` consecutive chunks.

        Parameters
        ----------
        steps : int
            Number of chunks (optimizer updates), >= 0.
        progress : bool, default True
            Show a progress bar (a widget in notebooks, text in a terminal) with the
            smoothed loss and the characters per second.

        Returns
        -------
        float
            Mean per-character loss over these chunks (NaN when ``steps == 0``).

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C / kernel interrupt, after the chunk in progress has been completed:
            the next ``train`` continues from there.
        TrainingDivergedError
            If a step diverged; the chunks before it are kept, that step is not applied.
        """
        steps = _check_int("steps", steps, 0)
        start = self._steps_done
        bar = None
        stop = _DeferredInterrupt()
        try:
            with stop, _quiet_numerics():
                if progress:
                    bar = _progress_bar(steps)
                record_every = self.record_every
                advance = self._advance
                clock = time.perf_counter
                began = last_shown = clock()
                shown = 0
                for i in range(steps):
                    if stop.requested:
                        break
                    advance((start + i) % record_every == 0)
                    if bar is not None and clock() - last_shown >= 0.2:
                        last_shown = clock()
                        shown = self._refresh_bar(bar, i + 1, shown, last_shown - began)
                if bar is not None:
                    self._refresh_bar(bar, self._steps_done - start, shown, clock() - began)
        finally:
            if bar is not None:
                bar.close()
            self._notify_end()
        if stop.requested:
            raise KeyboardInterrupt(
                f"training interrupted after {self._steps_done - start} of {steps} chunks "
                f"(steps_done={self._steps_done}); call train() again to continue"
            )
        done = self._losses[start : self._steps_done]
        return float(done.mean()) if len(done) else math.nan

    def _refresh_bar(self, bar: Any, done: int, shown: int, elapsed: float) -> int:
        bar.update(done - shown)
        speed = done * self.seq_length / elapsed if elapsed > 0 else 0.0
        bar.set_postfix_str(f"loss={self.smooth_loss:.3f}, {speed:,.0f} chars/s", refresh=False)
        return done

    # ------------------------------------------------------------------ prediction
    def _vocab_index(self, name: str, text: str) -> dict[str, int]:
        """Map symbol -> vocab index, after checking that ``text`` uses only known symbols."""
        index = {symbol: i for i, symbol in enumerate(self.vocab)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            raise ValueError(
                f"{name} holds symbols outside the vocabulary: {''.join(unknown)!r}; "
                f"{name} may only use the {len(self.vocab)} symbols of trainer.vocab"
            )
        return index

    def predict(self, text: str) -> str:
        """The model's next-character guesses along ``text``, starting from a zero state.

        Parameters
        ----------
        text : str
            At least 2 characters, all in ``vocab``. The network reads ``text[:-1]``.

        Returns
        -------
        str
            ``len(text) - 1`` characters: position ``i`` is the argmax prediction of
            ``text[i + 1]`` after reading ``text[: i + 1]``. Training state is unchanged.

        Examples
        --------
        >>> trainer = CharRNNTrainer("abcabcabcabc" * 10, hidden_size=8, seq_length=4)
        >>> len(trainer.predict("abca"))
        3
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if len(text) < 2:
            raise ValueError(
                f"text must hold at least 2 characters (one to read, one to predict), "
                f"got {len(text)}"
            )
        index = self._vocab_index("text", text)
        ids = np.fromiter((index[c] for c in text), dtype=np.intp, count=len(text))
        state = self._initial_state()
        with _quiet_numerics():
            cache = self._cell.forward(self.params, ids[:-1], ids[1:], state, self.activation)
        return "".join(self.vocab[i] for i in cache.predictions)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int = 200, temperature: float = 1.0, prime: str = "") -> str:
        """Generate text from the current model, continuing from the carried hidden state.

        Parameters
        ----------
        n : int, default 200
            Number of characters to generate.
        temperature : float, default 1.0
            > 0; below 1 sharpens the distribution, above 1 flattens it.
        prime : str, default ""
            Text fed through the network first (every symbol must be in ``vocab``).

        Returns
        -------
        str
            The ``n`` generated characters (without ``prime``). Sampling uses its own
            random generator, so it does not change training.
        """
        n = _check_int("n", n, 0)
        temperature = check_positive("temperature", temperature)
        if not isinstance(prime, str):
            raise TypeError(f"prime must be a str, got {type(prime).__name__}")
        index = self._vocab_index("prime", prime)
        h, probs = self._h, self._next_probs
        forward, final_state = self._cell.forward, self._cell.final_state
        params, activation = self.params, self.activation
        dummy_target = np.zeros(1, dtype=np.intp)

        def feed(symbol: int) -> tuple[np.ndarray, np.ndarray]:
            cache = forward(params, np.array([symbol]), dummy_target, h, activation)
            return final_state(cache), cache.p[-1]

        for symbol in prime:
            h, probs = feed(index[symbol])
        out = []
        rng = self._sample_rng
        with np.errstate(divide="ignore"):
            for _ in range(n):
                logits = np.log(probs) / temperature
                q = np.exp(logits - logits.max())
                cdf = np.cumsum(q)
                symbol = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], "right")), len(q) - 1)
                out.append(self.vocab[symbol])
                h, probs = feed(symbol)
        return "".join(out)


class _DeferredInterrupt:
    """Context in which Ctrl-C (SIGINT) only sets ``requested`` instead of raising mid-step.

    Only the main thread can install signal handlers (and only it receives SIGINT); in other
    threads this does nothing. The previous handler is restored on exit.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _request(self, signum: int, frame: object) -> None:
        self.requested = True

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            # None means the previous handler was not installed from Python: fall back to
            # Python's default, which raises KeyboardInterrupt.
            previous = self._previous
            signal.signal(
                signal.SIGINT, signal.default_int_handler if previous is None else previous
            )
            self._installed = False


def _unsubscriber(listeners: list, callback: Callable) -> Callable[[], None]:
    def unsubscribe() -> None:
        if callback in listeners:
            listeners.remove(callback)

    return unsubscribe


def _quiet_numerics() -> Any:
    # Overflow and NaN are reported as TrainingDivergedError, not as numpy warnings.
    return np.errstate(over="ignore", divide="ignore", invalid="ignore")


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="chunk", desc="training", mininterval=0.2)
