"""The settings a run actually uses (the reference's ``TestSettingsInternal``).

A pure function of the requested settings and the QSL's reported sizes. Its values are logged
as the ``effective_*`` keys and drive query generation and validity checks.
"""

from __future__ import annotations

import attrs

from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.settings import TestSettings

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

OFFLINE_SLACK = 1.1  # the reference's kSlack: Offline generates 10% more than min duration needs
EQUAL_ISSUE_SS_SLACK = 2.0  # SingleStream equal-issue slack (the reference's second kSlack)


@attrs.frozen(kw_only=True)
class EffectiveSettings:
    """Derived settings; field names follow the ``effective_*`` detail-log keys."""

    requested: TestSettings
    scenario: TestScenario
    mode: TestMode
    samples_per_query: int
    target_qps: float
    target_latency_ns: int
    target_latency_percentile: float
    max_async_queries: int
    target_duration_ms: int
    min_duration_ms: int
    max_duration_ms: int
    min_query_count: int
    max_query_count: int
    min_sample_count: int
    qsl_rng_seed: int
    sample_index_rng_seed: int
    schedule_rng_seed: int
    accuracy_log_rng_seed: int
    accuracy_log_probability: float
    accuracy_log_sampling_target: int
    print_timestamps: bool
    performance_issue_unique: bool
    performance_issue_same: bool
    performance_issue_same_index: int
    performance_sample_count: int
    accuracy_sample_count: int
    sample_concatenate_permutation: bool
    use_token_latencies: bool
    ttft_latency_ns: int
    tpot_latency_ns: int
    infer_token_latencies: bool
    token_latency_scaling_factor: int

    def with_target_qps(self, target_qps: float) -> EffectiveSettings:
        """A copy at another Server rate (FindPeakPerformance probes)."""
        return attrs.evolve(self, target_qps=target_qps)


def _scenario_targets(s: TestSettings, errors: list[str]) -> tuple[float, int, float, int]:
    """(target_qps, target_latency_ns, target_latency_percentile, max_async_queries)."""
    match s.scenario:
        case TestScenario.SingleStream:
            return (
                NS_PER_S / s.single_stream_expected_latency_ns,
                0,
                (s.single_stream_target_latency_percentile),
                1,
            )
        case TestScenario.MultiStream:
            return (
                NS_PER_S / s.multi_stream_expected_latency_ns,
                0,
                (s.multi_stream_target_latency_percentile),
                1,
            )
        case TestScenario.Server:
            qps = s.server_target_qps
            if qps < 0.0:
                errors.append(
                    f"Invalid value for server_target_qps requested. requested: {qps:g} using: 1"
                )
                qps = 1.0
            return (
                qps,
                s.server_target_latency_ns,
                s.server_target_latency_percentile,
                (s.server_max_async_queries),
            )
        case TestScenario.Offline:
            qps = s.offline_expected_qps
            if qps < 0.0:
                errors.append(
                    f"Invalid value for offline_expected_qps requested. requested: {qps:g} using: 1"
                )
                qps = 1.0
            return qps, 0, 0.99, 1
    raise AssertionError(s.scenario)  # pragma: no cover


def effective_settings(
    s: TestSettings, qsl_performance_count: int, qsl_total_count: int
) -> tuple[EffectiveSettings, list[str]]:
    """Derive the effective settings; also return the reference's invalid-settings messages.

    The messages are what the reference logs as ``error_invalid_test_settings``; the run
    proceeds with the same fallbacks it uses.
    """
    errors: list[str] = []
    target_qps, target_latency_ns, percentile, max_async = _scenario_targets(s, errors)
    performance_sample_count = s.performance_sample_count_override or qsl_performance_count
    accuracy_sample_count = s.accuracy_sample_count_override or qsl_total_count
    samples_per_query = 1
    if s.scenario is TestScenario.MultiStream:
        samples_per_query = s.multi_stream_samples_per_query
    target_duration_ms = s.min_duration_ms
    min_query_count = s.min_query_count
    if s.scenario is TestScenario.Offline:
        target_sample_count = int(OFFLINE_SLACK * (target_duration_ms / 1000.0) * target_qps)
        samples_per_query = (
            performance_sample_count
            if s.performance_issue_unique
            else max(min_query_count, target_sample_count)
        )
        min_query_count = 1
        target_duration_ms = 0
    if s.sample_concatenate_permutation and s.scenario is TestScenario.SingleStream:
        expected = int(EQUAL_ISSUE_SS_SLACK * (target_duration_ms / 1000.0) * target_qps)
        min_query_count = max(min_query_count, expected)
        # Always adds, even on an exact multiple, and uses the QSL's own count: as the reference.
        min_query_count += qsl_performance_count - (min_query_count % qsl_performance_count)
    if s.performance_issue_same and s.performance_issue_same_index >= performance_sample_count:
        errors.append(
            "Sample Idx to be repeated in performance_issue_same mode cannot be greater than "
            "loaded performance_sample_count. performance_issue_same_index: "
            f"{s.performance_issue_same_index} performance_sample_count: "
            f"{performance_sample_count}"
        )
    if s.performance_issue_unique and s.performance_issue_same:
        errors.append(
            "Performance_issue_unique and performance_issue_same, both cannot be true at the "
            "same time. performance_issue_unique: 1 performance_issue_same: 1"
        )
    eff = EffectiveSettings(
        requested=s,
        scenario=s.scenario,
        mode=s.mode,
        samples_per_query=samples_per_query,
        target_qps=target_qps,
        target_latency_ns=target_latency_ns,
        target_latency_percentile=percentile,
        max_async_queries=max_async,
        target_duration_ms=target_duration_ms,
        min_duration_ms=s.min_duration_ms,
        max_duration_ms=s.max_duration_ms,
        min_query_count=min_query_count,
        max_query_count=s.max_query_count,
        min_sample_count=min_query_count * samples_per_query,
        qsl_rng_seed=s.qsl_rng_seed,
        sample_index_rng_seed=s.sample_index_rng_seed,
        schedule_rng_seed=s.schedule_rng_seed,
        accuracy_log_rng_seed=s.accuracy_log_rng_seed,
        accuracy_log_probability=s.accuracy_log_probability,
        accuracy_log_sampling_target=s.accuracy_log_sampling_target,
        print_timestamps=s.print_timestamps,
        performance_issue_unique=s.performance_issue_unique,
        performance_issue_same=s.performance_issue_same,
        performance_issue_same_index=s.performance_issue_same_index,
        performance_sample_count=performance_sample_count,
        accuracy_sample_count=accuracy_sample_count,
        sample_concatenate_permutation=s.sample_concatenate_permutation,
        use_token_latencies=s.use_token_latencies,
        ttft_latency_ns=s.ttft_latency,
        tpot_latency_ns=s.tpot_latency,
        infer_token_latencies=s.infer_token_latencies,
        token_latency_scaling_factor=s.token_latency_scaling_factor,
    )
    return eff, errors
