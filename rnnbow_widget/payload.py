"""Messages to the browser: blocks of records, one record's per-unit data, and the meta trait.

A block of consecutive records travels as one custom message: a small JSON header naming each
column with its dtype and shape, and one little-endian buffer per column
(``docs/data-contract.md``). The columns and their wire dtypes come from
:data:`rnnbow_widget.columns.COLUMNS`; the browser learns them from the header. Losses and
magnitudes go as bfloat16 (:mod:`rnnbow_widget.bfloat16`), half the bytes of float32 with the
same range. The standalone HTML export carries the same messages with the bytes in base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from rnnbow_widget.bfloat16 import BFLOAT16, bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.checks import check_int
from rnnbow_widget.columns import COLUMNS
from rnnbow_widget.recording import Recording

__all__ = [
    "MAX_BLOCK_RECORDS",
    "block_to_json",
    "bytes_per_record",
    "decode_block",
    "encode_block",
    "iter_blocks",
    "message_size",
    "meta_of",
    "units_message",
    "units_to_json",
]

MAX_BLOCK_RECORDS = 4096
"""Largest number of records in one ``records`` message."""

_WIRE_DTYPES = ("int32", "float32", "uint8", "uint16", BFLOAT16)


def _wire_dtype(column_wire: str, stored: np.dtype) -> str:
    # "index" columns go as stored: uint16, or int32 for vocabularies beyond 65,535 symbols.
    return stored.name if column_wire == "index" else column_wire


def bytes_per_record(seq_length: int, vocab_size: int = 256) -> int:
    """Bytes of column data one record adds to a ``records`` message (headers not counted).

    Examples
    --------
    >>> bytes_per_record(25)
    837
    """
    n = check_int("seq_length", seq_length, minimum=1)
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    sizes = {"int32": 4, "float32": 4, "uint8": 1, BFLOAT16: 2}
    total = 0
    for column in COLUMNS:
        if column.wire is None:
            continue
        per_record = {"": 1, "n": n, "triangle": n * (n + 1) // 2}[column.width]
        itemsize = (
            (2 if vocab_size <= 65535 else 4) if column.wire == "index" else sizes[column.wire]
        )
        total += per_record * itemsize
    return total


def encode_block(
    recording: Recording, start: int, stop: int | None = None
) -> tuple[dict[str, Any], list[bytes]]:
    """Records ``[start, stop)`` as one ``records`` message.

    Parameters
    ----------
    recording : Recording
    start : int
        First record, ``0 <= start <= len(recording)``.
    stop : int or None, optional
        One past the last record; None or a value beyond the end means the end.

    Returns
    -------
    content : dict
        ``{"type": "records", "start", "count", "columns": [{"name", "dtype", "shape"}]}``.
    buffers : list of bytes
        Little-endian bytes of each column, in the order of ``content["columns"]``.
    """
    start = check_int("start", start, minimum=0, maximum=len(recording))
    stop = len(recording) if stop is None else min(check_int("stop", stop), len(recording))
    if stop < start:
        raise ValueError(f"stop must be >= start ({start}), got {stop}")
    headers: list[dict[str, Any]] = []
    buffers: list[bytes] = []
    for column in COLUMNS:
        if column.wire is None:
            continue
        values = recording.column(column.name, start, stop)
        dtype = _wire_dtype(column.wire, values.dtype)
        if dtype == BFLOAT16:
            wire = float32_to_bfloat16(values).astype("<u2", copy=False)
        else:
            wire = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
        headers.append({"name": column.name, "dtype": dtype, "shape": list(wire.shape)})
        buffers.append(wire.tobytes())
    content = {"type": "records", "start": start, "count": stop - start, "columns": headers}
    return content, buffers


def iter_blocks(
    recording: Recording,
    start: int = 0,
    stop: int | None = None,
    block_size: int | None = None,
) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
    """Records ``[start, stop)`` as consecutive messages of at most ``block_size`` records
    (:data:`MAX_BLOCK_RECORDS` by default)."""
    block_size = check_int(
        "block_size", MAX_BLOCK_RECORDS if block_size is None else block_size, minimum=1
    )
    stop = len(recording) if stop is None else min(stop, len(recording))
    for first in range(start, stop, block_size):
        yield encode_block(recording, first, min(first + block_size, stop))


def decode_block(content: dict[str, Any], buffers: list[bytes]) -> dict[str, np.ndarray]:
    """A ``records`` message back to numpy columns (bfloat16 widened to float32); for tests
    and tools."""
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
    """A message in the standalone form: each column carries its bytes as base64."""
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
    """The ``_meta`` trait for a recording: chunk length, vocabulary and run description."""
    meta = recording.meta
    out: dict[str, Any] = {
        "seq_length": int(recording.seq_length),
        "vocab": list(recording.vocab),
        "title": str(meta.get("title") or ""),
        "hidden_size": _int_or(meta.get("hidden_size"), 0),
        "cell": str(meta.get("cell") or "rnn"),
        "record_every": _int_or(meta.get("record_every"), 1),
        "corpus_length": _int_or(meta.get("corpus_length"), 0),
    }
    diverged = meta.get("diverged")
    if isinstance(diverged, dict) and _int_or(diverged.get("step"), -1) >= 0:
        out["diverged"] = {
            "step": _int_or(diverged["step"], 0),
            "quantity": str(diverged.get("quantity") or "gradient"),
            "message": str(diverged.get("message") or ""),
        }
    return out


def _int_or(value: object, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- per-unit data


def units_message(recording: Recording, index: object) -> tuple[dict[str, Any], list[bytes]]:
    """The ``units`` answer to a browser's ``{"type": "request_units", "index": i}``.

    Never raises: a bad index is answered with ``available: false``, ``reason:
    "bad_request"`` and the error text, so the view can say what went wrong.

    Returns
    -------
    content : dict
        ``{"type": "units", "index", "available", "reason", "nearest", "stride",
        "hidden_size", "seq_length", "dtype": "bfloat16", "shape": [n(n+1)/2, H]}``;
        ``reason`` is "" when available, else ``"not_recorded"`` (no per-unit data in this
        recording), ``"thinned"`` (dropped to stay in budget) or ``"bad_request"``.
    buffers : list of bytes
        The bfloat16 bits, little-endian, when available; else empty.
    """
    try:
        index = check_int("index", index, minimum=0, maximum=len(recording) - 1)
    except (TypeError, ValueError) as error:
        shown = index if isinstance(index, int) and not isinstance(index, bool) else -1
        reply = {"type": "units", "index": shown, "available": False, "reason": "bad_request"}
        return {**reply, "error": str(error)}, []
    store = recording.units
    content: dict[str, Any] = {
        "type": "units",
        "index": index,
        "available": False,
        "reason": "not_recorded",
        "nearest": [],
        "stride": 0,
        "hidden_size": 0,
        "seq_length": int(recording.seq_length),
        "dtype": BFLOAT16,
        "shape": [0, 0],
    }
    if store is None:
        return content, []
    n = store.seq_length
    content.update(stride=store.stride, hidden_size=store.hidden_size)
    content["shape"] = [n * (n + 1) // 2, store.hidden_size]
    bits = store.packed(index)
    if bits is None:
        content.update(reason="thinned", nearest=store.nearest(index))
        return content, []
    content.update(available=True, reason="")
    return content, [bits.astype("<u2", copy=False).tobytes()]


def units_to_json(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """A ``units`` message in the standalone form: the bytes as base64 in ``data_b64``."""
    data = base64.b64encode(bytes(buffers[0])).decode("ascii") if buffers else ""
    return {**content, "data_b64": data}
