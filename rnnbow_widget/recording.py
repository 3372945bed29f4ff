"""Recording: the recorded chunks of a training run, one numpy array per column.

One *record* is one chunk of ``n = seq_length`` steps: its inputs, targets and argmax
predictions (vocabulary indices), the per-step losses ``L_t``, the ``(n, n)`` itemized gradient
magnitudes ``m[t, j]``, and per-chunk numbers. The columns, their dtypes and what the browser
receives of them are defined once, in :mod:`rnnbow_widget.columns`. Magnitudes are kept as
their packed lower triangle: source ``t``, step ``j <= t`` at ``t (t + 1) / 2 + j``.

``Recording.append`` is the one way in; a trainer uses it too. The summary numbers of the
magnitudes (``rnnbow_widget.metrics``) are worked out for many records at once, when a
column is first read after new records arrived.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rnnbow_widget import metrics, npzfile
from rnnbow_widget.checks import (
    check_bool,
    check_indices,
    check_int,
    check_json_dict,
    check_number,
    check_real_array,
)
from rnnbow_widget.columns import (
    COLUMN_NAMES,
    COLUMNS,
    DERIVED_COLUMNS,
    OPTIONAL_COLUMNS,
    WIRE_COLUMNS,
    Column,
    allocate,
    check_columns,
)
from rnnbow_widget.record import Record
from rnnbow_widget.units import ARRAY_KEYS as UNIT_KEYS
from rnnbow_widget.units import UnitStore
from rnnbow_widget.vocabulary import Vocabulary, check_vocab

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "FORMAT_MARKER",
    "FORMAT_VERSION",
    "WIRE_COLUMNS",
    "Column",
    "Record",
    "Recording",
]

FORMAT_MARKER = "rnnbow_widget.recording"
FORMAT_VERSION = 3
"""Version 2 adds the optional per-unit arrays (``units_*``), version 3 the optional
``example_magnitudes`` column; a file is written with the lowest version that holds it, which
older readers still open."""

INT32_MAX = int(np.iinfo(np.int32).max)

NO_OFFSET = -1
"""The stored ``offset`` of a record appended without one."""

SUMMARY_BLOCK = 64
"""Records summarized at once: a few dozen cost 4-9 us each, two thousand at once 16 us
(their (k, n, n) arrays no longer fit the CPU's caches; ``benchmarks/bench_recording.py``)."""


class Recording:
    """The recorded chunks of a run: append one at a time, read by index or by column.

    Parameters
    ----------
    seq_length : int
        ``n``, the number of steps per chunk (every record has this length).
    vocab : Sequence[str]
        The tokens (characters, words, any labels); id ``i`` means ``vocab[i]``.
    meta : dict or None
        JSON-serializable facts about the run (hidden size, cell, title, ...). Saved with the
        recording and sent to the widget.

    Attributes
    ----------
    seq_length : int
    vocab : tuple of str
    meta : dict
    units : UnitStore or None
        Per-unit drilldown data (:mod:`rnnbow_widget.units`), when recorded.

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(seq_length=3, vocab="abc", meta={"title": "demo"})
    >>> r = rec.append(step=0, inputs=[0, 1, 2], targets=[1, 2, 0], predictions=[1, 1, 0],
    ...                losses=[1.0, 2.0, 0.5], magnitudes=np.tril(np.ones((3, 3))))
    >>> len(rec), r.inputs, r.targets, r.predictions, round(r.accuracy, 3)
    (1, 'abc', 'bca', 'bba', 0.667)
    >>> rec[-1].magnitudes.shape, rec.column("magnitudes").shape  # packed: 3 * 4 / 2
    ((3, 3), (1, 6))
    """

    def __init__(self, seq_length: int, vocab: Sequence[str], meta: dict | None = None) -> None:
        self.seq_length = check_int("seq_length", seq_length, minimum=1, maximum=65535)
        self.vocab: tuple[str, ...] = check_vocab(vocab)
        self._vocabulary = Vocabulary(self.vocab)
        self.meta: dict = check_json_dict("meta", meta)
        self.units: UnitStore | None = None
        self._count = 0
        # Another thread may read while a trainer appends: a followed run directory's poller,
        # or the kernel's subshell answering the browser during a cell (ipykernel 7).
        self._lock = threading.RLock()
        self._summarized = 0  # records whose derived columns are worked out
        self._lower = np.tril_indices(self.seq_length)  # (t, j) of the packed triangle
        self._data = allocate(COLUMNS, 64, self.seq_length, len(self.vocab))

    # ----------------------------------------------------------------- writing
    def append(
        self,
        *,
        step: int,
        inputs: Any,
        targets: Any,
        predictions: Any,
        losses: Any,
        magnitudes: Any,
        offset: int | None = None,
        grad_norm: float | None = None,
        clipped: bool = False,
        smooth_loss: float | None = None,
        example_magnitudes: Any = None,
    ) -> Record:
        """Store one chunk; nothing is stored if any field is invalid.

        The first six fields are what every recording needs; the others are what only a
        trainer knows, and the views show them where they are given.

        Parameters
        ----------
        step : int
            Training step of the chunk (e.g. optimizer steps before it), in
            ``[0, 2**31 - 1]``; the overview orders and labels records by it.
        inputs, targets, predictions : array_like of int, shape (n,)
            Token ids (positions in ``vocab``): the chunk's inputs, the true next tokens and
            the model's guesses of them.
        losses : array_like of float, shape (n,)
            Per-step losses ``L_t``.
        magnitudes : array_like of float, shape (n, n)
            ``m[t, j]``, the size of the gradient loss ``t`` sends to step ``j``; non-negative;
            entries above the diagonal are not stored.
        offset : int, optional
            Position of the first input in the corpus, in ``[0, 2**31 - 1]``.
        grad_norm : float, optional
            Global gradient norm before clipping.
        clipped : bool, optional
            Whether clipping changed the gradient (default False: no clipping mark).
        smooth_loss : float, optional
            A running average of the loss (the overview's loss line; the chunk's own loss
            when not given).
        example_magnitudes : array_like of float, shape (n, n), optional
            For a batch: the magnitudes of the sequence ``inputs`` come from, its own losses'
            gradients (``magnitudes`` are the batch's). Given for every record or for none.

        Returns
        -------
        Record
            The new record (``self[-1]``).

        Raises
        ------
        ValueError, TypeError
            When a field has the wrong shape, type or range (the message names the field).
        """
        n = self.seq_length
        row = {
            "step": check_int("step", step, minimum=0, maximum=INT32_MAX),
            "offset": NO_OFFSET
            if offset is None
            else check_int("offset", offset, minimum=0, maximum=INT32_MAX),
            "inputs": check_indices("inputs", inputs, len(self.vocab), n),
            "targets": check_indices("targets", targets, len(self.vocab), n),
            "predictions": check_indices("predictions", predictions, len(self.vocab), n),
            "losses": check_real_array("losses", losses, (n,)),
            "magnitudes": self._check_magnitudes(magnitudes),
            "grad_norm": np.nan if grad_norm is None else check_number("grad_norm", grad_norm),
            "clipped": check_bool("clipped", clipped),
            "smooth_loss": np.nan
            if smooth_loss is None
            else check_number("smooth_loss", smooth_loss),
        }
        if smooth_loss is None:
            row["smooth_loss"] = float(np.mean(row["losses"], dtype=np.float64))
        if example_magnitudes is not None:
            row["example_magnitudes"] = self._check_magnitudes(example_magnitudes, "example_")
        with self._lock:
            self._adopt(row.keys() - set(COLUMN_NAMES), "append")
            self._reserve(self._count + 1)
            for name, value in row.items():
                self._data[name][self._count] = value
            self._count += 1
            return Record(self, self._count - 1)

    def _check_magnitudes(self, value: Any, prefix: str = "") -> np.ndarray:
        """The packed lower triangle of ``value``, after checking it is (n, n), real, >= 0."""
        n, name = self.seq_length, f"{prefix}magnitudes"
        lower = check_real_array(name, value, (n, n))[self._lower]
        if lower.min() < 0:
            raise ValueError(
                f"{name} must be >= 0 (they are norms), got a minimum of {lower.min():g}"
            )
        return lower

    def _adopt(self, optional: set[str], way: str) -> None:
        """Hold the optional columns ``optional`` (names of :data:`OPTIONAL_COLUMNS`): the
        first records decide, later ones must bring the same (call with the lock held)."""
        held = set(self._data) - set(COLUMN_NAMES)
        if self._count and optional != held:
            raise ValueError(
                f"{way}: this recording's records have {sorted(held) or 'no optional columns'}"
                f", these have {sorted(optional) or 'none'}: give them for every record or none"
            )
        for name in held - optional:
            del self._data[name]
        new = [column for column in OPTIONAL_COLUMNS if column.name in optional - held]
        capacity = len(self._data["step"])
        self._data.update(allocate(new, capacity, self.seq_length, len(self.vocab)))

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns this recording holds: :data:`COLUMN_NAMES`, then the optional ones its
        records have (``"example_magnitudes"``)."""
        return (*COLUMN_NAMES, *(c.name for c in OPTIONAL_COLUMNS if c.name in self._data))

    def _summarize(self) -> None:
        """Work out the derived columns of the records appended since the last call, in
        blocks of :data:`SUMMARY_BLOCK` records."""
        with self._lock:
            self._summarize_new()

    def _summarize_new(self) -> None:
        n, data, (rows, cols) = self.seq_length, self._data, self._lower
        for start in range(self._summarized, self._count, SUMMARY_BLOCK):
            stop = min(start + SUMMARY_BLOCK, self._count)
            magnitudes = np.zeros((stop - start, n, n))
            magnitudes[:, rows, cols] = data["magnitudes"][start:stop]
            numbers = metrics.summarize_many(magnitudes)
            numbers["loss"] = data["losses"][start:stop].mean(axis=1, dtype=np.float64)
            hits = data["targets"][start:stop] == data["predictions"][start:stop]
            numbers["accuracy"] = hits.mean(axis=1)
            for name in DERIVED_COLUMNS:
                data[name][start:stop] = numbers[name]
            self._summarized = stop

    # ----------------------------------------------------------------- reading
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            self._summarize()
            return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.RLock())

    def __len__(self) -> int:
        return self._count

    @property
    def is_character_vocab(self) -> bool:
        """True when every token is one character (a character model's vocabulary)."""
        return self._vocabulary.is_characters

    def tokens(self, ids: np.ndarray) -> list[str]:
        """The tokens of ``ids``."""
        return [self.vocab[i] for i in ids.tolist()]

    def decode(self, ids: np.ndarray) -> str:
        """The tokens of ``ids`` as text: joined as they are for a character vocabulary,
        with spaces between longer tokens."""
        return self._vocabulary.decode(ids.tolist())

    def __getitem__(self, key: int | slice) -> Record | Recording:
        """``rec[i]`` (negative counts from the end) is a :class:`Record`; ``rec[a:b]`` a new
        recording of those records (with their per-unit data)."""
        if isinstance(key, slice):
            part = Recording(self.seq_length, self.vocab, self.meta)
            with self._lock:
                self._summarize()
                part._data = {
                    name: column[: self._count][key].copy() for name, column in self._data.items()
                }
                part._count = part._summarized = len(part._data["step"])
                if self.units is not None:
                    part.units = self.units.take(range(self._count)[key])
            return part
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise TypeError(
                f"Recording index must be an int or a slice, got {type(key).__name__} {key!r}"
            )
        if not -self._count <= key < self._count:
            raise IndexError(f"record index {key} out of range for a recording of {self._count}")
        return Record(self, int(key) % self._count)

    def __iter__(self) -> Iterator[Record]:
        for i in range(self._count):
            yield Record(self, i)

    def __repr__(self) -> str:
        return (
            f"Recording({self._count} records, seq_length={self.seq_length}, "
            f"vocab of {len(self.vocab)})"
        )

    @property
    def nbytes(self) -> int:
        """Bytes of the filled part of all columns (what ``save`` writes uncompressed)."""
        return sum(self.column(name).nbytes for name in self.column_names)

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Records ``start`` to ``stop`` of one column, as a read-only view.

        Parameters
        ----------
        name : str
            One of :attr:`column_names`.
        start, stop : int
            The records, ``0 <= start <= stop <= len(self)``; ``stop=None`` means the end.

        Returns
        -------
        numpy.ndarray
            ``(records,)`` for per-record numbers, ``(records, n)`` for ``inputs``, ``targets``,
            ``predictions`` and ``losses``, ``(records, n(n+1)/2)`` for the packed
            ``magnitudes`` (and ``example_magnitudes``).

        Examples
        --------
        >>> Recording(4, "ab").column("loss").shape
        (0,)
        """
        if name not in self._data:
            raise ValueError(f"unknown column {name!r}; expected one of {sorted(self._data)}")
        with self._lock:
            start = check_int("start", start, minimum=0, maximum=self._count)
            stop = self._count if stop is None else check_int("stop", stop, maximum=self._count)
            if stop < start:
                raise ValueError(f"stop must be >= start, got start={start}, stop={stop}")
            if name in DERIVED_COLUMNS:
                self._summarize()
            view = self._data[name][start:stop].view()
        view.flags.writeable = False
        return view

    def columns(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """The columns the browser receives (:data:`WIRE_COLUMNS`, and the optional ones held)
        of records ``start`` to ``stop``, as read-only views keyed by name (float32)."""
        names = (*WIRE_COLUMNS, *self.column_names[len(COLUMN_NAMES) :])
        return {name: self.column(name, start, stop) for name in names}

    def extend(self, columns: dict[str, np.ndarray]) -> int:
        """Append many records at once, given as columns in the form :meth:`save` writes
        (every name of :data:`COLUMN_NAMES` and the optional columns the recording's records
        have, one row per record); returns the new length.

        Everything is checked first (names, dtypes, shapes, vocabulary ids); on an error
        nothing is appended.

        Raises
        ------
        ValueError
            Naming the first column that does not fit.
        """
        count = len(columns.get("step", ()))
        check_columns(columns, count, self.seq_length, len(self.vocab))
        if not count:
            return self._count
        with self._lock:
            self._adopt(set(columns) - set(COLUMN_NAMES), "extend")
            self._summarize()
            self._reserve(self._count + count)
            for name in self.column_names:
                self._data[name][self._count : self._count + count] = columns[name]
            self._count += count
            self._summarized = self._count
            return self._count

    def _reserve(self, records: int) -> None:
        """Room for ``records`` records; columns grow by doubling (amortized O(1) a record)."""
        capacity = len(self._data["step"])
        if records <= capacity:
            return
        capacity = max(2 * capacity, records, 64)  # a loaded file may hold none
        bigger = {
            name: np.zeros((capacity, *c.shape[1:]), c.dtype) for name, c in self._data.items()
        }
        for name, column in self._data.items():
            bigger[name][: self._count] = column[: self._count]
        self._data = bigger

    # ------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike[str], *, compress: bool = False) -> None:
        """Write the recording to ``path`` as an ``.npz`` file, atomically.

        The file holds one array per column (and the per-unit arrays when there are any),
        plus a header (format marker, version, seq_length, vocab, meta as UTF-8 JSON); it
        never holds Python objects. ``path`` is used as given (no suffix is added).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.
        compress : bool, default False
            zlib-compress the columns: about a fifth smaller and about 8x slower to save
            (``benchmarks/bench_recording.py``).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> rec = Recording(2, "ab", meta={"title": "t"})
        >>> _ = rec.append(step=0, offset=0, inputs=[0, 1], targets=[1, 0], predictions=[1, 1],
        ...                losses=[0.5, 0.25], magnitudes=[[1, 0], [0.5, 1]], grad_norm=1.0,
        ...                clipped=False, smooth_loss=0.4)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
        >>> rec.save(path)
        >>> back = Recording.load(path)
        >>> len(back), back.vocab, back.meta, back[0].predictions
        (1, ('a', 'b'), {'title': 't'}, 'bb')
        """
        with self._lock:  # one consistent count for the header and every column
            arrays = {name: self.column(name) for name in self.column_names}
        header = {
            "format": FORMAT_MARKER,
            "version": 3 if len(arrays) > len(COLUMN_NAMES) else 1 if self.units is None else 2,
            "seq_length": self.seq_length,
            "count": len(arrays["step"]),
            "vocab": list(self.vocab),
            "meta": self.meta,
        }
        if self.units is not None:
            arrays.update(self.units.to_arrays())
        npzfile.write(path, header, arrays, compress=compress)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recording:
        """Read a recording written by :meth:`save`, checking it thoroughly.

        Never unpickles anything. Every column comes back bitwise equal to what was saved.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is truncated or corrupt, is not a recording, was written by a newer
            version, or is inconsistent (shapes, dtypes, lengths, JSON, vocabulary indices).
            The message names the file and the problem.
        """
        try:
            return cls._from_file(*npzfile.read(path))
        except npzfile.FileProblem as problem:
            raise ValueError(f"cannot load recording {str(path)!r}: {problem}") from None

    @classmethod
    def _from_file(cls, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Recording:
        keys = {"format", "version", "seq_length", "count", "vocab", "meta"}
        version = npzfile.check_format(header, FORMAT_MARKER, FORMAT_VERSION, keys)
        count = header["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise npzfile.FileProblem(f"header count must be an int >= 0, got {count!r}")
        try:
            recording = cls(header["seq_length"], header["vocab"], header["meta"])
        except (TypeError, ValueError) as error:
            raise npzfile.FileProblem(f"header is inconsistent: {error}") from None
        has_units = version >= 2 and bool(set(arrays) & set(UNIT_KEYS))
        columns = {name: a for name, a in arrays.items() if not has_units or name not in UNIT_KEYS}
        if has_units and not set(UNIT_KEYS) <= set(arrays):
            missing = sorted(set(UNIT_KEYS) - set(arrays))
            raise npzfile.FileProblem(f"columns do not match: missing {missing}, unexpected []")
        try:
            check_columns(columns, count, recording.seq_length, len(recording.vocab))
        except ValueError as error:
            raise npzfile.FileProblem(str(error)) from None
        recording._data = dict(columns)
        recording._count = recording._summarized = count
        if has_units:
            try:
                units = {key: arrays[key] for key in UNIT_KEYS}
                recording.units = UnitStore.from_arrays(
                    units, recording.seq_length, count, recording.meta.get("horizon")
                )
            except ValueError as error:
                raise npzfile.FileProblem(f"per-unit data is inconsistent: {error}") from None
        return recording
