"""Turn a finished series' timestamps into the reference's ``PerformanceResult``."""

from __future__ import annotations

from array import array

import numpy as np

from asyncgen._effective import NS_PER_S
from asyncgen._perf_result import IntArray, PerformanceResult
from asyncgen._series import UNSET, Series


def _column(values: array[int], count: int) -> IntArray:
    column: IntArray = np.frombuffer(values, dtype=np.int64)[:count].copy()
    return column


def scheduled_per_sample(series: Series) -> IntArray:
    scheduled = _column(series.scheduled_ns, series.queries_issued)
    return np.repeat(scheduled, series.spq)


def issue_lags(series: Series) -> IntArray:
    """Issued minus scheduled, per issued query."""
    count = series.queries_issued
    return _column(series.issued_ns, count) - _column(series.scheduled_ns, count)


def performance_result(series: Series) -> PerformanceResult:
    """Latencies (completed samples only) and the final-query times, as the reference keeps them."""
    n_samples = series.samples_issued
    completed = _column(series.completed_ns, n_samples)
    scheduled = scheduled_per_sample(series)
    done_mask = completed != UNSET
    if series.failures:
        done_mask[list(series.failures)] = False
    latencies = (completed - scheduled)[done_mask]
    start = series.start_ns
    last = series.queries_issued - 1
    final_done = series.done_ns[last] if last >= 0 else UNSET
    if final_done == UNSET:  # the final query never finished: use the last completion seen
        final_done = int(completed.max()) if done_mask.any() else start
    query_latencies = np.zeros(0, dtype=np.int64)
    if series.spq > 1:
        done = _column(series.done_ns, series.queries_issued)
        sched_q = _column(series.scheduled_ns, series.queries_issued)
        query_latencies = (done - sched_q)[done != UNSET]
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
        **_token_columns(series, completed, scheduled, done_mask),
    )
    return result


def _token_columns(
    series: Series, completed: IntArray, scheduled: IntArray, done_mask: np.ndarray
) -> dict[str, IntArray]:
    if not series.use_tokens:
        return {}
    n = series.samples_issued
    first = _column(series.first_token_ns, n)[done_mask]
    tokens = _column(series.n_tokens, n)[done_mask]
    latency = (completed - scheduled)[done_mask]
    ttft = first - scheduled[done_mask]
    # Integer division truncating toward zero, like C++ (n_tokens 0 divides by -1 there too).
    numerator, denominator = latency - ttft, tokens - 1
    tpot = (np.abs(numerator) // np.abs(denominator)) * np.sign(numerator) * np.sign(denominator)
    return {
        "first_token_latencies": ttft,
        "time_per_output_token": tpot,
        "tokens_per_sample": tokens,
    }


def max_completion_ns(series: Series) -> int:
    completed = _column(series.completed_ns, series.samples_issued)
    completed = completed[completed != UNSET]
    return int(completed.max()) if completed.size else series.start_ns
