"""Offline text corpora for training the character and word models.

Nothing is downloaded: the real corpora are read from files the running Python ships
(its C headers, its standard library), and :func:`long_range` generates a synthetic task
whose dependency length you choose. Every function returns one ``str`` and is
deterministic for a given machine (and seed).

Examples
--------
>>> from rnnbow_widget import corpora
>>> text = corpora.long_range(distance=6, length=40, seed=1)
>>> corpora.long_range_dependents(text, 6)[:3]
array([ 6, 14, 22])
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "LONG_RANGE_KEYS",
    "LONG_RANGE_MARKER",
    "LONG_RANGE_NOISE",
    "c_code",
    "from_file",
    "long_range",
    "long_range_dependents",
    "python_code",
    "python_docs",
]

#: Symbols a long-range episode starts with; the model has to remember which one it saw.
LONG_RANGE_KEYS = "ABCD"
#: Filler between key and marker, drawn uniformly; disjoint from the keys.
LONG_RANGE_NOISE = "abcdefgh"
#: Announces that the next character repeats the key (it says *when*, not *what*).
LONG_RANGE_MARKER = "?"
_EPISODE_END = "\n"
_SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})


def _check_max_chars(max_chars: int | None) -> int | None:
    if max_chars is None:
        return None
    if isinstance(max_chars, bool) or not isinstance(max_chars, (int, np.integer)):
        raise TypeError(
            f"max_chars must be an int or None, got {type(max_chars).__name__} {max_chars!r}"
        )
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1 (or None for everything), got {max_chars}")
    return int(max_chars)


def _source_files(root: Path, suffix: str) -> list[Path]:
    """Files under ``root`` ending in ``suffix``, sorted by relative path, skipping
    installed packages and caches."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _SKIPPED_DIRS]
        found.extend(Path(folder, name) for name in names if name.endswith(suffix))
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def _concatenate(files: Iterable[Path], max_chars: int | None) -> str:
    """Join the UTF-8 text of ``files`` with newlines, stopping once ``max_chars`` is reached.

    Files that are not valid UTF-8 are skipped rather than decoded with replacement
    characters, which would add a junk symbol to the vocabulary.
    """
    parts: list[str] = []
    total = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text:
            continue
        parts.append(text)
        total += len(text) + 1
        if max_chars is not None and total >= max_chars:
            break
    joined = "\n".join(parts)
    return joined if max_chars is None else joined[:max_chars]


def _python_folder(key: str, what: str) -> Path:
    folder = sysconfig.get_paths().get(key)
    if not folder or not Path(folder).is_dir():
        raise FileNotFoundError(
            f"this Python has no {what} folder (sysconfig path {key!r} is {folder!r}); "
            "install its development files, or use corpora.from_file(path) or "
            "corpora.long_range(distance) instead"
        )
    return Path(folder)


def _read_python_sources(
    key: str, what: str, suffix: str, max_chars: int | None, alternatives: str
) -> str:
    """Concatenated ``*suffix`` files of one of Python's own folders, or a clear error."""
    max_chars = _check_max_chars(max_chars)
    folder = _python_folder(key, what)
    text = _concatenate(_source_files(folder, suffix), max_chars)
    if not text:
        raise FileNotFoundError(f"no readable {suffix} file under {str(folder)!r}; {alternatives}")
    return text


def c_code(max_chars: int | None = 500_000) -> str:
    """C source text from the header files the running Python ships (the paper's corpus kind).

    Reads every ``*.h`` file under ``sysconfig.get_paths()["include"]`` (and its subfolders)
    in sorted path order and joins them with a newline.

    Parameters
    ----------
    max_chars : int or None, default 500_000
        Keep at most this many characters; None keeps everything (about 0.9 MB on CPython 3.11).

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        If this Python has no include folder or no readable header in it.
    ValueError, TypeError
        If ``max_chars`` is not None or a positive int.

    Examples
    --------
    >>> text = c_code(max_chars=1000)
    >>> len(text)
    1000
    """
    return _read_python_sources(
        "include",
        "C header (include)",
        ".h",
        max_chars,
        "install Python's development headers, or use corpora.python_code() or "
        "corpora.from_file(path)",
    )


def python_code(max_chars: int | None = 500_000) -> str:
    """Python source text from the running interpreter's standard library.

    Reads the ``*.py`` files under ``sysconfig.get_paths()["stdlib"]`` in sorted path
    order, skipping ``site-packages`` (third-party code) and ``__pycache__``. ``max_chars``
    is as for :func:`c_code` (None keeps everything: tens of MB); a missing or empty standard
    library folder raises ``FileNotFoundError``.

    Examples
    --------
    >>> len(python_code(max_chars=2000))
    2000
    """
    return _read_python_sources(
        "stdlib",
        "standard library (stdlib)",
        ".py",
        max_chars,
        "use corpora.c_code() or corpora.from_file(path)",
    )


def python_docs(max_chars: int | None = 500_000) -> str:
    """English prose: the help topics of the running Python (``help("FOR")`` and the
    like), a word corpus of about 460,000 characters.

    They are the text of ``pydoc_data.topics``, a module of the standard library, joined in
    sorted topic order. ``max_chars`` is as for :func:`c_code`. Train a word model on it with
    ``CharRNNTrainer(corpora.python_docs(), tokens="word")``.

    Examples
    --------
    >>> len(python_docs(max_chars=2000))
    2000
    """
    max_chars = _check_max_chars(max_chars)
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise FileNotFoundError(
            "this Python ships no pydoc_data.topics (its help topics); use "
            "corpora.from_file(path) with any English text instead"
        ) from None
    text = "\n\n".join(topics[key] for key in sorted(topics))
    return text if max_chars is None else text[:max_chars]


def from_file(
    path: str | os.PathLike, encoding: str = "utf-8", max_chars: int | None = None
) -> str:
    """The text of one file, as one ``str``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    encoding : str, default "utf-8"
        Its text encoding.
    max_chars : int or None, default None
        Keep at most this many characters; None keeps everything.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a directory, is empty, or cannot be decoded with ``encoding``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "poem.txt"
    >>> _ = path.write_text("roses are red\\n", encoding="utf-8")
    >>> from_file(path, max_chars=5)
    'roses'
    """
    max_chars = _check_max_chars(max_chars)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no corpus file at {str(path)!r}; check the path")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory; pass the path of a text file")
    try:
        text = path.read_text(encoding=encoding)
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {str(path)!r}") from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{str(path)!r} is not valid {encoding} text ({error.reason} at byte "
            f"{error.start}); pass the file's encoding, e.g. encoding='latin-1'"
        ) from None
    if not text:
        raise ValueError(f"{str(path)!r} is empty; a corpus needs at least one character")
    return text if max_chars is None else text[:max_chars]


def _check_distance(distance: int) -> int:
    if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)):
        raise TypeError(f"distance must be an int, got {type(distance).__name__} {distance!r}")
    if distance < 2:
        raise ValueError(
            f"distance must be >= 2 (key, ..., marker, answer), got {distance}; "
            "distance 2 is the shortest task"
        )
    return int(distance)


def long_range(distance: int, length: int = 100_000, seed: int = 0) -> str:
    """Synthetic text with a dependency exactly ``distance`` characters long.

    The text is a series of lines (episodes). Each line is::

        key  noise * (distance - 2)  marker  key  newline

    for example ``"Bhcadf?B\\n"`` at ``distance=7``. The key is drawn from
    :data:`LONG_RANGE_KEYS` and the noise from :data:`LONG_RANGE_NOISE` (disjoint, so the
    noise gives no hint), and :data:`LONG_RANGE_MARKER` comes right before the repeated
    key. The marker tells the model *when* the key repeats but not *which* key; only the
    character ``distance`` steps back tells that. Everything else is either noise
    (unpredictable) or filler (the marker and newline, predictable by counting).

    A model that learns the dependency predicts the repeated key perfectly; one that
    cannot carry information ``distance`` steps (e.g. because training truncates the
    backward pass at ``seq_length < distance``) guesses among ``len(LONG_RANGE_KEYS)``.
    Use :func:`long_range_dependents` to find the positions to score.

    Parameters
    ----------
    distance : int
        How many steps back the answer's key is, ``>= 2``.
    length : int, default 100_000
        Number of characters, ``>= distance + 1`` (at least one answer). The last
        episode may be cut short.
    seed : int, default 0
        Seed of the random keys and noise.

    Returns
    -------
    str

    Examples
    --------
    >>> text = long_range(distance=4, length=20, seed=0)
    >>> text.splitlines()[0][0] == text.splitlines()[0][-1]  # the key comes back
    True
    >>> len(text.splitlines()[0])  # key, 2 noise, marker, key
    5
    """
    distance = _check_distance(distance)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"length must be an int, got {type(length).__name__} {length!r}")
    if length < distance + 1:
        raise ValueError(
            f"length must be >= distance + 1 = {distance + 1} to hold one answer, got {length}; "
            "increase length or lower distance"
        )
    rng = np.random.default_rng(seed)
    width = distance + 2  # key, noise..., marker, answer, newline
    episodes = -(-length // width)
    keys = np.array(list(LONG_RANGE_KEYS))
    noise = np.array(list(LONG_RANGE_NOISE))
    grid = np.empty((episodes, width), dtype="<U1")
    grid[:, 0] = keys[rng.integers(0, len(keys), episodes)]
    grid[:, 1 : distance - 1] = noise[rng.integers(0, len(noise), (episodes, distance - 2))]
    grid[:, distance - 1] = LONG_RANGE_MARKER
    grid[:, distance] = grid[:, 0]
    grid[:, distance + 1] = _EPISODE_END
    return "".join(grid.ravel()[:length].tolist())


def long_range_dependents(text: str, distance: int) -> np.ndarray:
    """Positions in ``text`` whose character is determined by the one ``distance`` earlier.

    These are the characters right after each :data:`LONG_RANGE_MARKER`. Score a model on
    them: the prediction made at input position ``p - 1`` should equal ``text[p]``, which
    equals ``text[p - distance]``.

    Parameters
    ----------
    text : str
        Text made by :func:`long_range` (or a slice of it starting at an episode).
    distance : int
        The distance it was generated with.

    Returns
    -------
    numpy.ndarray
        Sorted int64 positions ``p`` with ``p >= distance``.

    Raises
    ------
    ValueError
        If ``text`` does not have the key ``distance`` steps before every answer, i.e. it
        was generated with another distance (or is not long-range text at all).

    Examples
    --------
    >>> text = "Aab?A\\nCba?C\\nB"
    >>> long_range_dependents(text, 4)
    array([ 4, 10])
    >>> text[4] == text[0] and text[10] == text[6]
    True
    """
    distance = _check_distance(distance)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    positions = np.flatnonzero(codes[:-1] == ord(LONG_RANGE_MARKER)) + 1
    positions = positions[positions >= distance]
    key_codes = np.array([ord(k) for k in LONG_RANGE_KEYS], dtype=np.uint32)
    sources = codes[positions - distance]
    wrong = ~np.isin(sources, key_codes)
    if wrong.any():
        p = int(positions[np.argmax(wrong)])
        raise ValueError(
            f"text[{p - distance}] = {text[p - distance]!r} is not a key from "
            f"{LONG_RANGE_KEYS!r}, so text was not made by long_range(distance={distance}); "
            "pass the distance it was generated with"
        )
    return positions.astype(np.int64)
