"""Argument checks shared by the whole package: one home for every "must be" message.

Each check returns the value in its normal form (a Python int, a float, a numpy array) or
raises a ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value) whose
message names the argument, says what was given and what is expected. Public functions check
their arguments once, at the boundary, with these; nothing below the boundary checks again.
"""

from __future__ import annotations

import copy
import json
import math
import operator
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

FLOAT_DTYPES = ("float64", "float32")
"""The precisions a trainer runs in."""

__all__ = [
    "check_bool",
    "check_choice",
    "check_float_dtype",
    "check_horizon",
    "check_indices",
    "check_int",
    "check_json_dict",
    "check_number",
    "check_positive",
    "check_real_array",
]


def check_choice(name: str, value: object, choices: Sequence[str], context: str = "") -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` naming them
    (``context``, e.g. ``" for cell 'lstm'"``, follows the choices in the message).

    Examples
    --------
    >>> check_choice("norm", "fro", ("fro", "mean_abs"))
    'fro'
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}{context}, got {value!r}")
    return value


def check_int(
    name: str, value: object, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as a Python int in ``[minimum, maximum]`` (bounds optional).

    Booleans are refused; numpy integers are accepted.

    Examples
    --------
    >>> check_int("steps", np.int64(3), minimum=0)
    3
    """
    bounds = _bounds(minimum, maximum)
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int{bounds}, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an int{bounds}, got {value!r} ({type(value).__name__})"
        ) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be an int{bounds}, got {number}")
    return number


def _bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def check_number(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number (booleans refused; NaN allowed)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def check_positive(name: str, value: object, allow_none: bool = False) -> float | None:
    """Return ``value`` as a float if it is a finite number > 0 (or None when allowed).

    Examples
    --------
    >>> check_positive("learning_rate", 0.1)
    0.1
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.floating):
        expected = "a positive number or None" if allow_none else "a positive number"
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {number!r}")
    return number


def check_real_array(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as an array of real numbers with exactly ``shape``."""
    array = np.asarray(value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` as a bool if it is one (numpy's included)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_horizon(horizon: object, n: int) -> int:
    """Number of lags to walk: ``min(horizon, n)``, or ``n`` for None.

    Examples
    --------
    >>> check_horizon(None, 25), check_horizon(5, 25), check_horizon(99, 25)
    (25, 5, 25)
    """
    if horizon is None:
        return n
    if isinstance(horizon, bool | np.bool_) or not isinstance(horizon, int | np.integer):
        raise TypeError(
            f"horizon must be a positive int or None, got {horizon!r} ({type(horizon).__name__})"
        )
    if horizon < 1:
        raise ValueError(
            f"horizon must be >= 1 (the number of source losses per step) or None, got {horizon}"
        )
    return min(int(horizon), n)


def check_indices(name: str, values: object, size: int, length: int | None = None) -> np.ndarray:
    """Return ``values`` as a 1-D integer array of vocabulary indices in ``[0, size)``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    values : array_like
        The indices.
    size : int
        The vocabulary size V.
    length : int or None
        The required length, if any.

    Examples
    --------
    >>> check_indices("inputs", [0, 2], 3)
    array([0, 2])
    """
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of ints, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer vocabulary indices, got dtype {array.dtype}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} must have length {length}, got {len(array)}")
    low, high = array.min(), array.max()
    if low < 0 or high >= size:
        raise ValueError(
            f"{name} must hold indices in [0, {size}) (the vocabulary), "
            f"got values from {low} to {high}"
        )
    return array


def check_json_dict(name: str, value: object) -> dict[str, Any]:
    """Return a deep copy of ``value`` if it is a JSON-serializable dict (None gives ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be JSON-serializable (str keys, plain values): {error}"
        ) from None
    return copy.deepcopy(value)


def check_float_dtype(dtype: object) -> np.dtype:
    """``dtype`` ("float64", "float32" or the numpy types) as a numpy dtype, else raise."""
    try:
        resolved = np.dtype(dtype) if isinstance(dtype, str | type | np.dtype) else None
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in FLOAT_DTYPES:
        raise ValueError(
            f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}; float32 is faster, float64 (the "
            "default) is the paper's precision"
        )
    return resolved
