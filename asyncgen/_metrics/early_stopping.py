"""Early stopping: how many queries a run needs before its percentile estimate is trusted.

A port of the reference's one-sided binomial test (``early_stopping.cc`` and the
``EarlyStopping`` step of ``results.cc``). Its numbers appear verbatim in the summary and the
detail log, so the arithmetic follows the reference operation for operation:

* ``odds(h, t)`` is the regularized incomplete beta ``I_{p-d}(h, t + 1)``: the chance of at most
  ``t`` over-latency queries among ``h + t`` when each query is under latency with
  probability ``p - d``. It is evaluated with glibc's ``lgamma``, ``log`` and ``exp`` and a
  Gauss hypergeometric series (``a = 1``) summed until a term drops to 2**-33.
* ``MinPassingQueriesFinder`` returns the smallest ``h`` with ``odds(h, t) < 1 - c``. It binary
  searches a window extrapolated from earlier answers; the window can exclude the true
  minimum, and then the reference reports the window edge, so the window arithmetic
  (including its ``max_slope`` that multiplies where a slope would divide) is kept as is.

Long series are evaluated with NumPy in chunks whose running products and sums are
sequential (``np.multiply.accumulate``/``np.add.accumulate``), so every intermediate double
equals the one the C++ loop produces and the loop stops at the same term.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import math
from collections.abc import Callable, Sequence

import attrs
import numpy as np

CONFIDENCE = 0.99  # hard-coded in the reference
TOLERANCE = 0.0  # hard-coded in the reference
MULTI_STREAM_PERCENTILE = 0.99  # SingleStream also estimates this percentile (for MS inference)

_SERIES_TOLERANCE = 1.0 / (1 << 33)
_SCALAR_TERMS = 32  # short series stay in plain Python; NumPy pays off beyond this
_FIRST_CHUNK = 256
_MAX_CHUNK = 1 << 16


def _load_glibc_lgamma() -> Callable[[float], float]:
    """glibc's ``lgamma`` (what the reference calls); CPython's own ``math.lgamma`` differs
    in the last bit for many integers. Falls back to ``math.lgamma`` without a libm."""
    for name in ("libm.so.6", ctypes.util.find_library("m")):
        if name is None:
            continue
        try:
            fn = ctypes.CDLL(name).lgamma
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_double
        fn.argtypes = [ctypes.c_double]
        return fn
    return math.lgamma  # pragma: no cover - no C math library on this platform


lgamma: Callable[[float], float] = _load_glibc_lgamma()


def _exp(value: float) -> float:
    """``exp`` with C semantics: overflow gives +inf instead of raising."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def _lbeta(x: int, y: int) -> float:
    return (lgamma(x) + lgamma(y)) - lgamma(x + y)


def hypergeometric_2f1_a1(b: int, c: int, x: float) -> float:
    """``2F1(1, b; c; x)`` summed term by term exactly as the reference loop does.

    Requires ``b <= 0``: the term then becomes exactly zero at ``i = -b`` at the latest, so
    the sum always ends (the reference's only use has ``b = -t``).
    """
    if b > 0:
        raise ValueError(f"series only defined here for b <= 0, got {b}")
    term = 1.0
    result = 1.0
    i = 0
    # ``not (|term| > tol)`` rather than ``|term| <= tol``: a NaN term ends the C++ loop too.
    while abs(term) > _SERIES_TOLERANCE:
        if i == _SCALAR_TERMS:
            return _series_tail(b, c, x, start=i, state=(term, result))
        term *= ((b + i) * x) / (c + i)
        result += term
        i += 1
    return result


def _series_tail(b: int, c: int, x: float, *, start: int, state: tuple[float, float]) -> float:
    """Continue the series from index ``i`` in NumPy chunks with the same operation order.

    ``multiply.accumulate`` and ``add.accumulate`` run strictly left to right, so each
    running product and sum is the double the scalar loop would hold at that step.
    """
    i = start
    term, result = state
    chunk = _FIRST_CHUNK
    with np.errstate(all="ignore"):
        while True:
            k = np.arange(i, i + chunk, dtype=np.int64)
            products = np.empty(chunk + 1, dtype=np.float64)
            products[0] = term
            products[1:] = ((b + k).astype(np.float64) * x) / (c + k).astype(np.float64)
            terms = np.multiply.accumulate(products)
            terms[0] = result
            sums = np.add.accumulate(terms)
            stopped = np.flatnonzero(~(np.abs(terms[1:]) > _SERIES_TOLERANCE))
            if stopped.size:
                return float(sums[1 + stopped[0]])
            term = float(terms[-1])
            result = float(sums[-1])
            i += chunk
            chunk = min(chunk * 4, _MAX_CHUNK)


def beta_regularized(x: float, a: int, b: int) -> float:
    """``I_x(a, b)`` via ``x^a (1-x)^(b-1) / (a B(a, b)) * 2F1(1, 1-b; 1+a; x/(x-1))``."""
    prefactor = _exp(a * math.log(x) + (b - 1) * math.log(1 - x) - _lbeta(a, b)) / a
    return prefactor * hypergeometric_2f1_a1(1 - b, 1 + a, x / (x - 1))


def odds(h: int, t: int, p: float, d: float) -> float:
    """Probability of at most ``t`` over-latency queries among ``h + t`` total."""
    return beta_regularized(p - d, h, 1 + t)


def _find_min_passing(window: tuple[int, int], t: int, p: float, d: float, c: float) -> int:
    """Lower-bound search of ``[min_h, max_h)`` for the first ``h`` with ``odds < 1 - c``;
    ``max_h`` if none passes (the window may be wrong; the reference then reports its edge)."""
    min_h, max_h = window
    count = max_h - min_h
    while count > 0:
        step = count // 2
        h = min_h + step
        if odds(h, t, p, d) < 1 - c:
            count = step
        else:
            min_h = h + 1
            count -= step + 1
    return min_h


class MinPassingQueriesFinder:
    """``h(t)``: the fewest under-latency queries that outweigh ``t`` over-latency ones.

    Answers are memoised per ``(p, d, c)``; the two cached answers nearest below ``t`` bound
    the next search, exactly as in the reference (so results depend on the call order, and
    one finder must be used for one early-stopping evaluation, as the reference does).
    """

    def __init__(self) -> None:
        self._caches: dict[tuple[float, float, float], tuple[list[int], dict[int, int]]] = {}

    def __call__(self, t: int, p: float, d: float = TOLERANCE, c: float = CONFIDENCE) -> int:
        if not 0.0 < p - d < 1.0 or not 0.0 < c < 1.0:
            raise ValueError(f"early stopping needs 0 < p - d < 1 and 0 < c < 1 (p={p}, c={c})")
        keys, cache = self._caches.setdefault((p, d, c), ([], {}))
        if t in cache:
            return cache[t]
        below = bisect.bisect_left(keys, t)  # number of cached keys smaller than t
        x0, y0 = -1, 0
        x1, y1 = 0, math.ceil(math.log(1 - c) / math.log(p - d))
        if below >= 1:
            x1 = keys[below - 1]
            y1 = cache[x1]
        if below >= 2:
            x0 = keys[below - 2]
            y0 = cache[x0]
        min_slope = (p - d) / (1 - p + d)
        max_slope = float((y1 - y0) * (x1 - x0))  # sic: the reference multiplies
        min_h = int((t - x1) * min_slope + y1)
        max_h = int((t - x1) * max_slope + y1 + 1)
        h = _find_min_passing((min_h, max_h), t, p, d, c)
        bisect.insort(keys, t)
        cache[t] = h
        return h


@attrs.frozen
class EarlyStoppingResult:
    """One early-stopping evaluation: verdict, the summary text, percentile estimates.

    ``text`` is the reference's recommendation string with its embedded newlines (the detail
    log replaces them with spaces). ``latency_ss`` / ``latency_ms`` are the values logged as
    ``early_stopping_latency_ss`` / ``_ms``: the estimate at the target percentile
    (SingleStream, resp. MultiStream) and SingleStream's extra 99th-percentile estimate; 0
    where the reference leaves them unset.
    """

    met: bool
    text: str
    latency_ss: int = 0
    latency_ms: int = 0


def _pct(percentile: float) -> str:
    return f"{percentile * 100:.1f}"


def _at(values: Sequence[int] | np.ndarray, index: int) -> int:
    """``values[index]``, or 0 where the reference would read out of bounds."""
    return int(values[index]) if 0 <= index < len(values) else 0


def _bad_percentile(percentile: float) -> EarlyStoppingResult | None:
    if 0.0 < percentile - TOLERANCE < 1.0:
        return None
    return EarlyStoppingResult(
        met=False,
        text=f" * Early stopping needs a target percentile between 0 and 1 (got {percentile}).",
    )


def queries_to_discard(
    queries_issued: int, percentile: float, finder: MinPassingQueriesFinder
) -> tuple[int, int | None]:
    """``(h(1), t)``: ``t - 1`` highest latencies are discarded; ``t`` is None when
    ``queries_issued < h(1) + 1`` (too few queries to estimate anything)."""
    h_min = finder(1, percentile)
    if queries_issued < h_min + 1:
        return h_min, None
    for i in range(2, queries_issued + 1):
        if queries_issued < finder(i, percentile) + i:
            return h_min, i - 1
    return h_min, 1


def _closed_loop_estimate(
    sorted_latencies: Sequence[int] | np.ndarray,
    queries_issued: int,
    percentile: float,
    finder: MinPassingQueriesFinder,
) -> tuple[bool, str, int]:
    h_min, t = queries_to_discard(queries_issued, percentile, finder)
    if t is None:
        text = (
            f" * Only processed {queries_issued} queries.\n"
            f" * Need to process at least {h_min + 1} queries for early stopping."
        )
        return False, text, 0
    estimate = _at(sorted_latencies, queries_issued - t)
    text = (
        f" * Processed at least {h_min + 1} queries ({queries_issued}).\n"
        f" * Would discard {t - 1} highest latency queries.\n"
        f" * Early stopping {_pct(percentile)}th percentile estimate: {estimate}"
    )
    return True, text, estimate


def single_stream_early_stopping(
    sorted_latencies: Sequence[int] | np.ndarray, queries_issued: int, percentile: float
) -> EarlyStoppingResult:
    """SingleStream: estimate at ``percentile`` and, for information, at the 99th."""
    if (bad := _bad_percentile(percentile)) is not None:
        return bad
    finder = MinPassingQueriesFinder()
    met, text, estimate = _closed_loop_estimate(
        sorted_latencies, queries_issued, percentile, finder
    )
    if not met:
        return EarlyStoppingResult(met=False, text=text)
    h_min, t = queries_to_discard(queries_issued, MULTI_STREAM_PERCENTILE, finder)
    if t is None:
        text += (
            f"\n * Not enough queries processed for {_pct(MULTI_STREAM_PERCENTILE)}th percentile\n"
            " early stopping estimate (would need to process at\n"
            f" least {h_min + 1} total queries)."
        )
        return EarlyStoppingResult(met=True, text=text, latency_ss=estimate)
    estimate_99 = _at(sorted_latencies, queries_issued - t)
    text += (
        f"\n * Early stopping {_pct(MULTI_STREAM_PERCENTILE)}th percentile estimate: {estimate_99}"
    )
    return EarlyStoppingResult(met=True, text=text, latency_ss=estimate, latency_ms=estimate_99)


def multi_stream_early_stopping(
    sorted_query_latencies: Sequence[int] | np.ndarray, queries_issued: int, percentile: float
) -> EarlyStoppingResult:
    """MultiStream: estimate at ``percentile`` over the per-query latencies."""
    if (bad := _bad_percentile(percentile)) is not None:
        return bad
    met, text, estimate = _closed_loop_estimate(
        sorted_query_latencies, queries_issued, percentile, MinPassingQueriesFinder()
    )
    return EarlyStoppingResult(met=met, text=text, latency_ms=estimate if met else 0)


def server_early_stopping(
    latencies: Sequence[int] | np.ndarray,
    queries_issued: int,
    percentile: float,
    target_latency_ns: int,
) -> EarlyStoppingResult:
    """Server: passes when ``queries_issued >= h(t) + t`` for ``t`` over-latency samples."""
    if (bad := _bad_percentile(percentile)) is not None:
        return bad
    over = int(np.count_nonzero(np.asarray(latencies, dtype=np.int64) > target_latency_ns))
    h = MinPassingQueriesFinder()(over, percentile)
    if queries_issued >= h + over:
        return EarlyStoppingResult(met=True, text=" * Run successful.")
    text = (
        " * Run unsuccessful.\n"
        f" * Processed {queries_issued} queries.\n"
        f" * Would need to run at least {h + over - queries_issued} more queries,\n"
        " with the run being successful if every additional\n"
        " query were under latency."
    )
    return EarlyStoppingResult(met=False, text=text)


def min_queries_for_early_stopping(percentile: float) -> int:
    """``h(1) + 1``: the fewest queries with which SingleStream/MultiStream can pass."""
    return MinPassingQueriesFinder()(1, percentile) + 1
