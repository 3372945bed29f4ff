"""The columns of a recording, defined once: name, storage dtype, width, and what the
browser receives.

``Recording`` allocates, checks, saves and loads its columns from :data:`COLUMNS`;
``payload`` encodes the wire columns from it; the browser learns them from each message's
header (name, dtype, shape), so there is no other copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "DERIVED_COLUMNS",
    "INDEX_COLUMNS",
    "WIRE_COLUMNS",
    "Column",
    "index_dtype",
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
        Values per record: ``""`` one, ``"n"`` one per step, ``"triangle"`` n(n+1)/2.
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

COLUMN_NAMES = tuple(column.name for column in COLUMNS)
WIRE_COLUMNS = tuple(column.name for column in COLUMNS if column.wire)
"""The columns sent to the browser."""
DERIVED_COLUMNS = tuple(column.name for column in COLUMNS if column.derived)
"""The columns worked out from the others (the summary numbers)."""
INDEX_COLUMNS = ("inputs", "targets", "predictions")


def index_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every vocabulary index fits, int32 beyond 65,535 symbols."""
    return np.dtype(np.uint16) if vocab_size <= 65535 else np.dtype(np.int32)
