"""What the views can show: a trainer or a PyTorch ``Recorder`` (followed live), a recording, a
saved ``.npz`` file, or a run directory that another process writes
(:mod:`rnnbow_widget.rundir`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rnnbow_widget.recording import Recording
from rnnbow_widget.rundir import RunReader, is_run_dir

__all__ = ["LiveSource", "Source", "resolve"]


@runtime_checkable
class LiveSource(Protocol):
    """Something that grows a recording and says when: a ``CharRNNTrainer``, or a
    ``rnnbow_widget.pytorch.Recorder`` (recognised without importing torch)."""

    recording: Recording

    def on_record(
        self, callback: Callable[[Any], Any], *, decoded: bool = True
    ) -> Callable[[], None]: ...

    def on_train_end(self, callback: Callable[[], Any]) -> Callable[[], None]: ...


Source = LiveSource | Recording | str | os.PathLike[str]
"""A trainer or recorder, a recording, or the path of a saved recording or of a run directory."""


def resolve(source: object) -> tuple[Recording, LiveSource | None, RunReader | None]:
    """The recording ``source`` stands for, with its live source (a trainer or a recorder) or
    its run reader (else None).

    Raises
    ------
    FileNotFoundError
        For a path that is neither a saved recording nor a run directory.
    TypeError
        For anything else.
    """
    if isinstance(source, LiveSource) and isinstance(source.recording, Recording):
        return source.recording, source, None
    if isinstance(source, Recording):
        return source, None, None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if is_run_dir(path):
            reader = RunReader(path)
            reader.poll()
            return reader.recording, None, reader
        if not path.is_file():
            raise FileNotFoundError(
                f"source: no saved recording (.npz) or run directory at {str(path)!r}"
            )
        return Recording.load(path), None, None
    raise TypeError(
        "source must be a CharRNNTrainer, a pytorch Recorder, a Recording, or the path (str or "
        "Path) of a "
        f"recording saved as .npz or of a run directory; got {type(source).__name__}"
    )
