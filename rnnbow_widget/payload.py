"""Messages to the browser: blocks of records, one record's whole magnitudes or per-unit
data, and the meta trait.

A block of consecutive records travels as one custom message: a small JSON header naming each
column with its dtype and shape, and one little-endian buffer per column
(``docs/data-contract.md``). The columns and their wire dtypes come from
:data:`rnnbow_widget.columns.COLUMNS`; the browser learns them from the header. Losses and
magnitudes go as bfloat16 (:mod:`rnnbow_widget.bfloat16`), half the bytes of float32 with the
same range. Long chunks (:func:`~rnnbow_widget.columns.sends_band`) send the band of the
:data:`~rnnbow_widget.columns.K_BAND` nearest sources of each step instead of the whole
triangle (:data:`~rnnbow_widget.columns.BAND_COLUMNS`); the browser asks for one record's whole
triangle when it needs it (:func:`magnitudes_message`). The standalone HTML export carries the
same messages with the bytes in base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterator
from typing import Any

import numpy as np

from rnnbow_widget.bfloat16 import BFLOAT16, bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.checks import check_int
from rnnbow_widget.columns import (
    BAND_COLUMNS,
    COLUMNS,
    K_BAND,
    OPTIONAL_COLUMNS,
    Column,
    sends_band,
)
from rnnbow_widget.recording import Recording

__all__ = [
    "MAX_BLOCK_BYTES",
    "MAX_BLOCK_RECORDS",
    "MAX_SUMMARY_RECORDS",
    "MIN_DETAIL_RECORDS",
    "TRIANGLE_COLUMNS",
    "answer_to_json",
    "band_of",
    "block_to_json",
    "bytes_per_record",
    "decode_block",
    "encode_block",
    "iter_blocks",
    "keep_plan",
    "magnitudes_message",
    "message_size",
    "meta_of",
    "units_message",
    "units_to_json",
]

MAX_BLOCK_RECORDS = 4096
"""Largest number of records in one ``records`` message."""

MAX_BLOCK_BYTES = 8 << 20
"""Largest ``records`` message, in bytes of column data (long chunks: fewer records per
message); a single record larger than this still goes, alone."""

MAX_SUMMARY_RECORDS = 16 * MAX_BLOCK_RECORDS
"""Largest number of records in one message of summary numbers only (37 bytes a record)."""

_BAND_BATCH = 64
"""Records unpacked at a time when the band is worked out (64 x 512 x 512 float32: 64 MB)."""

_WIRE_DTYPES = ("int32", "float32", "uint8", "uint16", BFLOAT16)


def _wire_dtype(column_wire: str, stored: np.dtype) -> str:
    # "index" columns go as stored: uint16, or int32 for vocabularies beyond 65,535 symbols.
    return stored.name if column_wire == "index" else column_wire


def _wire_columns(seq_length: int, held: Collection[str] = ()) -> tuple[Column, ...]:
    """The columns a ``records`` message carries for chunks of ``seq_length`` steps of a
    recording holding the columns ``held``: the band columns instead of ``magnitudes`` for
    long chunks; the optional columns held only for short ones (long chunks: on request)."""
    if not sends_band(seq_length):
        optional = tuple(column for column in OPTIONAL_COLUMNS if column.name in held)
        return tuple(column for column in COLUMNS if column.wire) + optional
    wire = tuple(column for column in COLUMNS if column.wire and column.name != "magnitudes")
    return wire + BAND_COLUMNS


def bytes_per_record(
    seq_length: int,
    vocab_size: int = 256,
    held: Collection[str] = (),
    *,
    details: bool | None = None,
) -> int:
    """Bytes of column data one record adds to a ``records`` message (headers not counted), for
    a recording holding the columns ``held`` (its ``column_names``; only the optional ones
    matter).

    ``details=False`` counts only the summary columns (one value per record), ``details=True``
    only the detail columns (labels, per-step losses, magnitudes or band): what a browser keeps
    within its ``details_budget_mb``.

    Examples
    --------
    >>> bytes_per_record(25), bytes_per_record(512)
    (837, 37925)
    >>> bytes_per_record(25, details=False), bytes_per_record(25, details=True)
    (37, 800)
    >>> bytes_per_record(25, held=["example_magnitudes"])  # their triangle too, 325 x 2 bytes
    1487
    """
    n = check_int("seq_length", seq_length, minimum=1)
    vocab_size = check_int("vocab_size", vocab_size, minimum=1)
    sizes = {"int32": 4, "float32": 4, "uint8": 1, BFLOAT16: 2}
    widths = {"": 1, "n": n, "triangle": n * (n + 1) // 2, "band": n * K_BAND}
    total = 0
    for column in _wire_columns(n, held):
        if details is not None and details != (column.width != ""):
            continue
        itemsize = (
            (2 if vocab_size <= 65535 else 4) if column.wire == "index" else sizes[column.wire]
        )
        total += widths[column.width] * itemsize
    return total


def band_of(magnitudes: np.ndarray, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """The band and the sums beyond it (:data:`~rnnbow_widget.columns.BAND_COLUMNS`) of packed
    magnitudes.

    Parameters
    ----------
    magnitudes : numpy.ndarray
        ``(count, n(n+1)/2)`` packed lower triangles (source t, step j at ``t(t+1)/2 + j``).
    seq_length : int
        n.

    Returns
    -------
    band : numpy.ndarray
        ``(count, n, K_BAND)`` float32: ``band[r, j, d] = m[j + d, j]``, zero where
        ``j + d >= n``.
    beyond : numpy.ndarray
        ``(count, n)`` float32: the sum of ``m[t, j]`` over ``t >= j + K_BAND`` (in float64).

    Examples
    --------
    >>> packed = np.arange(1, 2081, dtype=np.float32)[None, :]  # n = 64
    >>> band, beyond = band_of(packed, 64)
    >>> band.shape, float(band[0, 0, 1]), float(band[0, 63, 1])  # m[1, 0] is entry 1
    ((1, 64, 32), 2.0, 0.0)
    """
    n = seq_length
    count = magnitudes.shape[0]
    j = np.arange(n)[:, None]
    t = j + np.arange(K_BAND)[None, :]
    inside = t < n
    index = np.where(inside, t * (t + 1) // 2 + j, 0)
    band = np.where(inside, magnitudes[:, index], np.float32(0)).astype(np.float32, copy=False)
    beyond = np.zeros((count, n), dtype=np.float32)
    t_index, j_index = np.tril_indices(n, -K_BAND)  # t - j >= K_BAND
    flat = t_index * (t_index + 1) // 2 + j_index
    for first in range(0, count, _BAND_BATCH):
        part = magnitudes[first : first + _BAND_BATCH, flat]
        full = np.zeros((part.shape[0], n, n), dtype=np.float64)
        full[:, t_index, j_index] = part
        beyond[first : first + _BAND_BATCH] = full.sum(axis=1)
    return band, beyond


def _wire(name: str, dtype: str, values: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """One column's header and little-endian bytes."""
    if dtype == BFLOAT16:
        wire = float32_to_bfloat16(values).astype("<u2", copy=False)
    else:
        wire = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"name": name, "dtype": dtype, "shape": list(wire.shape)}, wire.tobytes()


def encode_block(
    recording: Recording,
    start: int,
    stop: int | None = None,
    *,
    stride: int = 1,
    summary_only: bool = False,
) -> tuple[dict[str, Any], list[bytes]]:
    """Records ``start, start + stride, ...`` below ``stop`` as one ``records`` message (the
    band instead of the whole triangle for long chunks, :func:`~rnnbow_widget.columns.sends_band`).

    Parameters
    ----------
    recording : Recording
    start : int
        First record, ``0 <= start <= len(recording)``.
    stop : int or None, optional
        One past the last record; None or a value beyond the end means the end.
    stride : int, default 1
        Every ``stride``-th record from ``start`` (a browser's thinned details, see
        :func:`iter_blocks`); the message says ``"stride"`` when it is not 1.
    summary_only : bool, default False
        Only the columns with one value per record (step, loss, max gradient...).

    Returns
    -------
    content : dict
        ``{"type": "records", "start", "count", "columns": [{"name", "dtype", "shape"}]}``.
    buffers : list of bytes
        Little-endian bytes of each column, in the order of ``content["columns"]``.
    """
    start = check_int("start", start, minimum=0, maximum=len(recording))
    stop = len(recording) if stop is None else min(check_int("stop", stop), len(recording))
    stride = check_int("stride", stride, minimum=1)
    if stop < start:
        raise ValueError(f"stop must be >= start ({start}), got {stop}")
    n = recording.seq_length
    parts = []
    for column in _wire_columns(n, recording.column_names):
        if column.name in ("band", "beyond") or (summary_only and column.width):
            continue
        values = recording.column(column.name, start, stop)[::stride]
        parts.append(_wire(column.name, _wire_dtype(column.wire or "", values.dtype), values))
    if sends_band(n) and not summary_only:
        values = band_of(recording.column("magnitudes", start, stop)[::stride], n)
        parts += [_wire(c.name, c.wire or "", v) for c, v in zip(BAND_COLUMNS, values, strict=True)]
    headers = [header for header, _ in parts]
    buffers = [buffer for _, buffer in parts]
    count = len(range(start, stop, stride))
    content = {"type": "records", "start": start, "count": count, "columns": headers}
    if stride != 1:
        content["stride"] = stride
    return content, buffers


MIN_DETAIL_RECORDS = 64
"""Records whose details a browser keeps at any budget (``js/data/budget.ts``)."""


def keep_plan(count: int, detail_bytes: int, budget_mb: float) -> tuple[int, int]:
    """Which of ``count`` records' details a browser keeps within ``budget_mb`` MiB: every record
    from ``detail_from`` on, and below it the multiples of ``detail_stride``, as
    ``(detail_from, detail_stride)``.

    The browser makes this plan itself (``js/data/budget.ts``, ``keepPlan``) and sends it with
    its requests; a page written without a browser (:mod:`rnnbow_widget.export`) uses this
    copy. Both are checked against ``tests/fixtures/keep_plans.json``.

    Examples
    --------
    >>> keep_plan(1_000_000, 800, 160)  # the newest 104,857, every 16th older one
    (895143, 16)
    """
    budget = max(0.0, float(budget_mb)) * 2**20
    capacity = max(MIN_DETAIL_RECORDS, int(budget // max(1, detail_bytes)))
    newest = capacity // 2
    detail_from = max(0, count - newest)
    stride = 1
    while -(-detail_from // stride) > capacity - newest:
        stride *= 2
    return detail_from, stride


def iter_blocks(
    recording: Recording,
    start: int = 0,
    stop: int | None = None,
    block_size: int | None = None,
    *,
    detail_from: int | None = None,
    detail_stride: int = 1,
) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
    """Records ``[start, stop)`` as messages of at most ``block_size`` records
    (:data:`MAX_BLOCK_RECORDS` by default) and at most :data:`MAX_BLOCK_BYTES` of columns.

    With ``detail_from``, the browser's keep plan (``js/data/budget.ts``): every record's
    summary numbers, but the details (labels, losses, magnitudes) only of the records from
    ``detail_from`` on and of those below it whose index is a multiple of ``detail_stride``.
    The newest records go first, the latest block first (the views show the latest record),
    then the other records' summary numbers (the overview), then the thinned older records.
    """
    block_size = check_int(
        "block_size", MAX_BLOCK_RECORDS if block_size is None else block_size, minimum=1
    )
    per_record = bytes_per_record(
        recording.seq_length, len(recording.vocab), recording.column_names
    )
    block_size = max(1, min(block_size, MAX_BLOCK_BYTES // per_record))
    stop = len(recording) if stop is None else min(stop, len(recording))
    split = start if detail_from is None else max(start, min(detail_from, stop))
    if split == start:
        for first in range(start, stop, block_size):
            yield encode_block(recording, first, min(first + block_size, stop))
        return
    stride = check_int("detail_stride", detail_stride, minimum=1)
    for first in reversed(range(split, stop, block_size)):
        yield encode_block(recording, first, min(first + block_size, stop))
    for first in range(start, split, MAX_SUMMARY_RECORDS):
        last = min(first + MAX_SUMMARY_RECORDS, split)
        yield encode_block(recording, first, last, summary_only=True)
    kept = -(-start // stride) * stride  # the first multiple of the stride from start
    for first in range(kept, split, block_size * stride):
        yield encode_block(recording, first, min(first + block_size * stride, split), stride=stride)


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
    fields = {key: content[key] for key in ("start", "count", "stride") if key in content}
    return {**fields, "columns": columns}


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
        # What one record's details take in the browser, for its keep plan before any block.
        "detail_bytes": bytes_per_record(
            recording.seq_length, len(recording.vocab), recording.column_names, details=True
        ),
        "per_example": "example_magnitudes" in recording.column_names,
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


def answer_to_json(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """A ``units`` or ``magnitudes`` answer in the standalone form: its one buffer's bytes as
    base64 in ``data_b64``."""
    data = base64.b64encode(bytes(buffers[0])).decode("ascii") if buffers else ""
    return {**content, "data_b64": data}


units_to_json = answer_to_json


# ---------------------------------------------------------------- one record's whole triangle


TRIANGLE_COLUMNS = ("magnitudes", "example_magnitudes")
"""The columns whose one record's whole triangle the browser can ask for."""


def magnitudes_message(
    recording: Recording, index: object, column: object = "magnitudes"
) -> tuple[dict[str, Any], list[bytes]]:
    """The ``magnitudes`` answer to a browser's ``{"type": "request_magnitudes", "index": i}``:
    record i's whole packed triangle, for chunks whose ``records`` carry only the band; with
    ``"column": "example_magnitudes"``, the shown sequence's own.

    Never raises: a bad index, or a column the recording does not hold, is answered with
    ``available: false`` and the error text.

    Returns
    -------
    content : dict
        ``{"type": "magnitudes", "column", "index", "available", "seq_length",
        "dtype": "bfloat16", "shape": [n(n+1)/2]}``; ``{"type": "magnitudes", "column",
        "index", "available": false, "error"}`` for a bad request.
    buffers : list of bytes
        The packed triangle as bfloat16 bits, little-endian (same order as ``magnitudes``).
    """
    name = column if column in TRIANGLE_COLUMNS else "magnitudes"
    reply: dict[str, Any] = {"type": "magnitudes", "column": name, "available": False}
    try:
        index = check_int("index", index, minimum=0, maximum=len(recording) - 1)
    except (TypeError, ValueError) as error:
        shown = index if isinstance(index, int) and not isinstance(index, bool) else -1
        return {**reply, "index": shown, "error": str(error)}, []
    if column not in TRIANGLE_COLUMNS or name not in recording.column_names:
        error = (
            f"column must be one of {TRIANGLE_COLUMNS}, got {column!r}"
            if column not in TRIANGLE_COLUMNS
            else "this recording has no per-example magnitudes"
        )
        return {**reply, "index": index, "error": error}, []
    header, data = _wire(name, BFLOAT16, recording.column(name, index, index + 1)[0])
    content = {
        "type": "magnitudes",
        "column": name,
        "index": index,
        "available": True,
        "seq_length": int(recording.seq_length),
        "dtype": header["dtype"],
        "shape": header["shape"],
    }
    return content, [data]
