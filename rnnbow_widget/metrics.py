"""Summary numbers of one chunk's itemized gradient magnitudes.

Every function takes ``m``, the ``(n, n)`` matrix of magnitudes of one recorded chunk:
``m[t, j]`` is the size of the gradient that loss ``L_t`` sends back to time step ``j``
(0-based, ``j <= t``). Entries above the diagonal (``j > t``) carry no gradient and are
ignored. The distance ``t - j`` is how far back in time the gradient has travelled.

These are pure functions; ``Recording.append`` stores their values per record, and the
overview of the widget draws them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "check_magnitudes",
    "effective_horizon",
    "max_gradient",
    "mean_gradient",
    "reach",
    "step_totals",
    "summarize",
    "summarize_many",
]


@lru_cache(maxsize=16)
def _geometry(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read-only helpers for size ``n``: lower-triangle mask as float64 and bool,
    the distances ``t - j`` (flattened, float64, 0 above the diagonal) and ``arange(n)``."""
    mask = np.tri(n, dtype=bool)
    steps = np.arange(n)
    distances = np.where(mask, steps[:, None] - steps[None, :], 0).astype(np.float64).ravel()
    arrays = (mask.astype(np.float64), mask, distances, steps)
    for array in arrays:
        array.flags.writeable = False
    return arrays


def check_magnitudes(m: np.ndarray) -> np.ndarray:
    """Check one chunk's magnitudes and return them as float64, zero above the diagonal.

    Parameters
    ----------
    m : array_like
        ``(n, n)`` magnitudes ``m[t, j]``, n >= 1; entries with ``j > t`` are ignored.

    Returns
    -------
    numpy.ndarray
        A new ``(n, n)`` float64 array, the lower triangle of ``m``.

    Raises
    ------
    ValueError
        If ``m`` is not square and non-empty, or holds a negative value in its lower triangle.
    TypeError
        If ``m`` does not hold real numbers.

    Examples
    --------
    >>> check_magnitudes([[1, 5], [2, 3]])
    array([[1., 0.],
           [2., 3.]])
    """
    if not isinstance(m, np.ndarray):
        m = np.asarray(m)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(
            f"magnitudes must be a non-empty square (n, n) array, got shape {m.shape}; "
            "pass the matrix m[t, j] of one chunk"
        )
    if m.dtype.kind not in "fiu":
        raise TypeError(f"magnitudes must hold real numbers, got dtype {m.dtype}")
    lower = m * _geometry(m.shape[0])[0]  # float64, upper triangle zeroed
    smallest = lower.min()
    if smallest < 0:
        raise ValueError(f"magnitudes must be >= 0 (they are norms), got a minimum of {smallest:g}")
    return lower


def step_totals(m: np.ndarray) -> np.ndarray:
    """Total gradient reaching each time step: the height of the stacked bar at step ``j``.

    Parameters
    ----------
    m : numpy.ndarray
        ``(n, n)`` non-negative magnitudes ``m[t, j]``; entries with ``j > t`` are ignored.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64, entry ``j`` is ``sum over t >= j of m[t, j]``.

    Examples
    --------
    >>> step_totals(np.array([[1.0, 0.0], [0.5, 2.0]]))
    array([1.5, 2. ])
    """
    return check_magnitudes(m).sum(axis=0)


def max_gradient(m: np.ndarray) -> float:
    """Tallest per-step bar, ``max(step_totals(m))`` (the paper's overview height).

    Examples
    --------
    >>> max_gradient(np.array([[1.0, 0.0], [0.5, 2.0]]))
    2.0
    """
    return float(step_totals(m).max())


def mean_gradient(m: np.ndarray) -> float:
    """Mean per-step bar, ``mean(step_totals(m))`` (1.75 for the example of
    :func:`max_gradient`: bars of 1.5 and 2)."""
    return float(step_totals(m).mean())


def effective_horizon(m: np.ndarray) -> float:
    """Gradient-weighted mean distance ``t - j`` over all pairs ``j <= t``.

    0 means all gradient is local (each loss only updates through its own step); larger
    values mean more of the gradient mass travelled further back in time.

    Parameters
    ----------
    m : numpy.ndarray
        ``(n, n)`` non-negative magnitudes.

    Returns
    -------
    float
        ``sum m[t, j] (t - j) / sum m[t, j]``, or 0.0 when ``m`` holds no mass at all.

    Examples
    --------
    >>> effective_horizon(np.array([[1.0, 0.0], [1.0, 2.0]]))  # (1*0 + 1*1 + 2*0) / 4
    0.25
    """
    return float(summarize_many(check_magnitudes(m)[None])["effective_horizon"][0])


def reach(m: np.ndarray, fraction: float = 0.01) -> float:
    """How far back a loss still sends a noticeable gradient, averaged over losses.

    For each source loss ``t`` with a non-zero local term ``m[t, t]``, its reach is the
    largest distance ``d <= t`` with ``m[t, t - d] >= fraction * m[t, t]``. The result is
    the mean over those sources (sources whose local term is 0 are skipped; 0.0 if all are).

    Parameters
    ----------
    m : numpy.ndarray
        ``(n, n)`` non-negative magnitudes.
    fraction : float, default 0.01
        Threshold relative to the local term, in ``(0, 1]``.

    Returns
    -------
    float
        Mean reach in time steps.

    Examples
    --------
    >>> m = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.001, 0.1, 1.0]])
    >>> reach(m)  # source 0 reaches 0, source 1 reaches 1, source 2 reaches 1
    0.6666666666666666
    """
    _check_fraction(fraction)
    return float(summarize_many(check_magnitudes(m)[None], fraction)["reach"][0])


def _check_fraction(fraction: float) -> None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)):
        raise TypeError(f"fraction must be a number in (0, 1], got {type(fraction).__name__}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}; 0.01 means 1%")


def summarize(m: np.ndarray, fraction: float = 0.01) -> dict[str, float]:
    """All per-chunk summary numbers at once (validates and converts ``m`` only once).

    Parameters
    ----------
    m : numpy.ndarray
        ``(n, n)`` non-negative magnitudes.
    fraction : float, default 0.01
        Threshold passed to :func:`reach`.

    Returns
    -------
    dict of str to float
        Keys ``max_gradient``, ``mean_gradient``, ``effective_horizon``, ``reach``, equal to
        the functions of the same names.

    Examples
    --------
    >>> summarize(np.array([[1.0, 0.0], [1.0, 2.0]]))
    {'max_gradient': 2.0, 'mean_gradient': 2.0, 'effective_horizon': 0.25, 'reach': 0.5}
    """
    _check_fraction(fraction)
    many = summarize_many(check_magnitudes(m)[None], fraction)
    return {name: float(values[0]) for name, values in many.items()}


def summarize_many(m: np.ndarray, fraction: float = 0.01) -> dict[str, np.ndarray]:
    """:func:`summarize` of a stack of chunks at once, without checking them.

    ``Recording`` summarizes the records a trainer queues in batches with this; every
    record's numbers depend on its own matrix only (the same as :func:`summarize` gives,
    bit for bit, whatever else is in the stack).

    Parameters
    ----------
    m : numpy.ndarray
        ``(k, n, n)`` non-negative magnitudes of k chunks; entries above the diagonal are
        ignored. Not checked: :func:`summarize` is the checked form.
    fraction : float, default 0.01
        Threshold passed to :func:`reach`.

    Returns
    -------
    dict of str to numpy.ndarray
        The keys of :func:`summarize`, each a ``(k,)`` float64 array.

    Examples
    --------
    >>> many = summarize_many(np.array([[[1.0, 0.0], [1.0, 2.0]], [[0.0, 9.0], [0.0, 0.0]]]))
    >>> {name: values.tolist() for name, values in many.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'max_gradient': [2.0, 0.0], 'mean_gradient': [2.0, 0.0],
     'effective_horizon': [0.25, 0.0], 'reach': [0.5, 0.0]}
    """
    k, n = m.shape[0], m.shape[-1]
    mask, _, distances, steps = _geometry(n)
    lower = np.multiply(m, mask, dtype=np.float64)  # a new array; the upper triangle zeroed
    totals = lower.sum(axis=1)  # (k, n): the bar of each step
    flat = lower.reshape(k, n * n)
    total = flat.sum(axis=1)
    weighted = (flat * distances).sum(axis=1)
    # Where a chunk holds no mass at all its horizon is 0, not 0 / 0.
    horizon = np.divide(weighted, total, out=np.zeros(k), where=total != 0)
    # Reach: for each source t with a non-zero local term, t minus the earliest j whose term
    # is at least `fraction` of it. The diagonal is always strong for a live source, so
    # argmax finds that j (what lies above the diagonal comes later and does not matter).
    local = lower[:, steps, steps]
    strong = lower >= (fraction * local)[:, :, None]
    live = local > 0
    reached = np.where(live, steps - strong.argmax(axis=2), 0).sum(axis=1)
    sources = np.count_nonzero(live, axis=1)
    reach = np.divide(reached, sources, out=np.zeros(k), where=sources != 0)
    return {
        "max_gradient": totals.max(axis=1),
        "mean_gradient": totals.sum(axis=1) / n,
        "effective_horizon": horizon,
        "reach": reach,
    }
