"""Optimizers and gradient clipping for the character-level trainer.

Every optimizer updates a ``params`` dict of numpy arrays **in place** from a ``grads``
dict with the same keys and shapes (the layout of ``rnnbow_widget.model``)::

    Adagrad (default, as in min-char-rnn):  m += g * g;   p -= lr * g / sqrt(m + eps)
    SGD:                                     v = mu * v + g;   p -= lr * v   (mu = 0: plain)
    Adam:                                    m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
                                             p -= lr * m_hat / (sqrt(v_hat) + eps)

Clipping happens on the gradient before the update: element-wise to ``[-clip, clip]``
(min-char-rnn clips at 5) and, optionally, by global L2 norm. ``clip_gradients`` reports
the global norm measured *before* clipping and whether clipping changed anything.

Each optimizer lists the arrays it mutates in ``state_arrays`` and counts its updates in
``updates``. An update can also be split in two: ``propose(grads)`` computes the step
``delta`` (``p_new = p - delta``) and the new optimizer state into spare buffers without
changing anything live, and ``commit()`` installs that state. A caller can then check the
candidate parameters and simply not commit a non-finite step: an exact rollback that costs
no copies (see ``CharRNNTrainer``). ``update`` is ``propose``, ``p -= delta``, ``commit``,
with the same arithmetic, bit for bit, as a single in-place pass. The optimizer state has the
parameters' precision: float32 parameters get float32 state, all others float64.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np

from rnnbow_widget.checks import check_positive

Arrays = Mapping[str, np.ndarray]

OPTIMIZERS = ("adagrad", "sgd", "adam")


def _state_dtype(p: np.ndarray) -> np.dtype:
    """The dtype of an optimizer's state for parameter ``p``: float32 stays float32 (a
    single-precision run), anything else gets float64."""
    return np.dtype(np.float32) if np.asarray(p).dtype == np.float32 else np.dtype(np.float64)


class Optimizer:
    """Base class: in-place parameter updates from a gradient dict.

    Parameters
    ----------
    params : Mapping[str, np.ndarray]
        The parameters that will be updated; only their keys and shapes are read here, to
        allocate the optimizer's state.
    learning_rate : float
        Step size, a finite number > 0. It may be changed between updates through the
        ``learning_rate`` attribute.
    """

    name: ClassVar[str] = ""

    def __init__(self, params: Arrays, learning_rate: float) -> None:
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.updates = 0
        # One scratch buffer per parameter, so updates allocate no temporaries; `propose`
        # returns the step in it.
        self._scratch = {k: np.empty_like(p, dtype=_state_dtype(p)) for k, p in params.items()}
        # Keys of the last `propose`, whose pending state `commit` installs.
        self._proposed: list[str] = []

    @property
    def state_arrays(self) -> list[np.ndarray]:
        """The arrays that ``update`` mutates (besides the parameters), in a fixed order."""
        return []

    def step_bound(self, grad_norm: float) -> float | None:
        """A bound on every ``|delta|`` entry of the next :meth:`propose`, or None.

        Parameters
        ----------
        grad_norm : float
            A bound on the global L2 norm of the gradients that will be proposed (finite).

        Returns
        -------
        float or None
            None when the optimizer cannot bound its step without looking at its state.
        """
        return None

    def propose(self, grads: Arrays) -> dict[str, np.ndarray]:
        """Compute one step without applying it.

        Returns ``delta`` with the keys of ``grads``: the update is ``p -= delta[key]``. The
        new optimizer state is kept aside until ``commit``; parameters, state and
        ``updates`` are unchanged, so dropping a proposal needs no rollback. ``delta`` is
        scratch memory, valid until the next ``propose``.
        """
        self._proposed = list(grads)
        for key, g in grads.items():
            self._step(key, g, self._scratch[key])
        return {key: self._scratch[key] for key in self._proposed}

    def commit(self) -> None:
        """Install the state computed by the last ``propose`` and count the update."""
        for key in self._proposed:
            self._swap_state(key)
        self._proposed = []
        self.updates += 1

    def update(self, params: Arrays, grads: Arrays) -> None:
        """Apply one update to ``params`` in place; ``grads`` is left unchanged."""
        delta = self.propose({key: grads[key] for key in params})
        for key, p in params.items():
            p -= delta[key]
        self.commit()

    def _step(self, key: str, g: np.ndarray, out: np.ndarray) -> None:
        """Write the step for ``key`` into ``out``, the new state into the pending buffers."""
        raise NotImplementedError

    def _swap_state(self, key: str) -> None:
        """Make the pending state of ``key`` the current one (a swap, no copy)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


class Adagrad(Optimizer):
    """Adagrad as in min-char-rnn: per-weight step ``lr * g / sqrt(sum of past g^2 + eps)``.

    Parameters
    ----------
    params : Mapping[str, np.ndarray]
        Parameters to be updated (keys and shapes).
    learning_rate : float, default 0.1
    eps : float, default 1e-8

    Examples
    --------
    >>> p = {"w": np.array([1.0, 1.0])}
    >>> opt = Adagrad(p, learning_rate=0.1)
    >>> opt.update(p, {"w": np.array([2.0, -4.0])})
    >>> np.round(p["w"], 6)
    array([0.9, 1.1])
    """

    name = "adagrad"

    def __init__(self, params: Arrays, learning_rate: float = 0.1, eps: float = 1e-8) -> None:
        super().__init__(params, learning_rate)
        self.eps = check_positive("eps", eps)
        self.memory = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}
        self._pending = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}

    @property
    def state_arrays(self) -> list[np.ndarray]:
        return list(self.memory.values())

    def step_bound(self, grad_norm: float) -> float | None:
        # The new memory holds g * g, so |g| / sqrt(m + g * g + eps) <= 1, up to a few
        # roundings (each a relative 1.1e-16, or 6e-8 in float32): the step is at most lr.
        return 1.001 * self.learning_rate

    def _step(self, key: str, g: np.ndarray, out: np.ndarray) -> None:
        m_new = self._pending[key]
        np.multiply(g, g, out=m_new)
        np.add(self.memory[key], m_new, out=m_new)  # m + g * g, as `m += g * g` would
        np.add(m_new, self.eps, out=out)
        np.sqrt(out, out=out)
        np.divide(g, out, out=out)
        out *= self.learning_rate

    def _swap_state(self, key: str) -> None:
        self.memory[key], self._pending[key] = self._pending[key], self.memory[key]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    Parameters
    ----------
    params : Mapping[str, np.ndarray]
        Parameters to be updated (keys and shapes).
    learning_rate : float
    momentum : float, default 0.0
        In ``[0, 1)``; 0 is plain ``p -= lr * g``.

    Examples
    --------
    >>> p = {"w": np.array([1.0])}
    >>> SGD(p, learning_rate=0.5).update(p, {"w": np.array([2.0])})
    >>> p["w"]
    array([0.])
    """

    name = "sgd"

    def __init__(self, params: Arrays, learning_rate: float, momentum: float = 0.0) -> None:
        super().__init__(params, learning_rate)
        if isinstance(momentum, bool) or not isinstance(momentum, Real):
            raise TypeError(f"momentum must be a number in [0, 1), got {momentum!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity, self._pending = (
            (
                {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()},
                {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()},
            )
            if self.momentum
            else ({}, {})
        )

    @property
    def state_arrays(self) -> list[np.ndarray]:
        return list(self.velocity.values())

    def step_bound(self, grad_norm: float) -> float | None:
        # Plain SGD moves by lr * g and |g_i| <= ||g||; momentum remembers older gradients.
        return None if self.momentum else 1.001 * self.learning_rate * grad_norm

    def _step(self, key: str, g: np.ndarray, out: np.ndarray) -> None:
        if self.momentum:
            v_new = self._pending[key]
            np.multiply(self.velocity[key], self.momentum, out=v_new)
            v_new += g
            np.multiply(v_new, self.learning_rate, out=out)
        else:
            np.multiply(g, self.learning_rate, out=out)

    def _swap_state(self, key: str) -> None:
        if self.momentum:
            self.velocity[key], self._pending[key] = self._pending[key], self.velocity[key]


class Adam(Optimizer):
    """Adam (Kingma and Ba) with bias-corrected first and second moments.

    ``params`` and ``learning_rate`` are as for :class:`SGD` (Adam's usual learning rates are
    1e-3 to 1e-2; the trainer's default of 0.1 suits Adagrad). ``beta1`` (0.9) and ``beta2``
    (0.999) are the moments' decay rates and ``eps`` (1e-8) the denominator's offset.

    Examples
    --------
    >>> p = {"w": np.array([1.0, 1.0])}
    >>> Adam(p, learning_rate=0.01).update(p, {"w": np.array([3.0, -0.5])})
    >>> np.round(p["w"], 6)  # the first step has size lr whatever the gradient's scale
    array([0.99, 1.01])
    """

    name = "adam"

    def __init__(
        self,
        params: Arrays,
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, learning_rate)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if isinstance(beta, bool) or not isinstance(beta, Real) or not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be a number in [0, 1), got {beta!r}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive("eps", eps)
        self.m = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}
        self.v = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}
        self._pending_m = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}
        self._pending_v = {k: np.zeros_like(p, dtype=_state_dtype(p)) for k, p in params.items()}

    @property
    def state_arrays(self) -> list[np.ndarray]:
        return [*self.m.values(), *self.v.values()]

    def _step(self, key: str, g: np.ndarray, out: np.ndarray) -> None:
        b1, b2 = self.beta1, self.beta2
        t = self.updates + 1
        # Fold both bias corrections into the step size and the epsilon.
        c2 = math.sqrt(1.0 - b2**t)
        step_size = self.learning_rate * c2 / (1.0 - b1**t)
        eps_hat = self.eps * c2
        m_new, v_new, s = self._pending_m[key], self._pending_v[key], out
        np.multiply(self.m[key], b1, out=m_new)
        np.multiply(g, 1.0 - b1, out=s)
        m_new += s
        np.multiply(self.v[key], b2, out=v_new)
        np.multiply(g, g, out=s)
        s *= 1.0 - b2
        v_new += s
        np.sqrt(v_new, out=s)
        s += eps_hat
        np.divide(m_new, s, out=s)
        s *= step_size

    def _swap_state(self, key: str) -> None:
        self.m[key], self._pending_m[key] = self._pending_m[key], self.m[key]
        self.v[key], self._pending_v[key] = self._pending_v[key], self.v[key]


_OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {"adagrad": Adagrad, "sgd": SGD, "adam": Adam}


def check_optimizer_name(name: object) -> str:
    """Return ``name`` if it names a known optimizer, else raise naming the choices."""
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a str, one of {OPTIMIZERS}, got {name!r}")
    if name not in _OPTIMIZER_CLASSES:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    return name


def make_optimizer(name: str, learning_rate: float, params: Arrays) -> Optimizer:
    """Build an optimizer by name with its default hyper-parameters.

    Parameters
    ----------
    name : str
        One of ``"adagrad"``, ``"sgd"``, ``"adam"``.
    learning_rate : float
        Finite number > 0.
    params : Mapping[str, np.ndarray]
        The parameters it will update (state is allocated with their shapes).

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices) or a bad learning rate.

    Examples
    --------
    >>> make_optimizer("adagrad", 0.1, {"w": np.zeros(3)})
    Adagrad(learning_rate=0.1)
    """
    return _OPTIMIZER_CLASSES[check_optimizer_name(name)](params, learning_rate)


@dataclass(frozen=True)
class ClipReport:
    """What ``clip_gradients`` measured and did.

    Attributes
    ----------
    grad_norm : float
        Global L2 norm of all gradients together, before clipping.
    clipped : bool
        True if clipping changed at least one gradient entry.
    """

    grad_norm: float
    clipped: bool


def global_norm(grads: Arrays) -> float:
    """Global L2 norm ``sqrt(sum_k ||grads[k]||^2)`` over every array in ``grads``.

    Examples
    --------
    >>> global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])})
    5.0
    """
    return math.sqrt(sum(sum_of_squares(g) for g in grads.values()))


def sum_of_squares(x: np.ndarray) -> float:
    """``sum(x ** 2)`` with numpy's own loop (``np.einsum``), not a BLAS dot product.

    OpenBLAS spreads a dot of more than 10,000 entries over threads, which then keep spinning
    on the other cores (a notebook's trainer used twice its wall time in CPU). A dot in blocks
    of 10,000 would stay on one thread and save about 1% of a chunk
    (``benchmarks/bench_speed_measures.py``): not worth a trick.
    """
    flat = np.ravel(x)
    return float(np.einsum("i,i->", flat, flat))


def clip_gradients(
    grads: Arrays, clip: float | None = 5.0, clip_norm: float | None = None
) -> ClipReport:
    """Clip ``grads`` in place: element-wise to ``[-clip, clip]``, then by global norm.

    Parameters
    ----------
    grads : Mapping[str, np.ndarray]
        Gradients, modified in place.
    clip : float or None, default 5.0
        Element-wise bound (min-char-rnn's 5); ``None`` turns it off.
    clip_norm : float or None, default None
        If given, the gradients are rescaled so that their global L2 norm is at most this.

    Returns
    -------
    ClipReport
        The global norm before any clipping and whether anything changed.

    Examples
    --------
    >>> g = {"w": np.array([6.0, -1.0])}
    >>> clip_gradients(g, clip=5.0)
    ClipReport(grad_norm=6.082762530298219, clipped=True)
    >>> g["w"]
    array([ 5., -1.])
    """
    clip = check_positive("clip", clip, allow_none=True)
    clip_norm = check_positive("clip_norm", clip_norm, allow_none=True)
    norm = global_norm(grads)
    clipped = False
    # |g_i| <= ||g||, so no entry can exceed `clip` while the global norm does not.
    if clip is not None and norm > clip:
        for g in grads.values():
            if g.max() > clip or g.min() < -clip:
                np.clip(g, -clip, clip, out=g)
                clipped = True
    if clip_norm is not None:
        current = global_norm(grads) if clipped else norm
        if current > clip_norm:
            scale = clip_norm / current
            for g in grads.values():
                g *= scale
            clipped = True
    return ClipReport(grad_norm=norm, clipped=clipped)
