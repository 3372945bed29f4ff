"""The trainer's parameters as views into one flat vector.

A speed measure, kept out of the math and out of the cells: gradient clipping, the optimizer
and the check that an update stays finite each run one numpy call over every parameter instead
of one per array. See :class:`ParameterVector` for the measured gain.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ParameterVector"]

Params = dict[str, np.ndarray]


class ParameterVector:
    """The parameters as views into one flat vector, and a gradient vector of the same layout.

    A speed measure, kept out of the math. Gradient clipping, the optimizer and the check that
    an update stays finite each run one numpy call over every parameter instead of one per
    array, and a cell's ``backward`` writes its gradients straight into :attr:`grads` (its
    ``out`` argument), so no gradient array is allocated per chunk: arrays this large come
    from fresh pages each time, the LSTM's and GRU's (over 128 KB each) at the cost of a page
    fault per 4 KB. Measured gains are in ``docs/benchmarks.md``
    (``benchmarks/bench_speed_measures.py``).

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

    def candidate(self, delta: np.ndarray) -> np.ndarray:
        """``theta - delta``, not applied (reused from call to call)."""
        return np.subtract(self.theta, delta, out=self._scratch)


class ParameterViews(dict):
    """``trainer.params``: arrays to change in place, not to replace (they are views)."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(
            "trainer.params holds views into the trainer's parameter vector: change an array "
            "in place (trainer.params['W_hh'][...] = value) instead of replacing it"
        )

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _refuse
