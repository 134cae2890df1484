"""Turn a finished series' timestamps into the reference's ``PerformanceResult``.

The series' columns are read through zero-copy views; each result array is one fresh array,
computed in place (a million-sample run would otherwise hold several full-size temporaries at
once: copies of the columns, their difference, and the masked result).
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from asyncgen._effective import NS_PER_S
from asyncgen._perf_result import IntArray, PerformanceResult
from asyncgen._series import UNSET, Series

_NO_STAMP = np.iinfo(np.int64).min


def _view(values: array[int], count: int) -> IntArray:
    """The first ``count`` entries of a column, without copying (do not keep it)."""
    view: IntArray = np.frombuffer(values, dtype=np.int64)[:count]
    return view


def _column(values: array[int], count: int) -> IntArray:
    column: IntArray = _view(values, count).copy()
    return column


def scheduled_per_sample(series: Series) -> IntArray:
    scheduled = _view(series.scheduled_ns, series.queries_issued)
    return np.repeat(scheduled, series.spq)


def issue_lags(series: Series) -> IntArray:
    """Issued minus scheduled, per issued query."""
    count = series.queries_issued
    lags = _column(series.issued_ns, count)
    lags -= _view(series.scheduled_ns, count)
    return lags


def _minus_scheduled(values: IntArray, series: Series) -> None:
    """Subtract each sample's scheduled time from ``values`` (one per sample), in place."""
    scheduled = _view(series.scheduled_ns, series.queries_issued)
    if series.spq == 1:
        values -= scheduled
    else:
        values.reshape(series.queries_issued, series.spq)[:] -= scheduled[:, None]


def _done_mask(series: Series, completed: IntArray) -> npt.NDArray[np.bool_]:
    """Samples that completed and did not fail."""
    done_mask: npt.NDArray[np.bool_] = np.not_equal(completed, UNSET)
    if series.failures:
        done_mask[list(series.failures)] = False
    return done_mask


def performance_result(series: Series) -> PerformanceResult:
    """Latencies (completed samples only) and the final-query times, as the reference keeps them."""
    n_samples = series.samples_issued
    completed = _view(series.completed_ns, n_samples)
    done_mask = _done_mask(series, completed)
    all_done = bool(done_mask.all())
    latencies = completed.copy()
    _minus_scheduled(latencies, series)
    if not all_done:
        latencies = latencies[done_mask]
    start = series.start_ns
    last = series.queries_issued - 1
    final_done = series.done_ns[last] if last >= 0 else UNSET
    if final_done == UNSET:  # the final query never finished: use the last completion seen
        final_done = int(completed.max()) if done_mask.any() else start
    query_latencies = np.zeros(0, dtype=np.int64)
    if series.spq > 1:
        done = _column(series.done_ns, series.queries_issued)
        done -= _view(series.scheduled_ns, series.queries_issued)
        query_latencies = done[_view(series.done_ns, series.queries_issued) != UNSET]
    result = PerformanceResult(
        sample_latencies=latencies,
        query_latencies=query_latencies,
        queries_issued=series.queries_issued,
        max_latency_s=(int(latencies.max()) / NS_PER_S) if latencies.size else 0.0,
        final_query_scheduled_s=((series.scheduled_ns[last] - start) / NS_PER_S)
        if last >= 0
        else 0.0,
        final_query_issued_s=((series.issued_ns[last] - start) / NS_PER_S) if last >= 0 else 0.0,
        final_query_all_samples_done_s=(final_done - start) / NS_PER_S,
        **_token_columns(series, latencies, done_mask),
    )
    return result


def _token_columns(
    series: Series, latency: IntArray, done_mask: npt.NDArray[np.bool_]
) -> dict[str, IntArray]:
    """Token figures of the completed samples; ``latency`` is theirs already."""
    if not series.use_tokens:
        return {}
    n = series.samples_issued
    ttft = _column(series.first_token_ns, n)
    _minus_scheduled(ttft, series)
    ttft = ttft[done_mask]
    tokens = _column(series.n_tokens, n)[done_mask]
    # Integer division truncating toward zero, like C++ (n_tokens 0 divides by -1 there too).
    numerator, denominator = latency - ttft, tokens - 1
    tpot = (np.abs(numerator) // np.abs(denominator)) * np.sign(numerator) * np.sign(denominator)
    return {
        "first_token_latencies": ttft,
        "time_per_output_token": tpot,
        "tokens_per_sample": tokens,
    }


def max_completion_ns(series: Series) -> int:
    completed = _view(series.completed_ns, series.samples_issued)
    latest = int(np.max(completed, where=completed != UNSET, initial=_NO_STAMP))
    return series.start_ns if latest == _NO_STAMP else latest
