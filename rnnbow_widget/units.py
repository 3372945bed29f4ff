"""Per-unit drilldown: how much each hidden unit carries of one loss's gradient, step by step.

The itemized gradient of pair (source t, step j) for ``W_hh`` is ``outer(g_{t,j}, h_{j-1})``
(vanilla cell). Row ``i`` of it belongs to hidden unit ``i``; its norm is the unit's
contribution::

    u[t, j, i] = |g_{t,j}[i]| * ||h_{j-1}||

and, since the Frobenius norm squared is the sum of the squared row norms,
``sum_i u[t, j, i]**2 == magnitudes[t, j]**2`` (with ``norm="fro"``).

Gated cells stack one row block per gate (LSTM: input, forget, candidate, output; GRU: reset,
update, candidate), so unit ``i`` owns rows ``i, H + i, 2H + i, ...``: its contribution is
the norm of all those rows together, ``sqrt(sum_gates |g_gate[i]|**2 * ||v_gate,j||**2)``
where ``v`` is the vector the block multiplies (``h_{j-1}``, or ``r_j * h_{j-1}`` for the
GRU's candidate). The identity with the magnitudes holds for every cell. For ``W_xh`` the
vector is the one-hot ``x_j`` (norm 1), for ``b_h`` there is none (norm 1). With
``norm="mean_abs"`` the recorded magnitudes are means, but the units stay row norms.

Storage (:class:`UnitStore`): per record, ``H`` values as bfloat16 for every pair the lag
walk reaches, in its pair order (:func:`~rnnbow_widget.cells.lagwalk.pair_indices`): all
``n (n + 1) / 2`` pairs without a horizon (65 KB at n = 25, H = 100), only the
``pair_count(n, k)`` pairs with ``t - j < k`` with a horizon k (23 KB at k = 5). Readers get
the packed triangle (``t (t + 1) / 2 + j``) with zeros beyond the horizon, as the browser and
the saved file expect. Records are kept while under a budget; over it the store *thins
evenly*: the stride doubles and only records whose index is a multiple of it stay, so the
kept ones still span all of training. The newest record is always kept as well (the chunk a
live view shows), until the next one arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rnnbow_widget.cells.lagwalk import RecurrentBlock, check_horizon, pair_count, pair_indices
from rnnbow_widget.payload import BFLOAT16, bfloat16_to_float32, float32_to_bfloat16

__all__ = [
    "DEFAULT_BUDGET_MB",
    "UnitStore",
    "answer_request",
    "unit_contributions",
    "units_message",
    "units_to_json",
]

DEFAULT_BUDGET_MB = 256.0
"""Default memory budget of a trainer's :class:`UnitStore`, in MiB."""

ARRAY_KEYS = ("units_index", "units_values", "units_config")
"""The optional .npz arrays a recording with per-unit data holds."""

BLOCK_BYTES = 8 * 2**20
"""A :class:`UnitStore` allocates its records in blocks of at most this many bytes (never more
than the budget's records plus one), and reuses the places of dropped records. Every new record
lands in memory touched for the first time, a sizeable part of a recorded chunk's cost; numpy
asks for huge pages for blocks of 4 MiB and more, so that costs one fault per 2 MiB instead of
one per 4 KiB."""


class _Block(Protocol):
    rows: slice
    vectors: np.ndarray


def _recurrent_block(block: _Block) -> RecurrentBlock:
    return block if isinstance(block, RecurrentBlock) else RecurrentBlock(block.rows, block.vectors)


def unit_contributions(
    g: np.ndarray,
    t: np.ndarray,
    j: np.ndarray,
    n: int,
    hidden_size: int,
    blocks: Sequence[_Block] | None = None,
    *,
    pair_order: bool = False,
) -> np.ndarray:
    """Row norms of every itemized gradient, folded per hidden unit, as a packed triangle.

    Parameters
    ----------
    g : np.ndarray
        (pairs, P) pre-activation gradients ``g_{t,j}`` from a lag walk, ``P = G * H`` with
        the G gate blocks stacked along the columns (G = 1 for the vanilla cell).
    t, j : np.ndarray
        (pairs,) source and step of each row of ``g``.
    n : int
        Chunk length.
    hidden_size : int
        H.
    blocks : sequence of objects with ``rows`` (slice of g's columns) and ``vectors`` (n, H')
        The vector each block of rows multiplies at step j (``h_{j-1}`` for ``W_hh``). None
        means every vector has norm 1 (``W_xh`` with one-hot inputs, ``b_h``).
    pair_order : bool, default False
        Return one row per row of ``g``, in its order, instead of the packed triangle (no
        zero rows for the pairs beyond a horizon; :class:`UnitStore` keeps this form).

    Returns
    -------
    np.ndarray
        (n (n + 1) / 2, H) float64: row ``t (t + 1) / 2 + j`` holds ``u[t, j, :]``; pairs the
        walk did not reach (beyond a horizon) are 0. With ``pair_order=True``, (pairs, H):
        row ``r`` holds ``u[t[r], j[r], :]``.

    Examples
    --------
    >>> g = np.array([[3.0, 4.0]])  # one pair (t, j) = (0, 0), H = 2
    >>> class B: rows = slice(0, 2); vectors = np.array([[0.0, 2.0]])
    >>> unit_contributions(g, np.array([0]), np.array([0]), 1, 2, [B()])
    array([[6., 8.]])
    """
    g = np.asarray(g, dtype=np.float64)
    P = g.shape[1]
    if P % hidden_size:
        raise ValueError(f"g has {P} columns, not a multiple of hidden_size = {hidden_size}")
    if blocks is not None:
        # RecurrentBlock keeps ||v_j||**2 once it is worked out (the magnitudes need it too).
        blocks = [_recurrent_block(block) for block in blocks]
    if P == hidden_size and (blocks is None or len(blocks) == 1):
        # One gate block (the vanilla cell): row i of outer(g, v) has norm |g_i| * ||v||,
        # so no squares and no square root are needed. This runs on every recorded chunk.
        per_unit = np.abs(g)
        if blocks is not None:
            per_unit *= np.sqrt(blocks[0].squared_norms)[j][:, None]
    else:
        squared = np.square(g)
        if blocks is not None:
            for block in blocks:
                squared[:, block.rows] *= block.squared_norms[j][:, None]
        per_unit = squared.reshape(len(g), P // hidden_size, hidden_size).sum(axis=1)
        np.sqrt(per_unit, out=per_unit)
    if pair_order:
        return per_unit
    out = np.zeros((n * (n + 1) // 2, hidden_size))
    out[t * (t + 1) // 2 + j] = per_unit
    return out


def _check_budget(budget_mb: object) -> float:
    if isinstance(budget_mb, bool) or not isinstance(budget_mb, (int, float, np.number)):
        raise TypeError(
            f"units_budget_mb must be a number of MiB >= 0, got {type(budget_mb).__name__} "
            f"{budget_mb!r}"
        )
    value = float(budget_mb)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"units_budget_mb must be finite and >= 0 (0 keeps none), got {value}")
    return value


class UnitStore:
    """Per-unit contributions of recorded chunks, kept within a memory budget.

    Parameters
    ----------
    seq_length : int
        n.
    hidden_size : int
        H.
    budget_mb : float, default 256
        Memory budget in MiB for the stored values (bfloat16). When one more record would
        exceed it, the stride doubles and records off the new stride are dropped.
    horizon : int or None, default None
        The recording's horizon k: only the pairs with ``t - j < k`` are kept (the others
        read back as 0), so about ``n / k`` times more records fit the budget. None keeps
        every pair.

    Attributes
    ----------
    stride : int
        Records with ``index % stride == 0`` are kept (plus the newest one).
    horizon : int or None
        The horizon, None when it covers every pair (``horizon >= n``).
    lags : int
        Lags kept, ``min(horizon, n)`` (n without a horizon).
    rows : int
        Pairs kept per record, ``pair_count(n, lags)`` (``n (n + 1) / 2`` without a horizon).
    record_bytes : int
        Bytes per kept record, ``rows * H * 2``.

    Examples
    --------
    >>> store = UnitStore(seq_length=3, hidden_size=2, budget_mb=8 * 24 / 2**20)  # room for 8
    >>> kept = [store.put(i, np.ones((6, 2))) for i in range(20)]
    >>> store.stride, store.indices[:4], 19 in store, 3 in store
    (4, [0, 4, 8, 12], True, False)
    >>> band = UnitStore(seq_length=3, hidden_size=2, horizon=1)  # the diagonal only
    >>> band.rows, band.record_bytes
    (3, 12)
    """

    def __init__(
        self,
        seq_length: int,
        hidden_size: int,
        budget_mb: float = DEFAULT_BUDGET_MB,
        horizon: int | None = None,
    ) -> None:
        for name, value in (("seq_length", seq_length), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.seq_length = n = int(seq_length)
        self.hidden_size = int(hidden_size)
        self.budget_mb = _check_budget(budget_mb)
        self.lags = check_horizon(horizon, n)
        self.horizon = self.lags if self.lags < n else None
        self.triangle = n * (n + 1) // 2
        self.rows = pair_count(n, self.lags)
        self.record_bytes = self.rows * self.hidden_size * 2
        t, j = pair_indices(n, self.lags)
        self._pairs = (t, j)
        self._packed_rows = t * (t + 1) // 2 + j  # packed-triangle row of each kept pair
        self.stride = 1
        self._values: dict[int, np.ndarray] = {}  # (rows, H) bfloat16 bits, in pair order
        self._free: list[np.ndarray] = []  # slots of dropped records, reused first
        self._slots = 0  # record slots allocated (at most capacity + 1 while under budget)
        self._newest = -1
        self._on_stride = 0  # kept records with index % stride == 0 (what the budget counts)

    # ------------------------------------------------------------ capacity
    @property
    def budget_bytes(self) -> int:
        """The budget in bytes."""
        return int(self.budget_mb * 2**20)

    @property
    def capacity(self) -> int:
        """Records that fit in the budget (0 when not even one does)."""
        return self.budget_bytes // self.record_bytes

    @property
    def nbytes(self) -> int:
        """Bytes of the values held."""
        return len(self._values) * self.record_bytes

    @property
    def indices(self) -> list[int]:
        """Record indices whose units are held, ascending."""
        return sorted(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, index: object) -> bool:
        return index in self._values

    def __repr__(self) -> str:
        horizon = "" if self.horizon is None else f", horizon {self.horizon}"
        return (
            f"UnitStore({len(self)} records, stride {self.stride}{horizon}, "
            f"{self.nbytes / 2**20:.1f} of {self.budget_mb:g} MiB)"
        )

    # ------------------------------------------------------------ writing
    def put(
        self, index: int, units: np.ndarray, *, pair_order: bool = False, encoded: bool = False
    ) -> bool:
        """Store record ``index``'s units; True if kept.

        The previous newest record is dropped if it is off the stride; the stride doubles
        (dropping every other kept record) while the budget would be exceeded.

        Parameters
        ----------
        index : int
            Record index, >= 0.
        units : np.ndarray
            The packed triangle, (n(n+1)/2, H); rows of pairs beyond the horizon are not
            stored. With ``pair_order=True``, the (rows, H) kept pairs in the order of
            ``pair_indices(n, lags)``, as the lag walk yields them
            (``magnitudes_and_units_from_cache(..., pair_order=True)``).
        pair_order : bool, default False
            Whether ``units`` is in pair order.
        encoded : bool, default False
            Whether ``units`` holds bfloat16 bit patterns already (uint16, from
            ``payload.float32_to_bfloat16``): the trainer rounds them while they are still
            in the CPU's caches and stores them once the chunk's update has been applied.
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"index must be an int >= 0, got {index!r}")
        index = int(index)
        units = np.asarray(units)
        if encoded and units.dtype != np.uint16:
            raise TypeError(f"encoded units must be uint16 bfloat16 bits, got dtype {units.dtype}")
        if pair_order:
            if units.shape != (self.rows, self.hidden_size):
                raise ValueError(
                    f"units in pair order must have shape (pair_count(n, lags), H) = "
                    f"({self.rows}, {self.hidden_size}), got {units.shape}"
                )
        elif units.shape != (self.triangle, self.hidden_size):
            raise ValueError(
                f"units must have shape (n(n+1)/2, H) = ({self.triangle}, {self.hidden_size}), "
                f"got {units.shape}"
            )
        else:
            units = units.take(self._packed_rows, axis=0)
        if self.capacity < 1:
            return False
        if self._newest >= 0 and self._newest % self.stride and self._newest != index:
            self._drop(self._newest)
        self._newest = max(self._newest, index)
        if index % self.stride == 0 and index not in self._values:
            self._on_stride += 1
        if encoded:
            slot = self._slot(index)
            slot[...] = units
            self._values[index] = slot
        else:
            self._values[index] = float32_to_bfloat16(units, out=self._slot(index))
        # The newest record rides along outside the count when it is off the stride.
        while self._on_stride > self.capacity:
            self.stride *= 2
            for kept in list(self._values):
                if kept % self.stride and kept != self._newest:
                    self._drop(kept)
            self._on_stride = sum(1 for kept in self._values if kept % self.stride == 0)
        return index in self._values

    def take(self, indices: Sequence[int]) -> UnitStore:
        """A new store for a part of the recording: record ``indices[p]`` becomes record ``p``.

        Used by ``Recording.__getitem__`` with a slice. The values are copied; records whose
        units this store does not hold stay without. The stride is carried over when the part
        is an even slice whose step divides it, else it is 1.

        Examples
        --------
        >>> store = UnitStore(seq_length=2, hidden_size=1)
        >>> for i in range(6):
        ...     _ = store.put(i, np.full((3, 1), float(i)))
        >>> part = store.take([2, 3, 4])
        >>> part.indices, float(part.get(0)[1, 1, 0])
        ([0, 1, 2], 2.0)
        """
        part = UnitStore(self.seq_length, self.hidden_size, self.budget_mb, self.horizon)
        indices = [int(i) for i in indices]
        steps = set(np.diff(indices).tolist())
        step = steps.pop() if len(steps) == 1 else 0  # 0: not an even slice
        part.stride = self.stride // step if step > 0 and self.stride % step == 0 else 1
        for position, index in enumerate(indices):
            values = self._values.get(index)
            if values is not None:
                part._values[position] = values.copy()
        part._slots = len(part._values)
        part._newest = max(part._values, default=-1)
        part._on_stride = sum(1 for kept in part._values if kept % part.stride == 0)
        return part

    def _slot(self, index: int) -> np.ndarray:
        """The (rows, H) uint16 place for record ``index``: its own, a free one or a new one."""
        slot = self._values.get(index)
        if slot is not None:
            return slot
        if not self._free:
            wanted = min(BLOCK_BYTES // self.record_bytes, self.capacity + 1 - self._slots)
            block = np.empty((max(wanted, 1), self.rows, self.hidden_size), dtype=np.uint16)
            self._free.extend(block[::-1])  # views; pop() hands out block[0] first
            self._slots += len(block)
        return self._free.pop()

    def _drop(self, index: int) -> None:
        slot = self._values.pop(index, None)
        if slot is not None:
            self._free.append(slot)

    # ------------------------------------------------------------ reading
    def packed(self, index: int) -> np.ndarray | None:
        """The bfloat16 bits (uint16, (n(n+1)/2, H)) of record ``index``, or None.

        Rows of pairs beyond the horizon are 0 (+0.0).
        """
        bits = self._values.get(index)
        if bits is None:
            return None
        if self.rows == self.triangle:
            out = np.empty((self.triangle, self.hidden_size), dtype=np.uint16)
        else:
            out = np.zeros((self.triangle, self.hidden_size), dtype=np.uint16)
        out[self._packed_rows] = bits
        return out

    def get(self, index: int) -> np.ndarray | None:
        """Record ``index``'s units as float32 ``(n, n, H)`` (``[t, j, i]``, 0 for j > t), or None.

        Examples
        --------
        >>> store = UnitStore(2, 1)
        >>> _ = store.put(0, np.array([[1.0], [2.0], [3.0]]))
        >>> store.get(0)[:, :, 0].tolist()
        [[1.0, 0.0], [2.0, 3.0]]
        >>> store.get(5) is None
        True
        """
        bits = self._values.get(index)
        if bits is None:
            return None
        n = self.seq_length
        out = np.zeros((n, n, self.hidden_size), dtype=np.float32)
        out[self._pairs] = bfloat16_to_float32(bits)
        return out

    def nearest(self, index: int) -> list[int]:
        """The kept records just before and just after ``index`` (those that exist)."""
        kept = self.indices
        before = [i for i in kept if i < index]
        after = [i for i in kept if i > index]
        return ([before[-1]] if before else []) + ([after[0]] if after else [])

    # ------------------------------------------------------------ save / load
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays :meth:`Recording.save` writes (keys :data:`ARRAY_KEYS`).

        ``units_values`` holds every kept record as stored, ``(kept, rows, H)`` bfloat16 bits
        in pair order (the packed triangle's rows when every pair is kept, else the pairs
        within the horizon, lag by lag); ``units_config`` is ``[H, stride, budget_bytes,
        newest, lags]``. A file is then no larger than the store.
        """
        kept = self.indices
        values = np.empty((len(kept), self.rows, self.hidden_size), dtype=np.uint16)
        for row, index in enumerate(kept):
            values[row] = self._values[index]
        config = np.array(
            [self.hidden_size, self.stride, self.budget_bytes, self._newest, self.lags],
            dtype=np.int64,
        )
        return {
            "units_index": np.array(kept, dtype=np.int64),
            "units_values": values,
            "units_config": config,
        }

    @classmethod
    def from_arrays(
        cls,
        arrays: dict[str, np.ndarray],
        seq_length: int,
        count: int,
        horizon: int | None = None,
    ) -> UnitStore:
        """Rebuild a store from :meth:`to_arrays` output, checking every array.

        Parameters
        ----------
        arrays : dict of str to np.ndarray
            ``units_index``, ``units_values``, ``units_config``.
        seq_length : int
            n.
        count : int
            Records in the recording.
        horizon : int or None, default None
            Only for files written before the config held the lags (4 entries, values as
            packed triangles): the recording's horizon (``meta["horizon"]``). The store then
            keeps only the pairs within it, unless a saved record holds a non-zero value
            beyond it; then it keeps every pair, so nothing saved is lost.

        Raises
        ------
        ValueError
            If a dtype, shape or index is inconsistent with ``seq_length`` and ``count``.
        """
        config = arrays["units_config"]
        if config.dtype != np.int64 or config.shape not in ((4,), (5,)):
            raise ValueError(
                f"units_config must be int64 (5,) (or (4,) in older files), got "
                f"{config.dtype} {config.shape}"
            )
        hidden_size, stride, budget_bytes, newest = (int(v) for v in config[:4])
        lags = int(config[4]) if len(config) == 5 else seq_length
        if (
            hidden_size < 1
            or stride < 1
            or budget_bytes < 0
            or not -1 <= newest < count
            or not 1 <= lags <= seq_length
        ):
            raise ValueError(f"units_config holds invalid values {config.tolist()}")
        banded = len(config) == 5
        store = cls(seq_length, hidden_size, budget_bytes / 2**20, lags if banded else horizon)
        index, values = arrays["units_index"], arrays["units_values"]
        if index.dtype != np.int64 or index.ndim != 1:
            raise ValueError(f"units_index must be 1-d int64, got {index.dtype} {index.shape}")
        if len(index) and (index[0] < 0 or index[-1] >= count or np.any(np.diff(index) <= 0)):
            raise ValueError(
                f"units_index must be strictly increasing record indices in [0, {count - 1}]"
            )
        shape = (len(index), store.rows if banded else store.triangle, hidden_size)
        if values.dtype != np.uint16 or values.shape != shape:
            raise ValueError(
                f"units_values is {values.dtype} {values.shape}, expected uint16 {shape}"
            )
        if banded:
            bands = values.copy()
        else:
            bands = values.take(store._packed_rows, axis=1)
            if store.horizon is not None and np.count_nonzero(bands) != np.count_nonzero(values):
                # Something beyond the horizon is not +0.0: keep every pair.
                store = cls(seq_length, hidden_size, budget_bytes / 2**20)
                bands = values.take(store._packed_rows, axis=1)
        if len(index) > max(store.capacity, 1) + 1:
            raise ValueError(f"units_index holds {len(index)} records, more than the budget allows")
        store.stride = stride
        store._newest = newest
        store._values = dict(zip(index.tolist(), bands, strict=True))
        store._slots = len(bands)
        store._on_stride = sum(1 for kept in store._values if kept % stride == 0)
        return store


# ---------------------------------------------------------------- wire


def _check_index(index: object, count: int) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an int record index, got {type(index).__name__} {index!r}")
    if not 0 <= index < count:
        raise ValueError(
            f"index must be in [0, {count - 1}] (the recording's records), got {index}"
        )
    return int(index)


def units_message(recording: Any, index: object) -> tuple[dict[str, Any], list[bytes]]:
    """The ``units`` answer to a browser's ``{"type": "request_units", "index": i}``.

    Parameters
    ----------
    recording : Recording
        Its ``units`` attribute is a :class:`UnitStore` or None.
    index : int
        Record index, ``0 <= index < len(recording)``.

    Returns
    -------
    content : dict
        ``{"type": "units", "index", "available", "reason", "nearest", "stride",
        "hidden_size", "seq_length", "dtype": "bfloat16", "shape": [n(n+1)/2, H]}``;
        ``reason`` is "" when available, else ``"not_recorded"`` (no per-unit data in this
        recording) or ``"thinned"`` (this record's units were dropped to stay in budget).
    buffers : list of bytes
        One little-endian buffer with the bfloat16 bits when available, else empty.

    Raises
    ------
    TypeError, ValueError
        If ``index`` is not an int in range (the message names ``index``).
    """
    index = _check_index(index, len(recording))
    store: UnitStore | None = getattr(recording, "units", None)
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
    content.update(stride=store.stride, hidden_size=store.hidden_size)
    content["shape"] = [store.triangle, store.hidden_size]
    bits = store.packed(index)
    if bits is None:
        content.update(reason="thinned", nearest=store.nearest(index))
        return content, []
    content.update(available=True, reason="")
    little = np.ascontiguousarray(bits, dtype=np.dtype("<u2"))
    return content, [little.tobytes()]


def units_to_json(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """A ``units`` message in the standalone form: the bytes as base64 in ``data_b64``."""
    import base64

    data = base64.b64encode(bytes(buffers[0])).decode("ascii") if buffers else ""
    return {**content, "data_b64": data}


def answer_request(recording: Any, content: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """The widget's reply to a ``request_units`` message, never raising.

    A bad index (not an int, out of range) is answered with ``available: false``,
    ``reason: "bad_request"`` and the error text, so the view can say what went wrong.
    """
    index = content.get("index")
    try:
        return units_message(recording, index)
    except (TypeError, ValueError) as error:
        shown = index if isinstance(index, int) and not isinstance(index, bool) else -1
        reply = {"type": "units", "index": shown, "available": False, "reason": "bad_request"}
        return {**reply, "error": str(error)}, []
