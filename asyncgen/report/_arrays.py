"""Array aliases and the few numeric helpers every part of the report shares."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NS_PER_MS = 1_000_000
NS_PER_US = 1_000
NS_PER_S = 1_000_000_000


def empty_int() -> IntArray:
    return np.zeros(0, dtype=np.int64)


def empty_float() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


def percentile_index(count: int, p: float) -> int:
    """The reference's rule: the value at ``sorted[floor(count * p)]``, clamped to the end."""
    return min(max(int(count * p), 0), max(count - 1, 0))


def percentile(sorted_values: np.ndarray, p: float) -> float:
    """``sorted_values`` at percentile ``p`` by the reference's rule (0.0 when empty)."""
    if sorted_values.size == 0:
        return 0.0
    return float(sorted_values[percentile_index(int(sorted_values.size), p)])


def nice_step(span: float, max_steps: int) -> float:
    """The smallest 1-2-5 multiple of a power of ten that cuts ``span`` into at most
    ``max_steps`` pieces (window widths people can read: 10 ms, 200 ms, 5 s)."""
    if span <= 0:
        return 1.0
    raw = span / max_steps
    magnitude = 10.0 ** np.floor(np.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * magnitude >= raw:
            return float(factor * magnitude)
    return float(10.0 * magnitude)  # pragma: no cover - the loop always returns
