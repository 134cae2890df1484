"""Live progress of a run: a snapshot of the active series, taken every fraction of a second.

Snapshots read the series' columns without touching the hot path; percentiles cover the most
recent samples only, so a display shows how the run is going now, not on average.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from asyncgen._engine.series import UNSET, Series

RECENT = 2000  # samples and queries the recent percentiles cover


@attrs.frozen(kw_only=True)
class WorkerProgress:
    """Where one worker of a scaled-out run stands (``Progress.workers``)."""

    shard: int
    queries_issued: int
    queries_planned: int
    recent_p99_issue_lag_ns: int | None


@attrs.frozen(kw_only=True)
class Progress:
    """Where a run stands. Times in seconds, latencies in nanoseconds."""

    phase: str  # "performance", "accuracy set 2/3", "find-peak probe at 400 QPS", ...
    elapsed_s: float
    expected_s: float | None  # how long the series is planned to take, when known
    queries_issued: int
    queries_planned: int
    samples_issued: int
    samples_completed: int
    target_qps: float
    achieved_qps: float  # completed samples per second so far
    recent_p50_latency_ns: int | None
    recent_p99_latency_ns: int | None
    recent_p99_issue_lag_ns: int | None
    workers: tuple[WorkerProgress, ...] = ()  # scale-out: one per shard that answered

    @property
    def in_flight(self) -> int:
        """Samples issued but not completed yet."""
        return self.samples_issued - self.samples_completed

    @property
    def slowest_worker(self) -> WorkerProgress | None:
        """The worker with the largest recent p99 issue lag (None: not scaled out)."""
        if not self.workers:
            return None
        return max(self.workers, key=lambda w: w.recent_p99_issue_lag_ns or 0)


ProgressCallback = Callable[[Progress], None]
"""What ``run_test(progress=...)`` calls with a ``Progress`` snapshot, on the event loop."""


def snapshot(
    series: Series, *, phase: str, now_ns: int, target_qps: float, expected_s: float | None
) -> Progress:
    """A progress snapshot of ``series`` at ``now_ns``."""
    elapsed_s = max(now_ns - series.start_ns, 0) / 1e9 if series.start_ns else 0.0
    return Progress(
        phase=phase,
        elapsed_s=elapsed_s,
        expected_s=expected_s,
        queries_issued=series.queries_issued,
        queries_planned=series.plan.query_count,
        samples_issued=series.samples_issued,
        samples_completed=series.samples_completed,
        target_qps=target_qps,
        achieved_qps=series.samples_completed / elapsed_s if elapsed_s > 0 else 0.0,
        recent_p50_latency_ns=_recent_latency(series, 0.50),
        recent_p99_latency_ns=_recent_latency(series, 0.99),
        recent_p99_issue_lag_ns=_recent_lag(series, 0.99),
    )


def _percentile(values: np.ndarray, p: float) -> int | None:
    if values.size == 0:
        return None
    ordered = np.sort(values)
    return int(ordered[min(ordered.size - 1, int(ordered.size * p))])


def _recent_latency(series: Series, p: float) -> int | None:
    if series.keeps_completion_order:  # the most recently completed samples
        recent = np.asarray(series.completion_order[-RECENT:], dtype=np.int64)
    else:  # no trace, no completion order: the most recently issued ones
        recent = np.arange(max(0, series.samples_issued - RECENT), series.samples_issued)
    if recent.size == 0:
        return None
    completed = np.frombuffer(series.completed_ns, dtype=np.int64)[recent]
    scheduled = series.scheduled(recent // series.spq)
    return _percentile((completed - scheduled)[completed != UNSET], p)


def _recent_lag(series: Series, p: float) -> int | None:
    end = series.queries_issued
    start = max(0, end - RECENT)
    return _percentile(series.issue_lags(start, end), p)
