"""Latency statistics and throughput figures of one performance series.

The reference's ``ProcessLatencies`` / ``ProcessTokenLatencies`` and the rates its summary
prints, with its integer semantics: latency sums wrap like ``int64``, a mean divides the sum
by an unsigned count and truncates, a percentile reads ``sorted[int(n * p)]``. Rates are the
reference's doubles. Where the reference has undefined behaviour (an empty array, a zero
count or duration, an index past the end) the value is 0 instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import NS_PER_S, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._metrics.measurements import IntArray, PerformanceResult

PERCENTILES = (0.50, 0.90, 0.95, 0.97, 0.99, 0.999)

_INVALID_TOKENS = -(2**63)  # the reference's marker for a sample without a token count
_U64 = 2**64


@attrs.frozen
class LatencyStats:
    """Min, max, truncated mean and the percentiles of one latency array, in ns."""

    min_ns: int = 0
    max_ns: int = 0
    mean_ns: int = 0
    target_ns: int = 0  # at the scenario's target percentile
    percentiles_ns: Mapping[float, int] = attrs.field(factory=lambda: dict.fromkeys(PERCENTILES, 0))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready; percentiles keyed as the reference labels them ("99.90")."""
        return {
            "min_ns": self.min_ns,
            "max_ns": self.max_ns,
            "mean_ns": self.mean_ns,
            "target_ns": self.target_ns,
            "percentiles_ns": {f"{p * 100:.2f}": v for p, v in self.percentiles_ns.items()},
        }


def percentile_index(count: int, percentile: float) -> int:
    """The reference's percentile rule: index ``floor(count * p)`` of the sorted array."""
    return int(count * percentile)


def cpp_mean(total: int, count: int) -> int:
    """``int64 sum / size_t count``: the sum converts to unsigned, the quotient truncates."""
    if count <= 0:
        return 0
    quotient = (total % _U64) // count
    return quotient - _U64 if quotient >= 2**63 else quotient


def _wrapped_sum(values: IntArray) -> int:
    """Sum with ``int64`` wrap-around, as the reference's accumulator."""
    return int(np.sum(values, dtype=np.int64)) if values.size else 0


def _at_percentile(sorted_values: IntArray, count: int, percentile: float) -> int:
    index = percentile_index(count, percentile)
    if not sorted_values.size:
        return 0
    return int(sorted_values[min(max(index, 0), sorted_values.size - 1)])


def latency_stats(sorted_values: IntArray, count: int, target_percentile: float) -> LatencyStats:
    """Statistics of an ascending array; ``count`` divides the sum and scales percentiles.

    The reference uses the sample count for token arrays and the issued query count for
    MultiStream query latencies, which normally equal the array length.
    """
    if not sorted_values.size:
        return LatencyStats()
    return LatencyStats(
        min_ns=int(sorted_values[0]),
        max_ns=int(sorted_values[-1]),
        mean_ns=cpp_mean(_wrapped_sum(sorted_values), count),
        target_ns=_at_percentile(sorted_values, count, target_percentile),
        percentiles_ns={p: _at_percentile(sorted_values, count, p) for p in PERCENTILES},
    )


def _is_sorted(values: IntArray) -> bool:
    return bool(np.all(values[:-1] <= values[1:]))


def _as_int64(values: npt.ArrayLike) -> IntArray:
    return np.asarray(values, dtype=np.int64)


@attrs.frozen
class Measured:
    """Statistics plus the arrays in the order the reference's early stopping sees them."""

    sample_count: int
    query_count: int
    overlatency_query_count: int
    samples: LatencyStats
    queries: LatencyStats | None
    token_count: int
    first_token: LatencyStats | None
    tpot: LatencyStats | None
    overlatency_first_token_count: int
    sample_latencies: IntArray  # sorted unless empty
    query_latencies: IntArray  # sorted for MultiStream
    first_token_latencies: IntArray  # sorted only if the reference sorts them
    time_per_output_token: IntArray


def _token_count(tokens_per_sample: IntArray) -> int:
    """Sum of the recorded counts, accumulated in a ``size_t`` as the reference does."""
    valid = tokens_per_sample[tokens_per_sample != _INVALID_TOKENS]
    return int(valid.astype(np.uint64).sum(dtype=np.uint64))


def measure(eff: EffectiveSettings, pr: PerformanceResult) -> Measured:
    """The reference's ``ProcessLatencies`` (and ``ProcessTokenLatencies``)."""
    samples = _as_int64(pr.sample_latencies)
    queries = _as_int64(pr.query_latencies)
    ttft = _as_int64(pr.first_token_latencies)
    tpot = _as_int64(pr.time_per_output_token)
    percentile = eff.target_latency_percentile
    token_mode = eff.use_token_latencies
    if not samples.size:  # the reference returns before counting anything
        return Measured(
            sample_count=0,
            query_count=0,
            overlatency_query_count=0,
            samples=LatencyStats(),
            queries=None,
            token_count=0,
            first_token=None,
            tpot=None,
            overlatency_first_token_count=0,
            sample_latencies=samples,
            query_latencies=queries,
            first_token_latencies=ttft,
            time_per_output_token=tpot,
        )
    n = int(samples.size)
    if not _is_sorted(samples):  # sorted already: no copy (a million-sample run's peak)
        samples = np.sort(samples)
    over = ft_over = 0
    if eff.scenario is TestScenario.Server:
        over = int(np.count_nonzero(samples > eff.target_latency_ns))
    token_count = _token_count(_as_int64(pr.tokens_per_sample)) if token_mode else 0
    ft_stats = tpot_stats = None
    if token_mode and ttft.size:
        ttft, tpot = np.sort(ttft), np.sort(tpot)
        ft_stats = latency_stats(ttft, n, percentile)
        tpot_stats = latency_stats(tpot, n, percentile)
        if eff.scenario is TestScenario.Server:
            ft_over = int(np.count_nonzero(ttft > eff.target_latency_ns))
    elif token_mode:
        ft_stats = tpot_stats = LatencyStats()
    query_stats = None
    if eff.scenario is TestScenario.MultiStream:
        queries = np.sort(queries)
        query_stats = latency_stats(queries, pr.queries_issued, percentile)
    return Measured(
        sample_count=n,
        query_count=pr.queries_issued,
        overlatency_query_count=over,
        samples=latency_stats(samples, n, percentile),
        queries=query_stats,
        token_count=token_count,
        first_token=ft_stats,
        tpot=tpot_stats,
        overlatency_first_token_count=ft_over,
        sample_latencies=samples,
        query_latencies=queries,
        first_token_latencies=ttft,
        time_per_output_token=tpot,
    )


def _div(numerator: float, denominator: float) -> float:
    """A rate; 0.0 where the reference would divide by zero."""
    return numerator / denominator if denominator else 0.0


@attrs.frozen
class Rates:
    """Throughput figures; None where the scenario does not report them."""

    qps_with_loadgen_overhead: float | None = None  # SingleStream
    qps_without_loadgen_overhead: float | None = None  # SingleStream
    completed_samples_per_second: float | None = None  # Server
    scheduled_samples_per_second: float | None = None  # Server
    samples_per_second: float | None = None  # Offline
    tokens_per_second: float | None = None  # Offline, token mode
    completed_tokens_per_second: float | None = None  # non-Offline, token mode
    tps_with_loadgen_overhead: float | None = None  # token mode: SS summary, non-Offline detail
    tps_without_loadgen_overhead: float | None = None  # SingleStream summary, token mode
    token_throughput_per_ns: float | None = None  # detail's result_token_throughput (sic)
    inferred_tokens_per_second: float | None = None  # infer_token_latencies


def compute_rates(eff: EffectiveSettings, pr: PerformanceResult, m: Measured) -> Rates:
    """The rates the summary and detail log print, with the reference's operand order."""
    n = m.sample_count
    n_minus_1 = max(n - 1, 0)  # the reference's size_t would wrap at n = 0
    mean_s = m.samples.mean_ns / NS_PER_S
    r: dict[str, float] = {}
    match eff.scenario:
        case TestScenario.SingleStream:
            r["qps_with_loadgen_overhead"] = _div(n_minus_1, pr.final_query_issued_s)
            r["qps_without_loadgen_overhead"] = _div(1, mean_s)
        case TestScenario.Server:
            r["completed_samples_per_second"] = _div(n_minus_1, pr.final_query_all_samples_done_s)
            r["scheduled_samples_per_second"] = _div(n_minus_1, pr.final_query_scheduled_s)
        case TestScenario.Offline:
            r["samples_per_second"] = _div(n, pr.max_latency_s)
    tokens = m.token_count
    if eff.use_token_latencies and eff.scenario is TestScenario.Offline:
        r["tokens_per_second"] = _div(tokens, pr.max_latency_s)
    elif eff.use_token_latencies:
        r["completed_tokens_per_second"] = _div(tokens, pr.final_query_all_samples_done_s)
        r["tps_with_loadgen_overhead"] = _div(tokens, pr.final_query_issued_s)
        r["token_throughput_per_ns"] = _div(tokens, float((m.samples.mean_ns * n) % _U64))
        if eff.scenario is TestScenario.SingleStream:
            r["tps_without_loadgen_overhead"] = _div(tokens, mean_s * n)
    factor = eff.token_latency_scaling_factor
    if eff.infer_token_latencies and eff.scenario is TestScenario.Offline:
        r["inferred_tokens_per_second"] = _div(factor * n, pr.max_latency_s)
    elif eff.infer_token_latencies and eff.scenario is TestScenario.Server:
        r["inferred_tokens_per_second"] = _div(
            factor * n_minus_1, pr.final_query_all_samples_done_s
        )
    return Rates(**r)
