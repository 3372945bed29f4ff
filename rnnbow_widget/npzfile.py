"""File I/O: ``.npz`` archives written atomically and read without ever unpickling.

A file is a set of named numpy arrays plus a ``header``: a UTF-8 JSON object stored as a
uint8 array, so the file holds no Python objects and loads with ``allow_pickle=False``.
Writing goes to a temporary name beside the target, then a rename: a reader (or an interrupted
save) never sees half a file. The file gets the permissions a plain ``open()`` would give it
under the process's umask (a temporary file alone would be private to its owner).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HEADER_KEY", "FileProblem", "check_format", "read", "write", "write_atomically"]

HEADER_KEY = "header"


class FileProblem(ValueError):
    """A file is not what the reader expects; the message says why (without the path)."""


def write_atomically(path: str | os.PathLike[str], write: Callable[[Any], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets mode ``0o666`` minus the umask, as ``open(path, "w")`` would give it.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    handle, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, 0o666 & ~umask)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def write(
    path: str | os.PathLike[str],
    header: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    compress: bool = False,
) -> None:
    """Write ``header`` (JSON) and ``arrays`` to an ``.npz`` file at ``path``, atomically."""
    try:
        text = json.dumps(header, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"meta must be JSON-serializable to save: {error}") from None
    contents = {HEADER_KEY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}
    savez = np.savez_compressed if compress else np.savez
    write_atomically(path, lambda file: savez(file, **contents))


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and every array of an ``.npz`` file written by :func:`write`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FileProblem
        If it is a directory, not an ``.npz`` archive, truncated or corrupt, holds pickled
        objects, or has no valid JSON header.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no recording at {str(path)!r}: the file does not exist")
    if path.is_dir():
        raise FileProblem("it is a directory, expected a recording .npz file")
    with path.open("rb") as file:
        magic = file.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        described = "it is empty" if not magic else f"it starts with {magic!r}"
        raise FileProblem(f"{described}, not an .npz archive; save one with Recording.save")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        reason = str(error) or type(error).__name__
        if "pickle" in reason:
            raise FileProblem(
                f"it holds pickled Python objects, which are never loaded ({reason})"
            ) from None
        raise FileProblem(
            f"the file is truncated, corrupt or not an .npz archive ({reason})"
        ) from None
    return _header(arrays.pop(HEADER_KEY, None), sorted(arrays)), arrays


def check_format(header: dict[str, Any], marker: str, newest: int, keys: set[str]) -> int:
    """The header's version, after checking its format ``marker``, that its version is an int
    in ``[1, newest]``, and that its keys are exactly ``keys``; raises :class:`FileProblem`."""
    if header.get("format") != marker:
        raise FileProblem(f"header has no format marker {marker!r}; not a recording")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileProblem(f"header has an invalid version {version!r}")
    if version > newest:
        raise FileProblem(
            f"it was written by format version {version}, newer than this package reads "
            f"({newest}); upgrade rnnbow_widget"
        )
    if set(header) != keys:
        raise FileProblem(f"header keys are {sorted(header)}, expected {sorted(keys)}")
    return version


def _header(raw: np.ndarray | None, names: list[str]) -> dict[str, Any]:
    if raw is None:
        raise FileProblem(
            f"no {HEADER_KEY!r} entry, so it is not an rnnbow recording (it holds {names[:8]})"
        )
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise FileProblem(f"header must be a 1-d uint8 array, got {raw.dtype} {raw.shape}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileProblem(f"header is not valid UTF-8 JSON ({error})") from None
    if not isinstance(header, dict):
        raise FileProblem("header is not a JSON object")
    return header
