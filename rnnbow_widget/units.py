"""The per-unit store: each hidden unit's share of every recorded chunk's itemized gradients,
kept as bfloat16 within a memory budget.

Per record it holds one row of H values per pair (t, j) the lag walk reached, in the walk's
row order (:func:`rnnbow_widget.engine.pair_indices`): all ``n (n + 1) / 2`` pairs without a
horizon (65 KB at n = 25, H = 100), the ``pair_count(n, k)`` pairs with ``t - j < k`` with a
horizon k (23 KB at k = 5). The values come from
:func:`rnnbow_widget.engine.unit_contributions`.

**Thinning.** Records are kept while they fit the budget. When one more would not, the stride
doubles and only records whose index is a multiple of it stay, so the kept ones still span all
of training. The newest record is always kept too (the chunk a live view shows), until the
next one arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnbow_widget.bfloat16 import bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.checks import check_horizon, check_int, check_number
from rnnbow_widget.engine import pair_count, pair_indices

__all__ = ["ARRAY_KEYS", "DEFAULT_BUDGET_MB", "UnitStore", "check_budget"]

DEFAULT_BUDGET_MB = 256.0
"""Default memory budget of a trainer's store, in MiB."""

ARRAY_KEYS = ("units_index", "units_values", "units_config")
"""The arrays a saved recording with per-unit data holds."""


def check_budget(budget_mb: object) -> float:
    """``budget_mb`` as a float of MiB >= 0, else an error naming ``units_budget_mb``."""
    value = check_number("units_budget_mb", budget_mb)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"units_budget_mb must be finite and >= 0 (0 keeps none), got {value}")
    return value


class UnitStore:
    """Per-unit shares of recorded chunks, thinned evenly to stay within a memory budget.

    Parameters
    ----------
    seq_length : int
        n.
    hidden_size : int
        H.
    budget_mb : float, default 256
        Memory budget for the stored values, in MiB.
    horizon : int or None, default None
        The recording's horizon k: only pairs with ``t - j < k`` are kept (the others read
        back as 0), so about ``n / k`` times more records fit. None keeps every pair.

    Attributes
    ----------
    stride : int
        Records with ``index % stride == 0`` are kept (plus the newest).
    lags : int
        Lags kept, ``min(horizon, n)``.
    rows : int
        Pairs kept per record, ``pair_count(n, lags)``.
    record_bytes : int
        Bytes per kept record, ``rows * H * 2``.

    Examples
    --------
    >>> store = UnitStore(seq_length=3, hidden_size=2, budget_mb=8 * 24 / 2**20)  # room for 8
    >>> kept = [store.put(i, np.ones((6, 2))) for i in range(20)]
    >>> store.stride, store.indices[:4], 19 in store, 3 in store
    (4, [0, 4, 8, 12], True, False)
    """

    def __init__(
        self,
        seq_length: int,
        hidden_size: int,
        budget_mb: float = DEFAULT_BUDGET_MB,
        horizon: int | None = None,
    ) -> None:
        self.seq_length = n = check_int("seq_length", seq_length, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.budget_mb = check_budget(budget_mb)
        self.lags = check_horizon(horizon, n)
        self.rows = pair_count(n, self.lags)
        self.record_bytes = self.rows * self.hidden_size * 2
        self.stride = 1
        self._values: dict[int, np.ndarray] = {}  # index -> (rows, H) bfloat16 bits
        self._newest = -1
        # A kernel's subshell thread answers the browser (units_message) while the trainer
        # puts: reads and writes take turns.
        self._lock = threading.RLock()

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.RLock())

    @property
    def horizon(self) -> int | None:
        """The horizon, None when every pair is kept."""
        return self.lags if self.lags < self.seq_length else None

    @property
    def capacity(self) -> int:
        """Records that fit the budget (0 when not even one does)."""
        return int(self.budget_mb * 2**20) // self.record_bytes

    @property
    def nbytes(self) -> int:
        """Bytes of the values held."""
        return len(self._values) * self.record_bytes

    @property
    def indices(self) -> list[int]:
        """Record indices whose units are held, ascending."""
        with self._lock:
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
    def put(self, index: int, units: np.ndarray) -> bool:
        """Store record ``index``'s units; True if kept.

        Parameters
        ----------
        index : int
            Record index, >= 0.
        units : np.ndarray
            Either the walked pairs in walk order, ``(pair_count(n, k), H)`` for any k
            (:func:`rnnbow_widget.engine.unit_contributions`), or every pair as ``(n, n, H)``
            with ``units[t, j, i]``. Pairs beyond the store's horizon are not kept; lags it
            keeps but the walk did not reach are 0.
        """
        index = check_int("index", index, minimum=0)
        rows = float32_to_bfloat16(self._walk_rows(np.asarray(units)))
        with self._lock:
            return self._put(index, rows)

    def _put(self, index: int, rows: np.ndarray) -> bool:
        if self.capacity < 1:
            return False
        if index % self.stride and index < self._newest:
            return False  # off the stride and not the newest: thinned already
        if self._newest % self.stride and self._newest != index:
            self._values.pop(self._newest, None)  # the previous newest was off the stride
        self._newest = max(self._newest, index)
        self._values[index] = rows
        while self._kept_on_stride() > self.capacity:
            self.stride *= 2
            for kept in list(self._values):
                if kept % self.stride and kept != self._newest:
                    del self._values[kept]
        return index in self._values

    def _kept_on_stride(self) -> int:
        # Every kept record is on the stride but perhaps the newest, which rides along outside
        # the count.
        newest_off_stride = self._newest % self.stride != 0 and self._newest in self._values
        return len(self._values) - newest_off_stride

    def _walk_rows(self, units: np.ndarray) -> np.ndarray:
        """(rows, H) the store keeps, from walk-order rows or the dense (n, n, H) form."""
        n, H = self.seq_length, self.hidden_size
        if units.shape == (self.rows, H):
            return units  # the walked pairs of the store's own lags
        if units.shape == (n, n, H):
            return units[pair_indices(n, self.lags)]
        walked = [k for k in range(1, n + 1) if units.ndim and pair_count(n, k) == len(units)]
        if units.ndim != 2 or units.shape[1] != H or not walked:
            raise ValueError(
                f"units must be (n, n, H) = ({n}, {n}, {H}) or walked pairs in walk order, "
                f"(pair_count(n, k), H) (({self.rows}, {H}) at the store's k = {self.lags}), "
                f"got shape {units.shape}"
            )
        if walked[0] >= self.lags:
            return units[: self.rows]  # the walk's first lags come first
        rows = np.zeros((self.rows, H), dtype=units.dtype)  # lags not walked: 0
        rows[: len(units)] = units
        return rows

    def take(self, indices: Sequence[int]) -> UnitStore:
        """A new store for part of a recording: record ``indices[p]`` becomes record ``p``.

        Records whose units this store does not hold stay without. The stride carries over
        when the part is an even slice whose step divides it, else it is 1.
        """
        part = UnitStore(self.seq_length, self.hidden_size, self.budget_mb, self.horizon)
        indices = [int(i) for i in indices]
        steps = set(np.diff(indices).tolist())
        step = steps.pop() if len(steps) == 1 else 0  # 0: not an even slice
        part.stride = self.stride // step if step > 0 and self.stride % step == 0 else 1
        with self._lock:
            for position, index in enumerate(indices):
                if index in self._values:
                    part._values[position] = self._values[index].copy()
        part._newest = max(part._values, default=-1)
        return part

    # ------------------------------------------------------------ reading
    def packed(self, index: int) -> np.ndarray | None:
        """Record ``index``'s bfloat16 bits as the packed triangle, (n(n+1)/2, H) uint16
        (row ``t (t + 1) / 2 + j``, 0 beyond the horizon), or None if not held."""
        bits = self._values.get(index)
        if bits is None:
            return None
        n = self.seq_length
        t, j = pair_indices(n, self.lags)
        out = np.zeros((n * (n + 1) // 2, self.hidden_size), dtype=np.uint16)
        out[t * (t + 1) // 2 + j] = bits
        return out

    def get(self, index: int) -> np.ndarray | None:
        """Record ``index``'s units as float32 ``(n, n, H)`` (``[t, j, i]``), or None.

        Examples
        --------
        >>> store = UnitStore(2, 1)
        >>> _ = store.put(0, np.array([[1.0], [3.0], [2.0]]))  # walk order: (0,0) (1,1) (1,0)
        >>> store.get(0)[:, :, 0].tolist()
        [[1.0, 0.0], [2.0, 3.0]]
        """
        bits = self._values.get(index)
        if bits is None:
            return None
        n = self.seq_length
        out = np.zeros((n, n, self.hidden_size), dtype=np.float32)
        out[pair_indices(n, self.lags)] = bfloat16_to_float32(bits)
        return out

    def nearest(self, index: int) -> list[int]:
        """The kept records just before and just after ``index`` (those that exist)."""
        kept = self.indices
        before = [i for i in kept if i < index]
        after = [i for i in kept if i > index]
        return ([before[-1]] if before else []) + ([after[0]] if after else [])

    # ------------------------------------------------------------ save / load
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays a saved recording holds (keys :data:`ARRAY_KEYS`).

        ``units_values`` is ``(kept, rows, H)`` bfloat16 bits in walk order; ``units_config``
        is ``[H, stride, budget_bytes, newest, lags]``.
        """
        with self._lock:
            kept = self.indices
            values = np.empty((len(kept), self.rows, self.hidden_size), dtype=np.uint16)
            for row, index in enumerate(kept):
                values[row] = self._values[index]
            newest = self._newest
        config = [
            self.hidden_size,
            self.stride,
            int(self.budget_mb * 2**20),
            newest,
            self.lags,
        ]
        return {
            "units_index": np.array(kept, dtype=np.int64),
            "units_values": values,
            "units_config": np.array(config, dtype=np.int64),
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], seq_length: int, count: int, horizon: object
    ) -> UnitStore:
        """Rebuild a store from :meth:`to_arrays`' output, checking every array.

        Files written before the config held the lags (4 entries) store packed triangles;
        their store keeps the pairs within ``horizon`` (the recording's ``meta["horizon"]``:
        every pair when it is not an int >= 1), unless a value beyond it is not zero: then it
        keeps every pair, so nothing saved is lost.

        Raises
        ------
        ValueError
            If a dtype, shape or index does not fit ``seq_length`` and ``count``.
        """
        config = arrays["units_config"]
        if config.dtype != np.int64 or config.shape not in ((4,), (5,)):
            raise ValueError(
                f"units_config must be int64 (5,) (or (4,) in older files), "
                f"got {config.dtype} {config.shape}"
            )
        hidden_size, stride, budget_bytes, newest = (int(v) for v in config[:4])
        in_walk_order = len(config) == 5
        lags = int(config[4]) if in_walk_order else seq_length
        if min(hidden_size, stride) < 1 or budget_bytes < 0 or not -1 <= newest < count:
            raise ValueError(f"units_config holds invalid values {config.tolist()}")
        if not 1 <= lags <= seq_length:
            raise ValueError(f"units_config holds invalid values {config.tolist()}")
        index, values = arrays["units_index"], arrays["units_values"]
        if index.dtype != np.int64 or index.ndim != 1:
            raise ValueError(f"units_index must be 1-d int64, got {index.dtype} {index.shape}")
        if len(index) and (index[0] < 0 or index[-1] >= count or np.any(np.diff(index) <= 0)):
            raise ValueError(
                f"units_index must be strictly increasing record indices in [0, {count - 1}]"
            )
        n = seq_length
        rows = pair_count(n, lags) if in_walk_order else n * (n + 1) // 2
        shape = (len(index), rows, hidden_size)
        if values.dtype != np.uint16 or values.shape != shape:
            raise ValueError(
                f"units_values is {values.dtype} {values.shape}, expected uint16 {shape}"
            )
        if not in_walk_order:  # packed triangles: rearrange into walk order
            lags = _lags_holding_every_value(values, n, horizon)
            t, j = pair_indices(n, lags)
            values = values[:, t * (t + 1) // 2 + j]
        store = cls(n, hidden_size, budget_bytes / 2**20, lags)
        if len(index) > max(store.capacity, 1) + 1:
            raise ValueError(f"units_index holds {len(index)} records, more than the budget allows")
        store.stride = stride
        store._newest = newest
        store._values = {i: v.copy() for i, v in zip(index.tolist(), values, strict=True)}
        return store


def _lags_holding_every_value(triangles: np.ndarray, n: int, horizon: object) -> int:
    """``min(horizon, n)`` if every value beyond the horizon is +0.0, else n (also when
    ``horizon`` is not a horizon, an int >= 1)."""
    is_horizon = isinstance(horizon, int) and not isinstance(horizon, bool) and horizon >= 1
    lags = check_horizon(horizon, n) if is_horizon else n
    t, j = pair_indices(n, lags)
    within = np.count_nonzero(triangles[:, t * (t + 1) // 2 + j])
    return lags if within == np.count_nonzero(triangles) else n
