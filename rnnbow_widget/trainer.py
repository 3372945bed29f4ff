"""CharRNNTrainer: a character-level recurrent network, trained chunk by chunk and recorded.

The loop is min-char-rnn's: the corpus is read in consecutive chunks of ``n = seq_length``
characters (inputs ``text[p : p + n]``, targets ``text[p + 1 : p + n + 1]``), the hidden state
is carried from one chunk to the next, and each chunk is one optimizer step on the BPTT
gradient. When fewer than ``n + 1`` characters remain, the cursor wraps to 0 and the state is
reset to zeros.

Every ``record_every`` chunks (and on every ``step()`` call) the same forward cache also goes
to the itemized-gradient engine (:mod:`rnnbow_widget.engine`) and the chunk is appended to
``trainer.recording``; record listeners (the widget) are then called.

State changes only after a step has fully succeeded, so an interrupt (Ctrl-C, a kernel
interrupt) or a diverging step never leaves the trainer half-updated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnbow_widget import engine, sampling
from rnnbow_widget.cells import get_cell
from rnnbow_widget.checks import (
    check_bool,
    check_choice,
    check_float_dtype,
    check_int,
    check_positive,
)
from rnnbow_widget.divergence import TrainingDivergedError, diverged, quiet_numerics
from rnnbow_widget.events import Listeners
from rnnbow_widget.interrupt import DeferredInterrupt
from rnnbow_widget.optim import Optimizer, check_optimizer_name, clip_gradients, make_optimizer
from rnnbow_widget.parameters import ParameterVector
from rnnbow_widget.progress import TrainingProgress
from rnnbow_widget.recording import Record, Recording
from rnnbow_widget.rundir import RunWriter
from rnnbow_widget.units import DEFAULT_BUDGET_MB, UnitStore, check_budget
from rnnbow_widget.vocabulary import prepare

__all__ = ["CELLS", "CharRNNTrainer", "TrainingDivergedError"]

Params = dict[str, np.ndarray]
CELLS = ("rnn", "lstm", "gru")


class CharRNNTrainer:
    """Train a character-level recurrent network and record its itemized gradients.

    Parameters
    ----------
    text : str, sequence of str, or array_like of int
        Training corpus, with at least ``seq_length + 1`` tokens: a string (split into
        characters, or into words with ``tokens="word"``), a sequence of tokens you split
        yourself (words, subword pieces, any labels), or an int array of token ids with
        ``vocab``.
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
        ``"rnn"`` (the paper's vanilla cell), ``"lstm"`` or ``"gru"``
        (:mod:`rnnbow_widget.cells`).
    activation : str, default "tanh"
        ``"tanh"`` (the paper's cell) or ``"relu"`` (vanilla cell only).
    optimizer : str, default "adagrad"
        ``"adagrad"``, ``"sgd"`` or ``"adam"``.
    clip : float or None, default 5.0
        Element-wise gradient clipping bound; ``None`` disables it.
    clip_norm : float or None, default None
        Global-norm gradient clipping bound; ``None`` disables it.
    init_scale : float, default 0.1
        Approximate spectral radius of the initial ``W_hh`` (see ``cells.rnn.init_params``).
    horizon : int or None, default None
        If set, recorded magnitudes only cover pairs with ``t - j < horizon`` (cheaper; values
        above ``seq_length`` mean every pair); ``None`` computes every pair.
    wrt : str, default "W_hh"
        Parameter whose itemized gradient is recorded.
    norm : str, default "fro"
        ``"fro"`` (Frobenius) or ``"mean_abs"`` (mean absolute entry, the paper's "averaged
        over hidden nodes").
    name : str or None
        Title of the run, stored in the recording's ``meta``.
    units_budget_mb : float, default 256
        Memory budget (MiB) for the per-unit drilldown: each hidden unit's share of every
        record (``trainer.recording.units``, a :class:`~rnnbow_widget.units.UnitStore`, about
        65 KB per record at n = 25, H = 100; 23 KB with ``horizon=5``). Over budget, every
        other kept record is dropped, so the kept ones still span training. 0 keeps none.
    dtype : str, default "float64"
        Precision of the parameters, the optimizer state and the forward and backward passes:
        ``"float64"`` (the paper's) or ``"float32"`` (PyTorch's default, faster). Recorded
        magnitudes are always computed in float64.
    tokens : {"char", "word"}, default "char"
        How a string ``text`` is split: one token per character, or one per word and
        punctuation mark (:func:`rnnbow_widget.vocabulary.split`).
    vocab : sequence of str, optional
        A fixed vocabulary (token ``i`` is ``vocab[i]``); required for a corpus of ids.
        Without it the vocabulary is the corpus's distinct tokens, sorted.
    run_dir : str or os.PathLike, optional
        Also write the records to this run directory as training goes (at most every 0.5 s,
        and when ``train``/``step`` returns), for a notebook to follow with
        ``RNNbow(run_dir)`` (:class:`~rnnbow_widget.rundir.RunWriter`; the per-unit data
        stays in this process). ``trainer.run.close()`` marks the run finished.

    Attributes
    ----------
    params : dict of numpy.ndarray
        The live parameters (``W_xh, W_hh, W_hy, b_h, b_y``), updated in place (views into one
        vector: change them in place, ``params["W_hh"][...] = ...``, rather than replace them).
    vocab : str or tuple of str
        The vocabulary: for characters a string of the sorted distinct characters, otherwise
        a tuple of tokens.
    recording : Recording
        Every recorded chunk so far.
    run : RunWriter or None
        The writer of ``run_dir``, when given.
    optimizer : Optimizer
        The optimizer.

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
        units_budget_mb: float = DEFAULT_BUDGET_MB,
        dtype: str = "float64",
        tokens: str = "char",
        vocab: Sequence[str] | None = None,
        run_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._vocabulary, self._data = prepare(text, tokens, vocab)
        self.seq_length = check_int("seq_length", seq_length, minimum=2)
        if len(self._data) < self.seq_length + 1:
            unit = "characters" if self._vocabulary.is_characters else "tokens"
            raise ValueError(
                f"text must have at least seq_length + 1 = {self.seq_length + 1} {unit} "
                f"(one chunk of inputs plus its next-token target), got {len(self._data)}"
            )
        self.hidden_size = H = check_int("hidden_size", hidden_size, minimum=1)
        learning_rate = check_positive("learning_rate", learning_rate)
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        self.record_every = check_int("record_every", record_every, minimum=1)
        self.cell = check_choice("cell", cell, CELLS)
        self._cell = get_cell(cell)
        self.activation = check_choice(
            "activation", activation, self._cell.ACTIVATIONS, f" for cell {cell!r}"
        )
        self.optimizer_name = check_optimizer_name(optimizer)
        self.clip = check_positive("clip", clip, allow_none=True)
        self.clip_norm = check_positive("clip_norm", clip_norm, allow_none=True)
        self.init_scale = check_positive("init_scale", init_scale)
        self.horizon = None if horizon is None else check_int("horizon", horizon, minimum=1)
        self.wrt = check_choice("wrt", wrt, engine.WRT_CHOICES)
        self.norm = check_choice("norm", norm, engine.NORM_CHOICES)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        units_budget = check_budget(units_budget_mb)
        self._dtype = check_float_dtype(dtype)
        self.dtype = self._dtype.name

        symbols = self._vocabulary.symbols
        self.vocab: str | tuple[str, ...] = (
            "".join(symbols) if self._vocabulary.is_characters else symbols
        )
        V = len(self.vocab)
        init_seq, sample_seq = np.random.SeedSequence(seed).spawn(2)
        initial = self._cell.init_params(V, H, np.random.default_rng(init_seq), self.init_scale)
        self._vector = ParameterVector(initial, self._dtype)
        self.params: Params = self._vector.params
        self._sample_rng = np.random.default_rng(sample_seq)
        self.optimizer: Optimizer = make_optimizer(
            self.optimizer_name, learning_rate, {"theta": self._vector.theta}
        )

        self._state = self._cell.initial_state(H, self._dtype)
        self._position = 0
        self._steps_done = 0
        self._losses: list[float] = []
        self.smooth_loss = math.log(V)
        self._next_y = np.full(V, 1.0 / V)  # next-symbol distribution from the carried state
        self._record_listeners, self._end_listeners = Listeners(), Listeners()

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
                "corpus_length": len(self._data),
                "learning_rate": self.learning_rate,
                "seq_length": self.seq_length,
                "init_scale": self.init_scale,
                "optimizer": self.optimizer_name,
                "horizon": self.horizon,
                "dtype": self.dtype,
            },
        )
        if units_budget > 0:
            self.recording.units = UnitStore(self.seq_length, H, units_budget, self.horizon)
        self.run = None if run_dir is None else RunWriter(run_dir, source=self.recording)
        if self.run is not None:
            self.on_record(lambda _: self.run.flush_if_due(), decoded=False)
            self.on_train_end(self.run.flush)

    # ------------------------------------------------------------------ state
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
        """Copy of the state carried into the next chunk: (H,), or (2, H) ``[h; c]`` (LSTM)."""
        return self._state.copy()

    @property
    def loss_history(self) -> np.ndarray:
        """Mean per-character loss of every chunk trained on, shape ``(steps_done,)``."""
        return np.array(self._losses)

    def __repr__(self) -> str:
        return (
            f"CharRNNTrainer(vocab={len(self.vocab)}, hidden_size={self.hidden_size}, "
            f"seq_length={self.seq_length}, steps_done={self._steps_done}, "
            f"records={len(self.recording)}, smooth_loss={self.smooth_loss:.4f})"
        )

    # ------------------------------------------------------------------ listeners
    def on_record(
        self, callback: Callable[[Any], Any], *, decoded: bool = True
    ) -> Callable[[], None]:
        """Call ``callback(record)`` after each new record; returns a function that unsubscribes.

        Parameters
        ----------
        callback : callable
            Called with the new :class:`~rnnbow_widget.recording.Record`.
        decoded : bool, default True
            False calls ``callback(index)`` with the record's index in ``trainer.recording``
            instead.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if check_bool("decoded", decoded):
            return self._record_listeners.add(callback)
        return self._record_listeners.add(lambda record: callback(record.index))

    def on_train_end(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` whenever ``train()``/``step()`` ends; returns an unsubscriber."""
        return self._end_listeners.add(callback)

    # ------------------------------------------------------------------ training
    def _advance(self, record: bool) -> Record | None:
        """Train on one chunk (and record it); state changes only after every check."""
        n, step, cell = self.seq_length, self._steps_done, self._cell
        position, state = self._position, self._state
        if position + n + 1 > len(self._data):
            position, state = 0, cell.initial_state(self.hidden_size, self._dtype)
        inputs = self._data[position : position + n]
        targets = self._data[position + 1 : position + n + 1]

        cache = cell.forward(self.params, inputs, targets, state, self.activation)
        loss = float(cache.losses.sum()) / n
        if not math.isfinite(loss):
            raise diverged(self, step, "loss")
        cell.backward(self.params, cache, out=self._vector.grads)  # fills self._vector.grad
        grads = {"theta": self._vector.grad}
        # The itemized gradients use the parameters before the update, as BPTT did.
        walk = engine.walk(cell, self.params, cache, min(self.horizon or n, n)) if record else None
        report = clip_gradients(grads, self.clip, self.clip_norm)
        if not math.isfinite(report.grad_norm):
            raise diverged(self, step, "gradient")
        delta = self.optimizer.propose(grads)["theta"]
        if not self._vector.apply(delta, self.optimizer.step_bound(report.grad_norm)):
            raise diverged(self, step, "parameters")

        self.optimizer.commit()  # the step is applied: commit the rest
        self._state = cache.final_state
        self._next_y = cache.y[-1]
        self._position = position + n
        self._losses.append(loss)
        self.smooth_loss = 0.999 * self.smooth_loss + 0.001 * loss
        self._steps_done = step + 1
        if walk is None:
            return None
        new = self.recording.append(
            step=step,
            offset=position,
            inputs=inputs,
            targets=targets,
            predictions=cache.predictions,
            losses=cache.losses,
            magnitudes=engine.magnitudes(walk, self.wrt, self.norm),
            grad_norm=report.grad_norm,
            clipped=report.clipped,
            smooth_loss=self.smooth_loss,
        )
        if self.recording.units is not None:
            self.recording.units.put(new.index, engine.unit_contributions(walk, self.wrt))
        self._record_listeners.call(new)
        return new

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
        stop = DeferredInterrupt()
        try:
            with stop, quiet_numerics():
                record = self._advance(record=True)
        finally:
            self._end_listeners.call()
        if stop.requested:
            raise KeyboardInterrupt(
                f"interrupted after completing step {self._steps_done - 1} "
                "(it is trainer.recording[-1])"
            )
        assert record is not None
        return record

    def train(self, steps: int, progress: bool = True) -> float:
        """Train on ``steps`` consecutive chunks.

        Parameters
        ----------
        steps : int
            Number of chunks (optimizer updates), >= 0.
        progress : bool, default True
            Show a progress bar (a widget in notebooks, text in a terminal) with the smoothed
            loss and the characters per second.

        Returns
        -------
        float
            Mean per-character loss over these chunks (NaN when ``steps == 0``).

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C / kernel interrupt, after the chunk in progress has been completed: the
            next ``train`` continues from there.
        TrainingDivergedError
            If a step diverged; the chunks before it are kept, that step is not applied.
        """
        steps = check_int("steps", steps, minimum=0)
        start = self._steps_done
        unit = "chars" if self._vocabulary.is_characters else "tokens"
        bar = TrainingProgress(steps, self.seq_length, unit) if progress else None
        stop = DeferredInterrupt()
        try:
            with stop, quiet_numerics():
                for i in range(steps):
                    if stop.requested:
                        break
                    self._advance((start + i) % self.record_every == 0)
                    if bar is not None:
                        bar.update(self._steps_done - start, self.smooth_loss)
        finally:
            if bar is not None:
                bar.close(self._steps_done - start, self.smooth_loss)
            self._end_listeners.call()
        if stop.requested:
            raise KeyboardInterrupt(
                f"training interrupted after {self._steps_done - start} of {steps} chunks "
                f"(steps_done={self._steps_done}); call train() again to continue"
            )
        done = self._losses[start:]
        return float(np.mean(done)) if done else math.nan

    # ------------------------------------------------------------------ using the model
    def predict(self, text: str | Sequence[str]) -> str:
        """The model's next-token guesses along ``text``, starting from a zero state.

        Parameters
        ----------
        text : str or sequence of str
            At least 2 tokens, all in ``vocab``: a string (split as the corpus was) or a
            sequence of tokens. The network reads all but the last.

        Returns
        -------
        str
            One guess per token after the first, as text: for a character model,
            ``len(text) - 1`` characters, position ``i`` the argmax prediction of
            ``text[i + 1]`` after reading ``text[: i + 1]``; for other vocabularies the
            guessed tokens separated by spaces. Training state is unchanged.

        Examples
        --------
        >>> trainer = CharRNNTrainer("abcabcabcabc" * 10, hidden_size=8, seq_length=4)
        >>> len(trainer.predict("abca"))
        3
        """
        ids = self._vocabulary.encode_text(text, "text")
        if len(ids) < 2:
            raise ValueError(
                f"text must hold at least 2 tokens (one to read, one to predict), got {len(ids)}"
            )
        state = self._cell.initial_state(self.hidden_size, self._dtype)
        with quiet_numerics():
            cache = self._cell.forward(self.params, ids[:-1], ids[1:], state, self.activation)
        return self._vocabulary.decode(cache.predictions)

    def sample(
        self, n: int = 200, temperature: float = 1.0, prime: str | Sequence[str] = ""
    ) -> str:
        """Generate text from the current model, continuing from the carried hidden state.

        Parameters
        ----------
        n : int, default 200
            Number of tokens (characters, for a character model) to generate.
        temperature : float, default 1.0
            > 0; below 1 sharpens the distribution, above 1 flattens it.
        prime : str or sequence of str, default ""
            Text fed through the network first (every token must be in ``vocab``).

        Returns
        -------
        str
            The ``n`` generated tokens as text (without ``prime``). Sampling uses its own random
            generator, so it does not change training.
        """
        n = check_int("n", n, minimum=0)
        temperature = check_positive("temperature", temperature)
        primer = self._vocabulary.encode_text(prime, "prime")
        cell, params, activation = self._cell, self.params, self.activation
        state, y = self._state, self._next_y
        if len(primer):
            state, y = sampling.feed(cell, params, primer, state, activation)
        ids = sampling.draw(cell, params, state, y, n, temperature, self._sample_rng, activation)
        return self._vocabulary.decode(ids)
