"""Did the generator keep up? The issue-lag verdict, and Server arrival fidelity.

Issue lag is how long after its scheduled time a query went out. Server latency is measured
from the scheduled time, so lag is part of every reported latency: a little is the price of
timers (uvloop's wake-ups are about 1 ms apart), a lot means the numbers measure the
generator as much as the system under test.

Arrival fidelity asks whether the queries really arrived as a Poisson process at the target
rate: the realised inter-arrival times (between issue times) against the exponential
distribution the schedule was drawn from, with a Kolmogorov-Smirnov test. The scheduled
times are tested too, which checks the plan itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from asyncgen.report._arrays import NS_PER_MS, NS_PER_S, FloatArray, IntArray, percentile
from asyncgen.report._deps import scipy_stats

TIMER_GRANULARITY_NS = NS_PER_MS  # lag at or under this is the timer's, not a backlog
DEFAULT_LAG_BUDGET_NS = 10 * NS_PER_MS
LAG_BUDGET_FRACTION = 0.10  # of the Server latency bound
QQ_POINTS = 500


@attrs.frozen(kw_only=True)
class GeneratorHealth:
    """``verdict`` is ``healthy``, ``strained`` or ``behind``."""

    verdict: str
    text: str
    p50_lag_ns: int
    p99_lag_ns: int
    max_lag_ns: int
    budget_ns: int


def lag_budget_ns(target_latency_ns: int) -> int:
    """How much p99 lag a run can carry before its latencies are mostly the generator's:
    10% of the Server latency bound, or 10 ms without one, and never under 1 ms."""
    if target_latency_ns > 0:
        return max(int(target_latency_ns * LAG_BUDGET_FRACTION), TIMER_GRANULARITY_NS)
    return DEFAULT_LAG_BUDGET_NS


def generator_health(
    p50_lag_ns: int, p99_lag_ns: int, max_lag_ns: int, target_latency_ns: int = 0
) -> GeneratorHealth:
    """The verdict on issue-lag percentiles (see ``lag_budget_ns``)."""
    budget = lag_budget_ns(target_latency_ns)
    p99_text = _duration(p99_lag_ns)
    if p99_lag_ns <= TIMER_GRANULARITY_NS:
        verdict = "healthy"
        text = f"The generator kept up: p99 issue lag {p99_text}, within timer granularity (1 ms)."
    elif p99_lag_ns <= budget:
        verdict = "strained"
        text = (
            f"The generator mostly kept up: p99 issue lag {p99_text} is above timer "
            f"granularity but within the {_duration(budget)} budget; latencies include up to "
            "that much generator delay."
        )
    else:
        verdict = "behind"
        text = (
            f"The generator fell behind: p99 issue lag {p99_text} exceeds the "
            f"{_duration(budget)} budget, so the measured latencies include the generator's "
            "own delay. Lower the rate per process, use uvloop, or split the load over "
            "several processes."
        )
    return GeneratorHealth(
        verdict=verdict,
        text=text,
        p50_lag_ns=int(p50_lag_ns),
        p99_lag_ns=int(p99_lag_ns),
        max_lag_ns=int(max_lag_ns),
        budget_ns=budget,
    )


def health_from_lags(lags_ns: IntArray, target_latency_ns: int = 0) -> GeneratorHealth:
    ordered = np.sort(lags_ns)
    return generator_health(
        int(percentile(ordered, 0.50)),
        int(percentile(ordered, 0.99)),
        int(ordered[-1]) if ordered.size else 0,
        target_latency_ns,
    )


def with_schedule_check(
    health: GeneratorHealth,
    *,
    engine: Mapping[str, Any] | None,
    achieved_fraction: float | None = None,
) -> GeneratorHealth:
    """Fold in whether the generator kept the scheduled rate: asyncgen's own judgement from
    ``results.json`` (``health``: achieved vs scheduled rate and bursts over the whole
    series) when the run has one, else the fraction measured on the trace."""
    if engine:
        fraction = engine.get("achieved_fraction")
        if engine.get("fell_behind"):
            warnings = " ".join(str(w) for w in engine.get("warnings") or ())
            return attrs.evolve(health, verdict="behind", text=f"{warnings} {health.text}")
        if isinstance(fraction, int | float):
            achieved_fraction = float(fraction)
    if achieved_fraction is None:
        return health
    rate = f" Queries went out at {achieved_fraction:.1%} of the scheduled rate."
    return attrs.evolve(health, text=health.text + rate)


@attrs.frozen(kw_only=True)
class KSResult:
    statistic: float
    pvalue: float
    count: int


def ks_exponential(intervals_s: FloatArray, rate_per_s: float) -> KSResult:
    """Kolmogorov-Smirnov test of ``intervals_s`` against Exp(rate) (rate known, not fit)."""
    result = scipy_stats().kstest(intervals_s, "expon", args=(0.0, 1.0 / rate_per_s))
    return KSResult(
        statistic=float(result.statistic), pvalue=float(result.pvalue), count=int(intervals_s.size)
    )


@attrs.frozen(kw_only=True)
class QQData:
    """Quantiles of the intervals against the exponential's, at ``probabilities``."""

    probabilities: FloatArray
    expected_ms: FloatArray
    observed_ms: FloatArray


def exponential_qq(intervals_s: FloatArray, rate_per_s: float, points: int = QQ_POINTS) -> QQData:
    """Q-Q data at evenly spaced plotting positions ``(i + 0.5) / n`` (thinned to ``points``)."""
    ordered = np.sort(intervals_s)
    n = int(ordered.size)
    picks = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.int64))
    probabilities = (picks + 0.5) / n
    expected = -np.log1p(-probabilities) / rate_per_s
    return QQData(
        probabilities=probabilities,
        expected_ms=expected * 1e3,
        observed_ms=ordered[picks] * 1e3,
    )


def inter_arrivals_s(times_ns: IntArray) -> FloatArray:
    """Gaps between consecutive arrival times, seconds (times need not be sorted)."""
    ordered = np.sort(times_ns)
    return np.diff(ordered).astype(np.float64) / NS_PER_S


def _duration(ns: float) -> str:
    if abs(ns) >= NS_PER_MS:
        return f"{ns / NS_PER_MS:.2f} ms"
    return f"{ns / 1000:.1f} µs"
