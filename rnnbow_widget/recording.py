"""Recording: a growable, columnar store of recorded training chunks, with .npz save/load.

One *record* is one chunk of ``n = seq_length`` characters: its inputs, targets and
argmax predictions (vocabulary indices), the per-step losses ``L_t`` and the ``(n, n)``
itemized gradient magnitudes ``m[t, j]``, plus per-chunk numbers (loss, gradient norm,
summary metrics from :mod:`rnnbow_widget.metrics`).

Storage is one numpy array per column, grown by doubling, so appending is cheap and a
block of records can be sent to the browser as a handful of contiguous buffers
(``docs/data-contract.md``). The magnitudes are kept as their packed lower triangle:
source ``t``, step ``j <= t`` at index ``t (t + 1) / 2 + j``, ``n (n + 1) / 2`` float32
values per record.
"""

from __future__ import annotations

import contextlib
import copy
import json
import operator
import os
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.npyio import NpzFile

from rnnbow_widget.metrics import check_magnitudes, summarize_many
from rnnbow_widget.units import ARRAY_KEYS as _UNIT_KEYS
from rnnbow_widget.units import UnitStore

__all__ = ["FORMAT_MARKER", "FORMAT_VERSION", "WIRE_COLUMNS", "Record", "Recording"]

FORMAT_MARKER = "rnnbow_widget.recording"
FORMAT_VERSION = 2
"""Version 2 adds the optional per-unit arrays (``units_*``); files without them are written
as version 1, which older readers still open."""
_HEADER_KEY = "header"

#: Columns sent to the browser, in the order of ``docs/data-contract.md``.
WIRE_COLUMNS = (
    "step",
    "offset",
    "loss",
    "smooth_loss",
    "max_gradient",
    "mean_gradient",
    "grad_norm",
    "clipped",
    "effective_horizon",
    "reach",
    "targets",
    "predictions",
    "losses",
    "magnitudes",
)
# Scalar float32 columns, in the order Record lists them.
_FLOAT_COLUMNS = (
    "loss",
    "smooth_loss",
    "grad_norm",
    "max_gradient",
    "mean_gradient",
    "effective_horizon",
    "reach",
    "accuracy",
)
_INDEX_COLUMNS = ("inputs", "targets", "predictions")
_ALL_COLUMNS = (
    "step",
    "offset",
    "clipped",
    *_FLOAT_COLUMNS,
    *_INDEX_COLUMNS,
    "losses",
    "magnitudes",
)
_INT32_MAX = np.iinfo(np.int32).max
_INITIAL_CAPACITY = 64
# Records a trainer may queue before they are written to the columns (about 5 KB each at
# n = 25 until then).
_QUEUE_LIMIT = 256


@dataclass(frozen=True, eq=False)
class Record:
    """One recorded chunk, decoded for reading (arrays are read-only copies).

    Attributes
    ----------
    index : int
        Position of the record in its :class:`Recording`.
    step : int
        Training chunk index (0-based count of optimizer steps before this chunk).
    offset : int
        Position in the corpus of the chunk's first input character.
    inputs, targets, predictions : str
        The chunk's input characters, the true next characters and the argmax predictions,
        decoded with the vocabulary (``targets[i]`` is what ``predictions[i]`` tried to guess).
    losses : numpy.ndarray
        ``(n,)`` float32, per-step loss ``L_t``.
    magnitudes : numpy.ndarray
        ``(n, n)`` float32, ``[t, j]`` itemized gradient size of loss ``t`` at step ``j``;
        zero for ``j > t``.
    loss : float
        Mean of ``losses``.
    smooth_loss : float
        The trainer's smoothed loss at this step.
    grad_norm : float
        Global norm of the BPTT gradient before clipping.
    clipped : bool
        Whether clipping changed the gradient.
    max_gradient, mean_gradient, effective_horizon, reach : float
        Summary metrics of ``magnitudes`` (see :mod:`rnnbow_widget.metrics`).
    accuracy : float
        Fraction of predictions equal to targets.
    """

    index: int
    step: int
    offset: int
    inputs: str
    targets: str
    predictions: str
    losses: np.ndarray
    magnitudes: np.ndarray
    loss: float
    smooth_loss: float
    grad_norm: float
    clipped: bool
    max_gradient: float
    mean_gradient: float
    effective_horizon: float
    reach: float
    accuracy: float


def _as_index(value: Any, name: str, minimum: int = 0, maximum: int = _INT32_MAX) -> int:
    """``value`` as a Python int in ``[minimum, maximum]``, else TypeError/ValueError."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {number}")
    return number


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a float, got bool {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a float, got {type(value).__name__} {value!r}") from None


def _index_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every vocabulary index fits, int32 beyond 65535 symbols (data contract)."""
    return np.dtype(np.uint16) if vocab_size <= 65535 else np.dtype(np.int32)


def _check_vocab(vocab: Any) -> tuple[str, ...]:
    if isinstance(vocab, str):
        # A string is a sequence of characters; accept it as the natural spelling of a vocab.
        vocab = tuple(vocab)
    if not isinstance(vocab, Sequence):
        raise TypeError(f"vocab must be a sequence of str, got {type(vocab).__name__}")
    vocab = tuple(vocab)
    if not vocab:
        raise ValueError("vocab must hold at least one symbol, got an empty sequence")
    for i, symbol in enumerate(vocab):
        if not isinstance(symbol, str):
            raise TypeError(f"vocab[{i}] must be a str, got {type(symbol).__name__} {symbol!r}")
    if len(set(vocab)) != len(vocab):
        seen: set[str] = set()
        duplicate = next(s for s in vocab if s in seen or seen.add(s))
        raise ValueError(f"vocab must not repeat symbols, got {duplicate!r} more than once")
    return vocab


def _check_meta(meta: Any) -> dict:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}")
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"meta must be JSON-serializable (str keys, plain values): {error}"
        ) from None
    return copy.deepcopy(meta)


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Recording:
    """Growable columnar store of recorded chunks.

    Parameters
    ----------
    seq_length : int
        ``n``, the number of characters per chunk (every record has this length).
    vocab : Sequence[str]
        Symbols of the vocabulary; index ``i`` in the stored arrays means ``vocab[i]``.
    meta : dict or None
        JSON-serializable facts about the run (hidden size, cell, title, ...). Saved with
        the recording and sent to the widget.

    Attributes
    ----------
    seq_length : int
    vocab : tuple of str
    meta : dict

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(seq_length=3, vocab="abc", meta={"title": "demo"})
    >>> r = rec.append(step=0, offset=0, inputs=[0, 1, 2], targets=[1, 2, 0],
    ...                predictions=[1, 1, 0], losses=[1.0, 2.0, 0.5],
    ...                magnitudes=np.tril(np.ones((3, 3))), grad_norm=0.7,
    ...                clipped=False, smooth_loss=1.1)
    >>> len(rec), r.inputs, r.targets, r.predictions, round(r.accuracy, 3)
    (1, 'abc', 'bca', 'bba', 0.667)
    >>> rec[-1].magnitudes.shape, rec.columns()["magnitudes"].shape  # packed: 3 * 4 / 2
    ((3, 3), (1, 6))
    """

    def __init__(self, seq_length: int, vocab: Sequence[str], meta: dict | None = None) -> None:
        self.seq_length = _as_index(seq_length, "seq_length", minimum=1, maximum=65535)
        self.vocab: tuple[str, ...] = _check_vocab(vocab)
        self.meta: dict = _check_meta(meta)
        n = self.seq_length
        self._count = 0
        rows, cols = np.tril_indices(n)
        self._packed = rows * n + cols  # flat (t, j) positions of the packed lower triangle
        self._queue: list[tuple] = []  # checked records not yet in the columns (_append)
        self._lock = threading.RLock()
        self._shapes = {name: () for name in ("step", "offset", "clipped", *_FLOAT_COLUMNS)}
        self._shapes.update({name: (n,) for name in (*_INDEX_COLUMNS, "losses")})
        self._shapes["magnitudes"] = (n * (n + 1) // 2,)
        index_dtype = _index_dtype(len(self.vocab))
        self._dtypes = {"step": np.dtype(np.int32), "offset": np.dtype(np.int32)}
        self._dtypes["clipped"] = np.dtype(np.uint8)
        self._dtypes.update({name: np.dtype(np.float32) for name in _FLOAT_COLUMNS})
        self._dtypes.update({name: index_dtype for name in _INDEX_COLUMNS})
        self._dtypes["losses"] = self._dtypes["magnitudes"] = np.dtype(np.float32)
        self._data = self._allocate(_INITIAL_CAPACITY)
        #: Per-unit drilldown data (:class:`~rnnbow_widget.units.UnitStore`) or None.
        self.units: UnitStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        """For ``copy.deepcopy`` and pickle: the queue written out, the lock left behind."""
        self._flush()
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- storage
    def _allocate(self, capacity: int) -> dict[str, np.ndarray]:
        return {
            name: np.zeros((capacity, *self._shapes[name]), dtype=self._dtypes[name])
            for name in _ALL_COLUMNS
        }

    def _grow(self) -> None:
        bigger = self._allocate(max(_INITIAL_CAPACITY, 2 * len(self._data["step"])))
        for name, column in self._data.items():
            bigger[name][: self._count] = column[: self._count]
        self._data = bigger

    @property
    def capacity(self) -> int:
        """Number of records the current buffers hold before the next doubling."""
        return len(self._data["step"])

    @property
    def nbytes(self) -> int:
        """Bytes used by the filled part of all columns (what ``save`` writes uncompressed)."""
        return sum(self.column(name).nbytes for name in _ALL_COLUMNS)

    # ----------------------------------------------------------------- writing
    def _check_indices(self, value: Any, name: str) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != (self.seq_length,):
            raise ValueError(
                f"{name} must have shape ({self.seq_length},) (seq_length), got {array.shape}"
            )
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer vocab indices, got dtype {array.dtype}")
        return array

    def _check_floats(self, value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
        if array.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
        return array

    def append(
        self,
        *,
        step: int,
        offset: int,
        inputs: np.ndarray,
        targets: np.ndarray,
        predictions: np.ndarray,
        losses: np.ndarray,
        magnitudes: np.ndarray,
        grad_norm: float,
        clipped: bool,
        smooth_loss: float,
    ) -> Record:
        """Store one chunk and return it as a :class:`Record`.

        Parameters
        ----------
        step, offset : int
            Chunk index and corpus position of the first input, both in ``[0, 2**31 - 1]``.
        inputs, targets, predictions : array_like of int, shape (n,)
            Vocabulary indices.
        losses : array_like of float, shape (n,)
            Per-step losses ``L_t``.
        magnitudes : array_like of float, shape (n, n)
            ``m[t, j]``, non-negative; entries above the diagonal are not stored.
        grad_norm : float
            Global gradient norm before clipping.
        clipped : bool
            Whether clipping changed the gradient.
        smooth_loss : float
            The trainer's running loss.

        Returns
        -------
        Record
            The stored record, exactly as ``self[-1]`` will return it.

        Raises
        ------
        ValueError, TypeError
            When a field has the wrong shape, type or range (the message names the field).
        """
        n = self.seq_length
        step = _as_index(step, "step")
        offset = _as_index(offset, "offset")
        vocab_indices = np.empty((3, n), dtype=np.int64)  # rows: inputs, targets, predictions
        for row, (name, value) in enumerate(_zip3(inputs, targets, predictions)):
            vocab_indices[row] = self._check_indices(value, name)
        low, high = vocab_indices.min(), vocab_indices.max()
        if low < 0 or high >= len(self.vocab):
            bad = low if low < 0 else high
            name = _INDEX_COLUMNS[int(np.argwhere(vocab_indices == bad)[0, 0])]
            raise ValueError(
                f"{name} holds index {bad}, outside the vocabulary [0, {len(self.vocab) - 1}]"
            )
        losses = np.array(self._check_floats(losses, "losses", (n,)), dtype=np.float64)
        magnitudes = np.array(
            self._check_floats(magnitudes, "magnitudes", (n, n)), dtype=np.float64
        )
        if not isinstance(clipped, (bool, np.bool_)):
            raise TypeError(f"clipped must be a bool, got {type(clipped).__name__} {clipped!r}")
        grad_norm = _as_float(grad_norm, "grad_norm")
        smooth_loss = _as_float(smooth_loss, "smooth_loss")
        try:
            check_magnitudes(magnitudes)  # the summary numbers are worked out when stored
        except (ValueError, TypeError) as error:
            raise type(error)(f"magnitudes: {error}") from None
        index = self._append(
            step,
            offset,
            *vocab_indices,
            losses,
            magnitudes,
            grad_norm,
            bool(clipped),
            smooth_loss,
        )
        self._flush()
        return self._record(index)

    def _append(
        self,
        step: int,
        offset: int,
        inputs: np.ndarray,
        targets: np.ndarray,
        predictions: np.ndarray,
        losses: np.ndarray,
        magnitudes: np.ndarray,
        grad_norm: float,
        clipped: bool,
        smooth_loss: float,
    ) -> int:
        """Queue one record, already checked, and return its index (no :class:`Record`).

        The trainer's path (:meth:`append` checks and copies first). The arrays are kept, not
        copied: the caller must not change them. Queued records are written to the columns,
        and their summary numbers worked out, many at a time (:meth:`_flush`): when the queue
        is full, or when anything reads the recording. That batching is most of what makes
        recording every chunk affordable (``benchmarks/bench_training.py``).
        """
        with self._lock:
            index = self._count + len(self._queue)
            self._queue.append(
                (index, step, offset, inputs, targets, predictions, losses, magnitudes,
                 grad_norm, clipped, smooth_loss)
            )  # fmt: skip
        if len(self._queue) >= _QUEUE_LIMIT:
            self._flush()
        return index

    def _flush(self) -> None:
        """Write the queued records to the columns (vectorized over the batch)."""
        if not self._queue:
            return
        with self._lock:
            # A flush interrupted after it advanced the count leaves those rows queued.
            rows = [row for row in self._queue if row[0] >= self._count]
            if rows:
                self._write(rows)
            self._queue.clear()

    def _write(self, rows: list[tuple]) -> None:
        n, k = self.seq_length, len(rows)
        while self._count + k > self.capacity:
            self._grow()
        i, j = self._count, self._count + k
        data = self._data
        (_, data["step"][i:j], data["offset"][i:j], data["inputs"][i:j], data["targets"][i:j],
         data["predictions"][i:j], data["losses"][i:j], magnitudes, data["grad_norm"][i:j],
         data["clipped"][i:j], data["smooth_loss"][i:j]) = zip(*rows, strict=True)  # fmt: skip
        magnitudes = np.array(magnitudes, dtype=np.float64)  # (k, n, n)
        data["magnitudes"][i:j] = magnitudes.reshape(k, n * n)[:, self._packed]
        losses = data["losses"][i:j]
        data["loss"][i:j] = np.add.reduce(losses, axis=1, dtype=np.float64) / n
        for name, values in summarize_many(magnitudes).items():
            data[name][i:j] = values
        hits = data["targets"][i:j] == data["predictions"][i:j]
        data["accuracy"][i:j] = np.count_nonzero(hits, axis=1) / n
        self._count = j

    # ----------------------------------------------------------------- reading
    def __len__(self) -> int:
        self._flush()
        return self._count

    def _decode(self, indices: np.ndarray) -> str:
        vocab = self.vocab
        return "".join([vocab[i] for i in indices.tolist()])

    def _record(self, i: int) -> Record:
        data = self._data
        n = self.seq_length
        magnitudes = np.zeros((n, n), dtype=np.float32)
        magnitudes.ravel()[self._packed] = data["magnitudes"][i]
        magnitudes.flags.writeable = False
        losses = data["losses"][i].copy()
        losses.flags.writeable = False
        return Record(
            index=i,
            step=int(data["step"][i]),
            offset=int(data["offset"][i]),
            inputs=self._decode(data["inputs"][i]),
            targets=self._decode(data["targets"][i]),
            predictions=self._decode(data["predictions"][i]),
            losses=losses,
            magnitudes=magnitudes,
            clipped=bool(data["clipped"][i]),
            **{name: float(data[name][i]) for name in _FLOAT_COLUMNS},
        )

    def __getitem__(self, key: int | slice) -> Record | Recording:
        """``rec[i]`` (negative counts from the end) is a Record; ``rec[a:b]`` a new Recording
        (with the per-unit data of the records it keeps)."""
        self._flush()
        if isinstance(key, slice):
            part = Recording(self.seq_length, self.vocab, self.meta)
            part._data = {
                name: column[: self._count][key].copy() for name, column in self._data.items()
            }
            part._count = len(part._data["step"])
            if self.units is not None:
                part.units = self.units.take(range(self._count)[key])
            return part
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise TypeError(
                f"Recording index must be an int or a slice, got {type(key).__name__} {key!r}"
            )
        i = int(key)
        if not -self._count <= i < self._count:
            raise IndexError(f"record index {i} out of range for a recording of {self._count}")
        return self._record(i % self._count)

    def __iter__(self) -> Iterator[Record]:
        self._flush()
        for i in range(self._count):
            yield self._record(i)

    def __repr__(self) -> str:
        self._flush()
        return (
            f"Recording({self._count} records, seq_length={self.seq_length}, "
            f"vocab of {len(self.vocab)})"
        )

    def column(self, name: str) -> np.ndarray:
        """Filled part of one stored column, as a read-only view.

        Parameters
        ----------
        name : str
            One of the wire columns (:data:`WIRE_COLUMNS`) or ``"inputs"``, ``"accuracy"``.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(self),)`` for per-record numbers, ``(len(self), n)`` for
            ``inputs``/``targets``/``predictions``/``losses``, ``(len(self), n(n+1)/2)``
            for the packed ``magnitudes``.

        Examples
        --------
        >>> Recording(4, "ab").column("loss").shape
        (0,)
        """
        if name not in self._data:
            raise ValueError(f"unknown column {name!r}; expected one of {sorted(self._data)}")
        self._flush()
        return _read_only(self._data[name][: self._count])

    def columns(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """The wire columns of records ``start`` to ``stop`` (read-only views).

        Dtypes follow ``docs/data-contract.md`` except that ``losses`` and ``magnitudes``
        stay float32 (the widget converts them to bfloat16 for the wire).

        Parameters
        ----------
        start : int, default 0
            First record, ``0 <= start <= len(self)``.
        stop : int or None, default None
            One past the last record, ``start <= stop <= len(self)``; None means the end.

        Returns
        -------
        dict of str to numpy.ndarray
            Keyed by :data:`WIRE_COLUMNS`, in that order.
        """
        self._flush()
        start = _as_index(start, "start", maximum=self._count)
        stop = self._count if stop is None else _as_index(stop, "stop", maximum=self._count)
        if stop < start:
            raise ValueError(f"stop must be >= start, got start={start}, stop={stop}")
        return {name: _read_only(self._data[name][start:stop]) for name in WIRE_COLUMNS}

    # ------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike, *, compress: bool = False) -> None:
        """Write the recording to ``path`` as an ``.npz`` file, atomically.

        The file holds one array per column plus a ``header`` (format marker, version,
        seq_length, vocab, meta as UTF-8 JSON in a uint8 array); it never holds Python
        objects, so :meth:`load` works with ``allow_pickle=False``. The file is written
        to a temporary name next to ``path`` and renamed, so an interrupted save leaves
        any previous file intact. ``path`` is used as given (no suffix is added).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.
        compress : bool, default False
            zlib-compress the columns. The float32 magnitudes compress poorly, so this
            saves only about a fifth of the size and makes saving about 8x slower
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
        self._flush()
        path = Path(path)
        header = {
            "format": FORMAT_MARKER,
            "version": 1 if self.units is None else 2,
            "seq_length": self.seq_length,
            "count": self._count,
            "vocab": list(self.vocab),
            "meta": self.meta,
        }
        try:
            header_text = json.dumps(header, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"meta must be JSON-serializable to save: {error}") from None
        arrays = {_HEADER_KEY: np.frombuffer(header_text.encode("utf-8"), dtype=np.uint8)}
        arrays.update({name: self.column(name) for name in _ALL_COLUMNS})
        if self.units is not None:
            arrays.update(self.units.to_arrays())
        writer = np.savez_compressed if compress else np.savez
        directory = path.parent if str(path.parent) else Path(".")
        handle, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                writer(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> Recording:
        """Read a recording written by :meth:`save`, checking it thoroughly.

        Never unpickles anything (``allow_pickle=False``). Every column comes back bitwise
        equal to what was saved.

        Parameters
        ----------
        path : str or os.PathLike
            File written by :meth:`save`.

        Returns
        -------
        Recording

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is truncated or corrupt, is not a recording (no format marker),
            was written by a newer version, or is inconsistent (shapes, dtypes, lengths,
            JSON, vocabulary indices). The message names the file and the problem.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no recording at {str(path)!r}: the file does not exist")
        if path.is_dir():
            raise ValueError(f"{str(path)!r} is a directory, expected a recording .npz file")
        try:
            with path.open("rb") as file:
                magic = file.read(4)
            if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
                described = "it is empty" if not magic else f"it starts with {magic!r}"
                raise _Invalid(f"{described}, not an .npz archive; save one with Recording.save")
            archive = np.load(path, allow_pickle=False)
            with archive:
                return cls._from_archive(archive)
        except _Invalid as problem:
            raise ValueError(f"cannot load recording {str(path)!r}: {problem}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            reason = str(error) or type(error).__name__
            if "pickle" in reason:
                reason = f"it holds pickled Python objects, which are never loaded ({reason})"
            else:
                reason = f"the file is truncated, corrupt or not an .npz archive ({reason})"
            raise ValueError(f"cannot load recording {str(path)!r}: {reason}") from None

    @classmethod
    def _from_archive(cls, archive: NpzFile) -> Recording:
        if _HEADER_KEY not in archive.files:
            raise _Invalid(
                f"no {_HEADER_KEY!r} entry, so it is not an rnnbow recording "
                f"(it holds {sorted(archive.files)[:8]})"
            )
        raw = archive[_HEADER_KEY]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise _Invalid(f"header must be a 1-d uint8 array, got {raw.dtype} {raw.shape}")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _Invalid(f"header is not valid UTF-8 JSON ({error})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_MARKER:
            raise _Invalid(f"header has no format marker {FORMAT_MARKER!r}; not a recording")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _Invalid(f"header has an invalid version {version!r}")
        if version > FORMAT_VERSION:
            raise _Invalid(
                f"it was written by format version {version}, newer than this package "
                f"reads ({FORMAT_VERSION}); upgrade rnnbow_widget"
            )
        expected_keys = {"format", "version", "seq_length", "count", "vocab", "meta"}
        if set(header) != expected_keys:
            raise _Invalid(f"header keys are {sorted(header)}, expected {sorted(expected_keys)}")
        count = header["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _Invalid(f"header count must be an int >= 0, got {count!r}")
        try:
            recording = cls(header["seq_length"], header["vocab"], header["meta"])
        except (TypeError, ValueError) as error:
            raise _Invalid(f"header is inconsistent: {error}") from None

        stored = set(archive.files) - {_HEADER_KEY}
        # Version 2 may add the per-unit arrays, all of them or none.
        has_units = version >= 2 and bool(stored & set(_UNIT_KEYS))
        expected_columns = set(_ALL_COLUMNS) | (set(_UNIT_KEYS) if has_units else set())
        if stored != expected_columns:
            missing = sorted(expected_columns - stored)
            extra = sorted(stored - expected_columns)
            raise _Invalid(f"columns do not match: missing {missing}, unexpected {extra}")
        data = {}
        for name in _ALL_COLUMNS:
            column = archive[name]
            shape = (count, *recording._shapes[name])
            dtype = recording._dtypes[name]
            if column.dtype != dtype or column.shape != shape:
                raise _Invalid(
                    f"column {name!r} is {column.dtype} {column.shape}, expected {dtype} {shape}"
                )
            data[name] = column
        vocab_size = len(recording.vocab)
        for name in _INDEX_COLUMNS:
            if count and (data[name].min() < 0 or data[name].max() >= vocab_size):
                raise _Invalid(
                    f"column {name!r} holds indices outside the vocabulary [0, {vocab_size - 1}]"
                )
        if count and data["clipped"].max() > 1:
            raise _Invalid("column 'clipped' holds values other than 0 and 1")
        recording._data = data
        recording._count = count
        if has_units:
            try:
                recording.units = UnitStore.from_arrays(
                    {key: archive[key] for key in _UNIT_KEYS},
                    recording.seq_length,
                    count,
                    _meta_horizon(recording.meta),
                )
            except ValueError as error:
                raise _Invalid(f"per-unit data is inconsistent: {error}") from None
        return recording


def _meta_horizon(meta: dict) -> int | None:
    """``meta["horizon"]`` when it is a horizon (an int >= 1), else None (every pair)."""
    horizon = meta.get("horizon")
    if isinstance(horizon, int) and not isinstance(horizon, bool) and horizon >= 1:
        return horizon
    return None


class _Invalid(Exception):
    """Internal: a loaded file is not a valid recording (turned into ValueError by load)."""


def _zip3(inputs: Any, targets: Any, predictions: Any) -> tuple[tuple[str, Any], ...]:
    return (("inputs", inputs), ("targets", targets), ("predictions", predictions))
