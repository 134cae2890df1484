"""The ``requested_*`` and ``effective_*`` detail-log keys, in the reference's order."""

from __future__ import annotations

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._config.settings import TestSettings

Entries = list[tuple[str, object]]

_SCENARIO_FIELDS: dict[TestScenario, tuple[str, ...]] = {
    TestScenario.SingleStream: (
        "single_stream_expected_latency_ns",
        "single_stream_target_latency_percentile",
    ),
    TestScenario.MultiStream: (
        "multi_stream_expected_latency_ns",
        "multi_stream_target_latency_percentile",
        "multi_stream_samples_per_query",
    ),
    TestScenario.Server: (
        "server_target_qps",
        "server_target_latency_ns",
        "server_target_latency_percentile",
        "server_coalesce_queries",
        "server_find_peak_qps_decimals_of_precision",
        "server_find_peak_qps_boundary_step_size",
        "server_max_async_queries",
        "server_num_issue_query_threads",
    ),
    TestScenario.Offline: ("offline_expected_qps",),
}

# The block both the requested_* and the effective_* keys list, in the same order.
_SEEDS_AND_ISSUE_MODES = (
    "qsl_rng_seed",
    "sample_index_rng_seed",
    "schedule_rng_seed",
    "accuracy_log_rng_seed",
    "accuracy_log_probability",
    "accuracy_log_sampling_target",
    "print_timestamps",
    "performance_issue_unique",
    "performance_issue_same",
    "performance_issue_same_index",
)

_GENERIC_FIELDS = (
    "min_duration_ms",
    "max_duration_ms",
    "min_query_count",
    "max_query_count",
    *_SEEDS_AND_ISSUE_MODES,
    "performance_sample_count_override",
    "accuracy_sample_count_override",
    "sample_concatenate_permutation",
)

# Fields the reference declares as C++ doubles: logged with C++ double formatting even when
# the value is whole (so 600.0 prints as 600, not 600.0).
_DOUBLE_FIELDS = frozenset(
    {
        "single_stream_expected_latency_ns",
        "single_stream_target_latency_percentile",
        "multi_stream_expected_latency_ns",
        "multi_stream_target_latency_percentile",
        "server_target_qps",
        "server_target_latency_percentile",
        "server_find_peak_qps_boundary_step_size",
        "offline_expected_qps",
        "accuracy_log_probability",
        "target_qps",
        "target_latency_percentile",
    }
)


def typed(field: str, value: object) -> object:
    """Coerce ``value`` to the C++ type the reference gives ``field`` (double, int or bool)."""
    if isinstance(value, bool):
        return value
    if field in _DOUBLE_FIELDS:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, int):
        return int(value)
    return value


def requested_entries(s: TestSettings) -> Entries:
    entries: Entries = [
        ("requested_scenario", s.scenario.name),
        ("requested_test_mode", s.mode.name),
    ]
    for field in _SCENARIO_FIELDS[s.scenario] + _GENERIC_FIELDS:
        entries.append((f"requested_{field}", typed(field, getattr(s, field))))
    if s.use_token_latencies:
        entries.append(("requested_use_token_latencies", True))
        if s.scenario is not TestScenario.Offline:
            entries.append(("requested_server_ttft_latency", int(s.ttft_latency)))
            entries.append(("requested_server_tpot_latency", int(s.tpot_latency)))
    return entries


_EFFECTIVE_FIELDS = (
    "samples_per_query",
    "target_qps",
    "target_latency_ns",
    "target_latency_percentile",
    "max_async_queries",
    "target_duration_ms",
    "min_duration_ms",
    "max_duration_ms",
    "min_query_count",
    "max_query_count",
    "min_sample_count",
    *_SEEDS_AND_ISSUE_MODES,
    "performance_sample_count",
    "accuracy_sample_count",
    "sample_concatenate_permutation",
)


def effective_entries(eff: EffectiveSettings) -> Entries:
    entries: Entries = [
        ("effective_scenario", eff.scenario.name),
        ("effective_test_mode", eff.mode.name),
    ]
    for field in _EFFECTIVE_FIELDS:
        entries.append((f"effective_{field}", typed(field, getattr(eff, field))))
    return entries
