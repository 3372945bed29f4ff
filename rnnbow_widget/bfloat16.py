"""The bfloat16 codec: float32 values stored and sent in half the bytes.

bfloat16 is the upper half of a float32's bits: the same 8-bit exponent, so the same range
(the vanishing tail down to 1e-38 survives), with 8 bits of mantissa (about 3 significant
digits, plenty for a bar's height). Values are rounded to nearest, ties to even. The per-unit
store keeps its values this way, and the wire carries losses and magnitudes this way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BFLOAT16", "bfloat16_to_float32", "float32_to_bfloat16"]

BFLOAT16 = "bfloat16"
"""The dtype name a bfloat16 array carries in headers and files (its bytes are uint16)."""


def float32_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """Round values to bfloat16, returned as their uint16 bit patterns.

    Rounds to nearest, ties to even, on the float32 bits; NaN stays NaN (quiet), infinities
    stay infinite, and values beyond bfloat16's largest finite number round to infinity, as
    IEEE rounding demands.

    Examples
    --------
    >>> float32_to_bfloat16(np.array([1.0, -2.0, 1e-38], dtype=np.float32))
    array([16256, 49152,   109], dtype=uint16)
    """
    f32 = np.ascontiguousarray(values, dtype=np.float32)
    bits = f32.view(np.uint32)
    rounded = bits >> 16  # then, in place: + 0x7FFF + the lowest kept bit (half to even)
    rounded &= 1
    rounded += 0x7FFF
    rounded += bits
    rounded >>= 16
    halves = rounded.astype(np.uint16)
    nan = np.isnan(f32)
    if nan.any():  # rounding could carry a NaN's bits into infinity: keep it a (quiet) NaN
        halves[nan] = (bits[nan] >> 16) | 0x0040
    return halves


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen bfloat16 bit patterns (uint16) back to float32, exactly.

    Examples
    --------
    >>> bfloat16_to_float32(np.array([16256, 49152], dtype=np.uint16))
    array([ 1., -2.], dtype=float32)
    """
    widened = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return widened.view(np.float32)
