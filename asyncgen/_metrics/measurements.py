"""What one issue series measured: the reference's ``PerformanceResult``, read off a Series.

``PerformanceResult`` is the input of statistics, validity and the summary; its fields mirror
the reference's. Arrays are NumPy ``int64`` in nanoseconds; times are seconds from the series
start, as the reference computes them.

The series' columns are read through zero-copy views; each result array is one fresh array,
computed in place (a million-sample run would otherwise hold several full-size temporaries at
once: copies of the columns, their difference, and the masked result).
"""

from __future__ import annotations

from array import array
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import NS_PER_S
from asyncgen._engine.series import UNSET, Series

IntArray = npt.NDArray[np.int64]


def _empty() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@attrs.frozen(kw_only=True)
class PerformanceResult:
    """Latencies and end times of one performance series."""

    # One latency per recorded sample (completion - scheduled), in sample sequence order.
    sample_latencies: IntArray
    # MultiStream only: one latency per issued query (last sample done - scheduled).
    query_latencies: IntArray = attrs.field(factory=_empty)
    queries_issued: int
    max_latency_s: float  # largest sample latency, seconds
    final_query_scheduled_s: float  # the last issued query's scheduled offset
    final_query_issued_s: float  # the last issued query's issue time
    final_query_all_samples_done_s: float  # when the last issued query's last sample completed
    # Token mode (use_token_latencies): per sample, in sample sequence order.
    first_token_latencies: IntArray = attrs.field(factory=_empty)
    time_per_output_token: IntArray = attrs.field(factory=_empty)
    tokens_per_sample: IntArray = attrs.field(factory=_empty)


_NO_STAMP = np.iinfo(np.int64).min


def _view(values: array[int], count: int) -> IntArray:
    """The first ``count`` entries of a column, without copying (do not keep it)."""
    view: IntArray = np.frombuffer(values, dtype=np.int64)[:count]
    return view


def _column(values: array[int], count: int) -> IntArray:
    column: IntArray = _view(values, count).copy()
    return column


def sorted_issue_lags(series: Series) -> npt.NDArray[np.signedinteger[Any]]:
    """Issued minus scheduled for every issued query, sorted in place (the series keeps them
    in four bytes each while they fit, and so does this copy)."""
    lags = series.issue_lags(0, series.queries_issued)
    lags.sort()
    return lags


def _minus_scheduled(values: IntArray, series: Series, *, per_sample: bool = True) -> None:
    """Subtract each sample's (or query's) scheduled time from ``values``, in place."""
    count = series.queries_issued
    column, constant = series.schedule_parts(count)
    if per_sample and series.spq > 1:
        values = values.reshape(count, series.spq)
        column = None if column is None else column[:, None]
    if column is not None:
        values -= column
    values -= constant


def _done_mask(series: Series, completed: IntArray) -> npt.NDArray[np.bool_]:
    """Samples that completed and did not fail."""
    done_mask: npt.NDArray[np.bool_] = np.not_equal(completed, UNSET)
    if series.failures:
        done_mask[list(series.failures)] = False
    return done_mask


def sample_latencies(series: Series, out: IntArray | None = None) -> IntArray:
    """The latencies of the samples that completed and did not fail, in sample order.

    Written into ``out`` when given (it must have their length): the runner sorts its copy
    for the statistics, then puts the sample order back rather than holding two copies.
    """
    completed = _view(series.completed_ns, series.samples_issued)
    done_mask = _done_mask(series, completed)
    if done_mask.all():
        latencies = completed.copy() if out is None else out
        if out is not None:
            np.copyto(out, completed)
        _minus_scheduled(latencies, series)
        return latencies
    latencies = completed.copy()
    _minus_scheduled(latencies, series)
    if out is None:
        return latencies[done_mask]
    np.compress(done_mask, latencies, out=out)
    return out


def performance_result(series: Series) -> PerformanceResult:
    """Latencies (completed samples only) and the final-query times, as the reference keeps them."""
    n_samples = series.samples_issued
    completed = _view(series.completed_ns, n_samples)
    latencies = sample_latencies(series)
    start = series.start_ns
    last = series.queries_issued - 1
    final_done = series.done_ns[last] if last >= 0 else UNSET
    if final_done == UNSET:  # the final query never finished: use the last completion seen
        final_done = int(completed.max()) if latencies.size else start
    query_latencies = np.zeros(0, dtype=np.int64)
    if series.spq > 1:
        done = _column(series.done_ns, series.queries_issued)
        _minus_scheduled(done, series, per_sample=False)
        query_latencies = done[_view(series.done_ns, series.queries_issued) != UNSET]
    result = PerformanceResult(
        sample_latencies=latencies,
        query_latencies=query_latencies,
        queries_issued=series.queries_issued,
        max_latency_s=(int(latencies.max()) / NS_PER_S) if latencies.size else 0.0,
        final_query_scheduled_s=((series.scheduled_at(last) - start) / NS_PER_S)
        if last >= 0
        else 0.0,
        final_query_issued_s=((series.issued_at(last) - start) / NS_PER_S) if last >= 0 else 0.0,
        final_query_all_samples_done_s=(final_done - start) / NS_PER_S,
        **_token_columns(series, latencies),
    )
    return result


def _token_columns(series: Series, latency: IntArray) -> dict[str, IntArray]:
    """Token figures of the completed samples; ``latency`` is theirs already."""
    if not series.use_tokens:
        return {}
    n = series.samples_issued
    done_mask = _done_mask(series, _view(series.completed_ns, n))
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


@attrs.frozen(kw_only=True)
class RequestTimes:
    """Per sample (request) of a series: its times (absolute ns on the series clock, ``UNSET``
    where there is none), output tokens and whether it failed. The SLO evaluation and the
    per-request export read these; ``first_token_ns`` and ``output_tokens`` are None without
    token latencies."""

    samples: IntArray  # the sample numbers in the series
    scheduled_ns: IntArray
    issued_ns: IntArray
    first_token_ns: IntArray | None
    completed_ns: IntArray  # completion or failure time
    output_tokens: IntArray | None
    failed: npt.NDArray[np.bool_]


def request_times(series: Series, samples: IntArray | None = None) -> RequestTimes:
    """The ``RequestTimes`` of every issued sample, or of the ones numbered in ``samples``
    (fresh arrays; the series' columns are not changed)."""
    if samples is None:
        samples = np.arange(series.samples_issued, dtype=np.int64)
    queries = samples // series.spq
    failed = np.zeros(samples.shape, dtype=np.bool_)
    if series.failures:
        failed = np.isin(samples, np.fromiter(series.failures, dtype=np.int64))
    tokens = series.use_tokens
    return RequestTimes(
        samples=samples,
        scheduled_ns=series.scheduled(queries),
        issued_ns=series.issued(queries),
        first_token_ns=np.frombuffer(series.first_token_ns, dtype=np.int64)[samples]
        if tokens
        else None,
        completed_ns=np.frombuffer(series.completed_ns, dtype=np.int64)[samples],
        output_tokens=np.frombuffer(series.n_tokens, dtype=np.int64)[samples] if tokens else None,
        failed=failed,
    )
