"""The trainer's parameters as views into one flat vector.

A speed measure, kept out of the math and out of the cells: gradient clipping, the optimizer
and the check that an update stays finite each run one numpy call over every parameter instead
of one per array. See :class:`ParameterVector` for the measured gain.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SAFE_STEP", "ParameterVector"]

SAFE_STEP = 1e30
"""Steps below this cannot take a finite float32 or float64 number past the largest one: half a
unit in the last place there is 1e31 (float32) or 1e292 (float64)."""

Params = dict[str, np.ndarray]


class ParameterVector:
    """The parameters as views into one flat vector, and a gradient vector of the same layout.

    A speed measure, kept out of the math. Gradient clipping, the optimizer and the check that
    an update stays finite each run one numpy call over every parameter instead of one per
    array (measured: about 11% of a chunk, ``benchmarks/bench_speed_measures.py``), and a
    cell's ``backward`` writes its gradients straight into :attr:`grads` (its ``out``
    argument), so no gradient array is allocated per chunk: arrays over 128 KB (the LSTM's and
    the GRU's) come from fresh pages each time, at a page fault per 4 KB.

    Attributes
    ----------
    theta : np.ndarray
        Every parameter, one after another.
    params : dict of np.ndarray
        Views into ``theta`` shaped like the parameters (change them in place only).
    grad : np.ndarray
        A gradient laid out like ``theta``.
    grads : dict of np.ndarray
        Views into ``grad`` shaped like the parameters.
    """

    def __init__(self, params: Params, dtype: np.dtype) -> None:
        self.theta = np.concatenate([np.asarray(v, dtype=dtype).ravel() for v in params.values()])
        self.params = ParameterViews(self._views(self.theta, params))
        self.grad = np.empty_like(self.theta)
        self.grads = self._views(self.grad, params)
        self._scratch = np.empty_like(self.theta)

    @staticmethod
    def _views(flat: np.ndarray, like: Params) -> Params:
        views, offset = {}, 0
        for name, array in like.items():
            views[name] = flat[offset : offset + array.size].reshape(array.shape)
            offset += array.size
        return views

    def apply(self, delta: np.ndarray, bound: float | None) -> bool:
        """``theta -= delta``, unless an entry would become inf or NaN; True if applied.

        A speed measure. ``theta`` is finite (no step that breaks that is applied). When every
        ``|delta|`` is at most ``bound`` and ``bound`` is below :data:`SAFE_STEP`, no entry can
        leave the float range, so the step is applied in place. Otherwise ``theta - delta`` is
        built aside and checked first: a copy of every parameter per chunk, which also crowds
        the CPU's caches (measured: the in-place path saves about 6% of a chunk,
        ``benchmarks/bench_speed_measures.py``).

        Parameters
        ----------
        delta : np.ndarray
            The step, laid out like ``theta``.
        bound : float or None
            A bound on every ``|delta|`` entry (the optimizer's ``step_bound``), or None.
        """
        if bound is not None and bound < SAFE_STEP:
            self.theta -= delta
            return True
        candidate = np.subtract(self.theta, delta, out=self._scratch)
        if not np.isfinite(candidate).all():
            return False
        self.theta[...] = candidate
        return True


class ParameterViews(dict):
    """``trainer.params``: arrays to change in place, not to replace (they are views)."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "trainer.params holds views into the trainer's parameter vector: change an array "
            "in place (trainer.params['W_hh'][...] = value) instead of replacing it"
        )

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _refuse
