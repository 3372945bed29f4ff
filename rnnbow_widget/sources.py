"""What the views can show: a trainer (followed live), a recording, a saved ``.npz`` file, or
a run directory that another process writes (:mod:`rnnbow_widget.rundir`)."""

from __future__ import annotations

import os
from pathlib import Path

from rnnbow_widget.recording import Recording
from rnnbow_widget.rundir import RunReader, is_run_dir
from rnnbow_widget.trainer import CharRNNTrainer

__all__ = ["Source", "resolve"]

Source = CharRNNTrainer | Recording | str | os.PathLike[str]
"""A trainer, a recording, or the path of a saved recording or of a run directory."""


def resolve(source: object) -> tuple[Recording, CharRNNTrainer | None, RunReader | None]:
    """The recording ``source`` stands for, with its trainer or its run reader (else None).

    Raises
    ------
    FileNotFoundError
        For a path that is neither a saved recording nor a run directory.
    TypeError
        For anything else.
    """
    if isinstance(source, CharRNNTrainer):
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
        "source must be a CharRNNTrainer, a Recording, or the path (str or Path) of a "
        f"recording saved as .npz or of a run directory; got {type(source).__name__}"
    )
