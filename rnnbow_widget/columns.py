"""The columns of a recording, defined once: name, storage dtype, width, and what the
browser receives.

``Recording`` allocates, checks, saves and loads its columns from :data:`COLUMNS`;
``payload`` encodes the wire columns from it; the browser learns them from each message's
header (name, dtype, shape), so there is no other copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BAND_COLUMNS",
    "COLUMNS",
    "COLUMN_NAMES",
    "DERIVED_COLUMNS",
    "INDEX_COLUMNS",
    "K_BAND",
    "OPTIONAL_COLUMNS",
    "WIRE_COLUMNS",
    "Column",
    "allocate",
    "check_columns",
    "column_dtype",
    "column_shape",
    "index_dtype",
    "max_horizon",
    "sends_band",
]


@dataclass(frozen=True)
class Column:
    """One column of a recording.

    Attributes
    ----------
    name : str
    dtype : str
        Storage dtype (in memory and in saved files); ``"index"`` is uint16, or int32 for
        vocabularies beyond 65,535 symbols.
    width : str
        Values per record: ``""`` one, ``"n"`` one per step, ``"triangle"`` n(n+1)/2,
        ``"band"`` n x :data:`K_BAND`.
    wire : str or None
        The dtype the browser receives (``"bfloat16"``: the upper half of float32), or None
        for a column that is not sent.
    derived : bool
        Worked out from the other columns (the summary numbers), not appended.
    """

    name: str
    dtype: str
    width: str = ""
    wire: str | None = None
    derived: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("step", "int32", wire="int32"),
    Column("offset", "int32", wire="int32"),
    Column("loss", "float32", wire="float32", derived=True),
    Column("smooth_loss", "float32", wire="float32"),
    Column("max_gradient", "float32", wire="float32", derived=True),
    Column("mean_gradient", "float32", wire="float32", derived=True),
    Column("grad_norm", "float32", wire="float32"),
    Column("clipped", "uint8", wire="uint8"),
    Column("effective_horizon", "float32", wire="float32", derived=True),
    Column("reach", "float32", wire="float32", derived=True),
    Column("accuracy", "float32", derived=True),
    Column("inputs", "index", "n"),
    Column("targets", "index", "n", wire="index"),
    Column("predictions", "index", "n", wire="index"),
    Column("losses", "float32", "n", wire="bfloat16"),
    Column("magnitudes", "float32", "triangle", wire="bfloat16"),
)
"""Every column, in the order the browser receives them (``docs/data-contract.md``)."""

OPTIONAL_COLUMNS: tuple[Column, ...] = (
    Column("example_magnitudes", "float32", "triangle", wire="bfloat16"),
)
"""Columns a recording holds for every record or for none (the first record decides).

``example_magnitudes``: for a batch, the packed magnitudes of the one sequence the label row
shows, the gradients of its own losses (``magnitudes`` are the batch's); a PyTorch
``Recorder`` records them. Short chunks send them with the records; for long chunks
(:func:`sends_band`) the browser asks for one record's at a time."""

COLUMN_NAMES = tuple(column.name for column in COLUMNS)
WIRE_COLUMNS = tuple(column.name for column in COLUMNS if column.wire)
"""The columns sent to the browser."""
DERIVED_COLUMNS = tuple(column.name for column in COLUMNS if column.derived)
"""The columns worked out from the others (the summary numbers)."""
INDEX_COLUMNS = ("inputs", "targets", "predictions")

K_BAND = 32
"""Sources per step the browser receives of a long chunk's magnitudes (:data:`BAND_COLUMNS`).

The browser learns it from the ``band`` column's shape ``(count, n, K_BAND)``."""

BAND_COLUMNS: tuple[Column, ...] = (
    Column("band", "float32", "band", wire="bfloat16"),
    Column("beyond", "float32", "n", wire="float32"),
)
"""What a ``records`` message carries instead of ``magnitudes`` for chunks whose packed
triangle is larger than n x :data:`K_BAND` values (:func:`sends_band`). Worked out from the
``magnitudes`` column when a message is encoded, never stored: ``band[j, d]`` is m[j + d, j]
(source t = j + d, step j; zero where j + d >= n), ``beyond[j]`` the sum of m[t, j] over
t >= j + K_BAND, so that every bar total stays exact. The whole triangle of one record is
sent on request (``request_magnitudes``, ``docs/data-contract.md``)."""


def sends_band(seq_length: int) -> bool:
    """True when chunks of ``seq_length`` steps go to the browser as a band: their packed
    triangle, n(n+1)/2 values, is larger than n x :data:`K_BAND` (n >= 64 at K_BAND = 32).

    Examples
    --------
    >>> sends_band(25), sends_band(63), sends_band(64), sends_band(512)
    (False, False, True, True)
    """
    return seq_length * (seq_length + 1) // 2 > seq_length * K_BAND


def index_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every vocabulary index fits, int32 beyond 65,535 symbols."""
    return np.dtype(np.uint16) if vocab_size <= 65535 else np.dtype(np.int32)


def max_horizon(seq_length: int) -> int:
    """The largest k (sources per stacked bar) the views can draw for chunks of ``seq_length``
    steps: n, or :data:`K_BAND` when the browser holds only the band.

    Examples
    --------
    >>> max_horizon(25), max_horizon(512)
    (25, 32)
    """
    return K_BAND if sends_band(seq_length) else seq_length


def column_shape(column: Column, seq_length: int) -> tuple[int, ...]:
    """The shape of one record's value of ``column`` for chunks of ``seq_length`` steps."""
    n = seq_length
    return {"": (), "n": (n,), "triangle": (n * (n + 1) // 2,)}[column.width]


def column_dtype(column: Column, vocab_size: int) -> np.dtype:
    """The storage dtype of ``column`` for a vocabulary of ``vocab_size`` tokens."""
    return index_dtype(vocab_size) if column.dtype == "index" else np.dtype(column.dtype)


def allocate(
    columns: Sequence[Column], capacity: int, seq_length: int, vocab_size: int
) -> dict[str, np.ndarray]:
    """Zeroed storage for ``capacity`` records of each of ``columns``, keyed by name."""
    return {
        column.name: np.zeros(
            (capacity, *column_shape(column, seq_length)), column_dtype(column, vocab_size)
        )
        for column in columns
    }


def check_columns(
    columns: dict[str, np.ndarray], count: int, seq_length: int, vocab_size: int
) -> None:
    """Raise ValueError unless ``columns`` are ``count`` stored records (every name of
    :data:`COLUMN_NAMES` and any of :data:`OPTIONAL_COLUMNS`, the storage dtypes and shapes,
    ids within the vocabulary)."""
    optional = {column.name for column in OPTIONAL_COLUMNS}
    if not set(COLUMN_NAMES) <= set(columns) <= set(COLUMN_NAMES) | optional:
        missing = sorted(set(COLUMN_NAMES) - set(columns))
        extra = sorted(set(columns) - set(COLUMN_NAMES) - optional)
        raise ValueError(f"columns do not match: missing {missing}, unexpected {extra}")
    for column in (*COLUMNS, *OPTIONAL_COLUMNS):
        if column.name not in columns:
            continue
        array = columns[column.name]
        shape = (count, *column_shape(column, seq_length))
        dtype = column_dtype(column, vocab_size)
        if array.dtype != dtype or array.shape != shape:
            raise ValueError(
                f"column {column.name!r} is {array.dtype} {array.shape}, expected {dtype} {shape}"
            )
    for name in INDEX_COLUMNS:
        if count and columns[name].max() >= vocab_size:
            raise ValueError(
                f"column {name!r} holds indices outside the vocabulary [0, {vocab_size - 1}]"
            )
    if count and columns["clipped"].max() > 1:
        raise ValueError("column 'clipped' holds values other than 0 and 1")
