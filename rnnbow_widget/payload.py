"""Binary payloads of recorded chunks, as the views receive them.

A block of consecutive records travels as one custom message: a small JSON header naming
each column with its dtype and shape, and one little-endian buffer per column (see
``docs/data-contract.md``). Per-step losses and the packed magnitude triangle go as
bfloat16 (the upper half of the float32 bits, rounded to nearest even), which keeps
float32's range, so the vanishing tail down to 1e-38 still draws, at half the bytes.

The same blocks, base64-encoded, feed the standalone HTML export.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rnnbow_widget.recording import Recording

MAX_BLOCK_RECORDS = 4096
"""Largest number of records in one ``records`` message."""

BFLOAT16 = "bfloat16"
"""The dtype name a bfloat16 column carries in the header (its bytes are uint16)."""

SCALAR_COLUMNS: dict[str, str] = {
    "step": "int32",
    "offset": "int32",
    "loss": "float32",
    "smooth_loss": "float32",
    "max_gradient": "float32",
    "mean_gradient": "float32",
    "grad_norm": "float32",
    "clipped": "uint8",
    "effective_horizon": "float32",
    "reach": "float32",
}
"""One value per record: column name -> wire dtype."""

LABEL_COLUMNS = ("targets", "predictions")
"""(count, n) vocabulary indices: uint16, or int32 for vocabularies beyond 65535 symbols."""

BFLOAT16_COLUMNS = ("losses", "magnitudes")
"""(count, n) per-step losses and (count, n(n+1)/2) packed magnitudes, sent as bfloat16."""

COLUMN_ORDER = (*SCALAR_COLUMNS, *LABEL_COLUMNS, *BFLOAT16_COLUMNS)

_WIRE_DTYPES = {"int32", "float32", "uint8", "uint16", BFLOAT16}


def float32_to_bfloat16(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Round float32 values to bfloat16, returned as their uint16 bit patterns.

    Rounds to nearest, ties to even, on the float32 bits; NaN stays NaN (quiet), infinities
    stay infinite, and values beyond bfloat16's largest finite number round to infinity as
    IEEE rounding demands.

    Parameters
    ----------
    values : numpy.ndarray
        Any real array; it is converted to float32 first.
    out : numpy.ndarray, optional
        uint16 array of the same shape to write the bits into (no new array is made).

    Returns
    -------
    numpy.ndarray
        uint16 array of the same shape (``out`` when given).

    Examples
    --------
    >>> float32_to_bfloat16(np.array([1.0, -2.0, 1e-38], dtype=np.float32))
    array([16256, 49152,   109], dtype=uint16)
    """
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    if out is None:
        out = np.empty(bits.shape, dtype=np.uint16)
    elif out.dtype != np.uint16 or out.shape != bits.shape:
        raise ValueError(
            f"out must be a uint16 array of shape {bits.shape}, got {out.dtype} {out.shape}"
        )
    if bits.max(initial=0) <= 0x7F800000:
        # The common case: no sign bit and no NaN (every value in [0, inf]; recorded values
        # are norms). Round on one scratch array; the sum stays below 2**32.
        rounded = bits >> np.uint32(16)
        rounded &= np.uint32(1)
        rounded += bits
        rounded += np.uint32(0x7FFF)
        np.right_shift(rounded, np.uint32(16), out=out, casting="unsafe")
        return out
    nan = np.isnan(bits.view(np.float32))
    safe = np.where(nan, np.uint32(0), bits)
    lsb = (safe >> np.uint32(16)) & np.uint32(1)
    rounded = (safe + np.uint32(0x7FFF) + lsb) >> np.uint32(16)
    quiet_nan = (bits >> np.uint32(16)) | np.uint32(0x0040)
    np.copyto(out, np.where(nan, quiet_nan, rounded), casting="unsafe")
    return out


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen bfloat16 bit patterns (uint16) back to float32 exactly.

    Examples
    --------
    >>> bfloat16_to_float32(np.array([16256, 49152], dtype=np.uint16))
    array([ 1., -2.], dtype=float32)
    """
    widened = np.ascontiguousarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)
    return widened.view(np.float32)


def bytes_per_record(seq_length: int, vocab_size: int = 256) -> int:
    """Bytes of column data one record adds to a block (headers not counted).

    Parameters
    ----------
    seq_length : int
        n, the chunk length.
    vocab_size : int, optional
        Number of symbols; above 65535 the label columns widen to int32.

    Returns
    -------
    int

    Examples
    --------
    >>> bytes_per_record(25)
    837
    """
    n = _check_positive_int(seq_length, "seq_length")
    vocab_size = _check_positive_int(vocab_size, "vocab_size")
    scalars = sum(np.dtype(dtype).itemsize for dtype in SCALAR_COLUMNS.values())
    label_itemsize = 2 if vocab_size <= 65535 else 4
    labels = len(LABEL_COLUMNS) * n * label_itemsize
    return scalars + labels + 2 * n + 2 * (n * (n + 1) // 2)


def encode_block(
    recording: Recording, start: int, stop: int | None = None
) -> tuple[dict[str, Any], list[bytes]]:
    """Encode records ``[start, stop)`` as one ``records`` message.

    Parameters
    ----------
    recording : Recording
        Source of the columns (``recording.columns(start, stop)``).
    start : int
        First record index, ``0 <= start <= len(recording)``.
    stop : int or None, optional
        One past the last record; ``None`` or a value beyond the end means the end.

    Returns
    -------
    content : dict
        ``{"type": "records", "start", "count", "columns": [{"name", "dtype", "shape"}]}``.
    buffers : list of bytes
        Little-endian bytes of each column, in the order of ``content["columns"]``.

    Examples
    --------
    >>> content, buffers = encode_block(recording, 0, 10)  # doctest: +SKIP
    >>> content["count"], [c["name"] for c in content["columns"]][:2]  # doctest: +SKIP
    (10, ['step', 'offset'])
    """
    start, stop = _check_range(start, stop, len(recording))
    columns = recording.columns(start, stop)
    missing = [name for name in COLUMN_ORDER if name not in columns]
    if missing:
        raise ValueError(
            f"recording.columns() must provide {list(COLUMN_ORDER)}; missing {missing}"
        )
    headers: list[dict[str, Any]] = []
    buffers: list[bytes] = []
    for name in COLUMN_ORDER:
        array, dtype = _wire_array(name, np.asarray(columns[name]))
        headers.append({"name": name, "dtype": dtype, "shape": list(array.shape)})
        buffers.append(array.tobytes())
    content = {"type": "records", "start": start, "count": stop - start, "columns": headers}
    return content, buffers


def iter_blocks(
    recording: Recording,
    start: int = 0,
    stop: int | None = None,
    block_size: int = MAX_BLOCK_RECORDS,
) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
    """Encode ``[start, stop)`` as consecutive messages of at most ``block_size`` records.

    Yields nothing when the range is empty.

    Examples
    --------
    >>> sum(c["count"] for c, _ in iter_blocks(recording))  # doctest: +SKIP
    1200
    """
    block_size = _check_positive_int(block_size, "block_size")
    start, stop = _check_range(start, stop, len(recording))
    for first in range(start, stop, block_size):
        yield encode_block(recording, first, min(first + block_size, stop))


def decode_block(content: dict[str, Any], buffers: list[bytes]) -> dict[str, np.ndarray]:
    """Decode one ``records`` message back to numpy columns (for tests and tools).

    bfloat16 columns come back widened to float32; every other column keeps its wire dtype.

    Parameters
    ----------
    content : dict
        The message header produced by :func:`encode_block`.
    buffers : list of bytes-like
        The column buffers, one per header entry.

    Returns
    -------
    dict of str to numpy.ndarray

    Examples
    --------
    >>> columns = decode_block(*encode_block(recording, 0, 3))  # doctest: +SKIP
    >>> columns["magnitudes"].dtype  # doctest: +SKIP
    dtype('float32')
    """
    headers = content.get("columns")
    if not isinstance(headers, list) or len(headers) != len(buffers):
        raise ValueError(
            f"content['columns'] must list one header per buffer; got "
            f"{len(headers) if isinstance(headers, list) else type(headers).__name__} "
            f"headers for {len(buffers)} buffers"
        )
    decoded: dict[str, np.ndarray] = {}
    for header, buffer in zip(headers, buffers, strict=True):
        dtype = header["dtype"]
        if dtype not in _WIRE_DTYPES:
            raise ValueError(f"column {header['name']!r} has unknown dtype {dtype!r}")
        storage = np.dtype("uint16" if dtype == BFLOAT16 else dtype).newbyteorder("<")
        array = np.frombuffer(bytes(buffer), dtype=storage).reshape(header["shape"])
        decoded[header["name"]] = (
            bfloat16_to_float32(array) if dtype == BFLOAT16 else array.astype(array.dtype.name)
        )
    return decoded


def block_to_json(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """Turn a message into the standalone form: each column carries its bytes as base64.

    Returns ``{"start", "count", "columns": [{"name", "dtype", "shape", "data_b64"}]}``,
    which ``RNNbowStandalone.mount`` accepts.

    Examples
    --------
    >>> block = block_to_json(*encode_block(recording, 0, 5))  # doctest: +SKIP
    >>> sorted(block["columns"][0])  # doctest: +SKIP
    ['data_b64', 'dtype', 'name', 'shape']
    """
    columns = [
        {**header, "data_b64": base64.b64encode(bytes(buffer)).decode("ascii")}
        for header, buffer in zip(content["columns"], buffers, strict=True)
    ]
    return {"start": content["start"], "count": content["count"], "columns": columns}


def message_size(content: dict[str, Any], buffers: list[bytes]) -> int:
    """Bytes of a message as it leaves the kernel: compact JSON header plus the buffers."""
    header = json.dumps(content, separators=(",", ":")).encode("utf-8")
    return len(header) + sum(len(buffer) for buffer in buffers)


def meta_of(recording: Recording) -> dict[str, Any]:
    """The ``_meta`` trait for a recording: chunk length, vocabulary and run description.

    Examples
    --------
    >>> sorted(meta_of(recording))  # doctest: +SKIP
    ['cell', 'corpus_length', 'hidden_size', 'record_every', 'seq_length', 'title', 'vocab']
    """
    meta = dict(recording.meta)
    out: dict[str, Any] = {
        "seq_length": int(recording.seq_length),
        "vocab": [str(symbol) for symbol in recording.vocab],
        "title": str(meta.get("title") or ""),
        "hidden_size": _int_or(meta.get("hidden_size"), 0),
        "cell": str(meta.get("cell") or "rnn"),
        "record_every": _int_or(meta.get("record_every"), 1),
        "corpus_length": _int_or(meta.get("corpus_length"), 0),
    }
    diverged = _diverged_of(meta.get("diverged"))
    if diverged is not None:
        out["diverged"] = diverged
    return out


def _diverged_of(value: object) -> dict[str, Any] | None:
    """``meta["diverged"]`` as the views read it (step, quantity, message), or None."""
    if not isinstance(value, dict):
        return None
    step = value.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        return None
    return {
        "step": step,
        "quantity": str(value.get("quantity") or "gradient"),
        "message": str(value.get("message") or ""),
    }


def _int_or(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _wire_array(name: str, array: np.ndarray) -> tuple[np.ndarray, str]:
    if name in BFLOAT16_COLUMNS:
        return float32_to_bfloat16(array), BFLOAT16
    if name in LABEL_COLUMNS:
        dtype = "uint16" if array.dtype == np.uint16 else "int32"
    else:
        dtype = SCALAR_COLUMNS[name]
    little = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    return little, dtype


def _check_range(start: object, stop: object, length: int) -> tuple[int, int]:
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError(f"start must be an int, got {type(start).__name__}")
    if not 0 <= start <= length:
        raise ValueError(f"start must be in [0, {length}] (the recording's length), got {start}")
    if stop is None:
        return int(start), length
    if isinstance(stop, bool) or not isinstance(stop, (int, np.integer)):
        raise TypeError(f"stop must be an int or None, got {type(stop).__name__}")
    if stop < start:
        raise ValueError(f"stop must be >= start ({start}), got {stop}")
    return int(start), min(int(stop), length)


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
