"""Run directories: a recording written as it grows by one program and read by others.

A run directory holds ``run.json`` (format, ``seq_length``, vocabulary, meta; written once),
and the records in shards, ``shard-00000000.npz``, ``shard-00000001.npz``, ... Each shard is
an ``.npz`` file of the columns :meth:`Recording.save` writes (no pickles), and of a trainer's
per-unit drilldown data for its records when it keeps them (the ``units_*`` arrays, record
indices counted from the shard's first), written to a temporary name and renamed, so a reader
sees a shard whole or not at all. A writer holds
``writer.lock`` (its pid and host) while it writes; ``finished`` marks a run whose writer
closed it. Readers take the shards in order and skip (and report) any that do not load.

Examples
--------
>>> import tempfile, numpy as np
>>> path = tempfile.mkdtemp() + "/run"
>>> with RunWriter(path, seq_length=2, vocab=["yes", "no"]) as run:
...     _ = run.append(step=0, inputs=[0, 1], targets=[1, 0], predictions=[1, 1],
...                    losses=[0.5, 0.7], magnitudes=[[1.0, 0.0], [0.5, 2.0]])
>>> reader = RunReader(path); reader.poll(), reader.finished, reader.recording[0].inputs
(1, True, 'yes no')
"""

from __future__ import annotations

import json
import os
import socket
import time
import weakref
from pathlib import Path
from typing import Any

from rnnbow_widget import npzfile
from rnnbow_widget.record import Record
from rnnbow_widget.recording import Recording
from rnnbow_widget.units import ARRAY_KEYS as UNIT_KEYS
from rnnbow_widget.units import UnitStore

__all__ = ["RunInUseError", "RunReader", "RunWriter", "is_run_dir"]

RUN_FILE = "run.json"
LOCK_FILE = "writer.lock"
FINISHED_FILE = "finished"
RUN_FORMAT = "rnnbow_widget.run"
SHARD_FORMAT = "rnnbow_widget.shard"


class RunInUseError(RuntimeError):
    """Another live writer holds the run directory."""


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a directory holding a run (its ``run.json``)."""
    return (Path(path) / RUN_FILE).is_file()


def _shard_name(index: int) -> str:
    return f"shard-{index:08d}.npz"


def _shard_index(name: str) -> int | None:
    stem = name.removeprefix("shard-").removesuffix(".npz")
    if name.startswith("shard-") and name.endswith(".npz") and stem.isdigit():
        return int(stem)
    return None


def _shards(path: Path) -> list[tuple[int, Path]]:
    found = ((_shard_index(entry.name), entry) for entry in path.iterdir())
    return sorted((index, entry) for index, entry in found if index is not None)


class RunWriter:
    """Write a recording to a run directory as it grows, for readers in other processes.

    Parameters
    ----------
    path : str or os.PathLike
        The run directory. A new one is created (with its parents); an existing run is
        continued (its ``seq_length`` and vocabulary must match when given).
    seq_length : int, optional
        ``n``; required for a new run.
    vocab : sequence of str, optional
        The tokens; required for a new run.
    meta : dict, optional
        JSON facts about the run (title, hidden size, ...), for a new run.
    flush_seconds : float, default 0.5
        Write a shard at the first ``append`` at least this long after the last one (readers
        see records within about this delay). :meth:`flush` writes one now.
    source : Recording, optional
        A recording that grows elsewhere (a trainer's): each shard then holds its records
        not written yet, and ``seq_length``, ``vocab`` and ``meta`` come from it.

    Raises
    ------
    RunInUseError
        When a live writer (its pid still running, on this host) holds the directory.
    ValueError
        When the directory holds something else, or a run with another ``seq_length`` or
        vocabulary.

    Notes
    -----
    Records appended since the last shard live in memory: a writer killed loses those, and
    a later writer continues the run after the last whole shard.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        seq_length: int | None = None,
        vocab: Any = None,
        meta: dict | None = None,
        flush_seconds: float = 0.5,
        source: Recording | None = None,
    ) -> None:
        if source is not None:
            seq_length, vocab, meta = source.seq_length, source.vocab, source.meta
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"path {str(self.path)!r} is a file; a run needs a directory")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._header = self._open_header(seq_length, vocab, meta)
            self.flush_seconds = float(flush_seconds)
            shards = _shards(self.path)
            self._next_shard = shards[-1][0] + 1 if shards else 0
            (self.path / FINISHED_FILE).unlink(missing_ok=True)
            self._source = source
            self._pending = self._empty() if source is None else source
            self._written = 0 if source is None else len(source)  # of self._pending
            self._flushed_at = time.monotonic()
        except BaseException:
            self._unlock()
            raise

    def _lock(self) -> None:
        lock = self.path / LOCK_FILE
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                with open(lock, "x", encoding="utf-8") as file:
                    json.dump(owner, file)
                _WRITERS[self.path.resolve()] = weakref.ref(self)
                return
            except FileExistsError:
                holder = _read_json(lock)
                if _writing_here(self.path):
                    raise RunInUseError(
                        f"run {str(self.path)!r} is being written by another RunWriter of this "
                        "process (a trainer's: close it first with trainer.run.close())"
                    ) from None
                if holder.get("pid") != os.getpid() and _alive(holder):
                    raise RunInUseError(
                        f"run {str(self.path)!r} is being written by process "
                        f"{holder.get('pid')} on {holder.get('host')}; one writer per run "
                        f"(if that process is gone, delete {str(lock)!r})"
                    ) from None
                lock.unlink(missing_ok=True)  # its writer died: take the run over
        raise RunInUseError(f"could not take the lock {str(lock)!r}")

    def _unlock(self) -> None:
        (self.path / LOCK_FILE).unlink(missing_ok=True)
        _WRITERS.pop(self.path.resolve(), None)

    def _open_header(self, seq_length: Any, vocab: Any, meta: Any) -> dict[str, Any]:
        run_file = self.path / RUN_FILE
        if run_file.exists():
            header = RunReader(self.path).header
            wanted = Recording(
                seq_length if seq_length is not None else header["seq_length"],
                vocab if vocab is not None else header["vocab"],
            )
            if (wanted.seq_length, list(wanted.vocab)) != (header["seq_length"], header["vocab"]):
                raise ValueError(
                    f"run {str(self.path)!r} holds chunks of {header['seq_length']} steps over "
                    f"{len(header['vocab'])} tokens; this writer has {wanted.seq_length} steps "
                    f"and {len(wanted.vocab)} tokens: write to a new directory"
                )
            return header
        if any(entry.name != LOCK_FILE for entry in self.path.iterdir()):
            raise ValueError(f"directory {str(self.path)!r} is not empty and holds no run")
        if seq_length is None or vocab is None:
            raise TypeError("a new run needs seq_length= and vocab=")
        checked = Recording(seq_length, vocab, meta)
        header = {
            "format": RUN_FORMAT,
            "version": 1,
            "seq_length": checked.seq_length,
            "vocab": list(checked.vocab),
            "meta": checked.meta,
        }
        text = json.dumps(header, ensure_ascii=False, allow_nan=False)
        npzfile.write_atomically(run_file, lambda file: file.write(text.encode("utf-8")))
        return header

    def _empty(self) -> Recording:
        header = self._header
        return Recording(header["seq_length"], header["vocab"], header["meta"])

    def append(self, **fields: Any) -> Record:
        """Append one record (the fields of :meth:`Recording.append`, checked the same way);
        writes a shard when ``flush_seconds`` have passed since the last one."""
        if self._source is not None:
            raise TypeError("this writer follows a recording (source=); append to that one")
        record = self._pending.append(**fields)
        self.flush_if_due()
        return record

    def flush_if_due(self) -> None:
        """:meth:`flush` if ``flush_seconds`` have passed since the last shard."""
        if time.monotonic() - self._flushed_at >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the records not written yet as the next shard."""
        self._flushed_at = time.monotonic()
        start, stop = self._written, len(self._pending)
        if stop == start:
            return
        header = {"format": SHARD_FORMAT, "version": 1, "count": stop - start}
        names = self._pending.column_names
        arrays = {name: self._pending.column(name, start, stop) for name in names}
        units = self._pending.units
        if units is not None:  # a trainer's drilldown data, for the records it kept
            arrays.update(units.take(range(start, stop)).to_arrays())
        npzfile.write(self.path / _shard_name(self._next_shard), header, arrays)
        self._next_shard += 1
        if self._source is None:
            self._pending = self._empty()  # its own records are on disk now
        else:
            self._written = stop

    def close(self, finished: bool = True) -> None:
        """Write what is pending, mark the run finished (readers stop following) unless
        ``finished=False``, and release the directory for another writer."""
        if not (self.path / LOCK_FILE).exists():
            return
        try:
            self.flush()
            if finished:
                (self.path / FINISHED_FILE).touch()
        finally:
            self._unlock()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, error_type: object, *_: object) -> None:
        self.close(finished=error_type is None)


class RunReader:
    """Read a run directory, and what its writer adds later (:meth:`poll`).

    Attributes
    ----------
    recording : Recording
        Every record read so far.
    problems : list of str
        One line per shard that could not be read (it is skipped).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a directory holding ``run.json``.
    ValueError
        If ``run.json`` is not a run's header.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"no run directory at {str(self.path)!r}")
        if not is_run_dir(self.path):
            raise FileNotFoundError(
                f"{str(self.path)!r} holds no {RUN_FILE}: not a run directory (write one with "
                "RunWriter or CharRNNTrainer(..., run_dir=...))"
            )
        self.header = _read_json(self.path / RUN_FILE)
        if self.header.get("format") != RUN_FORMAT:
            raise ValueError(f"{str(self.path / RUN_FILE)!r} is not an rnnbow run header")
        self.recording = Recording(
            self.header["seq_length"], self.header["vocab"], self.header.get("meta")
        )
        self.problems: list[str] = []
        self._next_shard = 0

    @property
    def finished(self) -> bool:
        """True once the writer closed the run."""
        return (self.path / FINISHED_FILE).exists()

    def poll(self) -> int:
        """Read the shards written since the last call; returns how many records arrived."""
        before = len(self.recording)
        try:
            shards = _shards(self.path)
        except OSError as problem:  # the directory was removed or cannot be listed
            message = f"the run directory cannot be read: {problem}"
            if message not in self.problems:
                self.problems.append(message)
            return 0
        for index, shard in shards:
            if index < self._next_shard:
                continue
            try:
                header, arrays = npzfile.read(shard)
                if header.get("format") != SHARD_FORMAT:
                    raise npzfile.FileProblem("not a shard of an rnnbow run")
                units = self._units_of(arrays)  # checked before any record is added
                first = len(self.recording)
                self.recording.extend({k: v for k, v in arrays.items() if k not in UNIT_KEYS})
                self._add_units(first, units)
            except (ValueError, OSError) as problem:
                self.problems.append(f"{shard.name} skipped: {problem}")
            self._next_shard = index + 1
        return len(self.recording) - before

    def _units_of(self, arrays: dict[str, Any]) -> UnitStore | None:
        """A shard's per-unit data, checked, or None when it has none."""
        if not any(key in arrays for key in UNIT_KEYS):
            return None
        count = len(arrays.get("step", ()))
        part = UnitStore.from_arrays(arrays, self.recording.seq_length, count, horizon=None)
        held = self.recording.units
        if held is not None and (held.hidden_size, held.lags) != (part.hidden_size, part.lags):
            raise ValueError(
                f"its per-unit data has H = {part.hidden_size}, {part.lags} lags; the run's so "
                f"far H = {held.hidden_size}, {held.lags} lags"
            )
        return part

    def _add_units(self, first: int, part: UnitStore | None) -> None:
        """Put a shard's per-unit data into the recording's store (made at the first), which
        thins them within the writer's budget as the trainer's store did."""
        if part is None:
            return
        if self.recording.units is None:
            self.recording.units = UnitStore(
                self.recording.seq_length, part.hidden_size, part.budget_mb, part.horizon
            )
        for index in part.indices:
            self.recording.units.put(first + index, part.get(index))


_WRITERS: dict[Path, weakref.ref[RunWriter]] = {}
"""The writers of this process, by directory: a lock of our own pid is stale unless one of
them still holds it (a notebook that built a second trainer on the same directory)."""


def _writing_here(path: Path) -> bool:
    writer = _WRITERS.get(path.resolve())
    return writer is not None and writer() is not None and (path / LOCK_FILE).exists()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _alive(holder: dict[str, Any]) -> bool:
    """True when the lock's process may still be running (on another host: assume so)."""
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
