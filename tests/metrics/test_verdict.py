"""Statistics, validity, texts and rendering of a performance series (asyncgen._metrics.verdict).

Unit tests pin each rule on small hand-made inputs; the golden tests at the end rebuild the
measurements of every captured reference run and compare our summary file and detail-log
result keys with the reference's, line for line.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from asyncgen._config.effective import EffectiveSettings, effective_settings
from asyncgen._metrics import early_stopping as es
from asyncgen._metrics.measurements import PerformanceResult
from asyncgen._metrics.statistics import PERCENTILES, cpp_mean, latency_stats, percentile_index
from asyncgen._metrics.verdict import min_duration_met, perf_constraints_met, summarize
from asyncgen._output.fmt import fixed, mllog_value
from asyncgen._output.summary_text import detail_result_entries, summary_footer, summary_lines
from asyncgen.settings import TestMode, TestScenario, TestSettings

I64 = np.int64


def arr(values: object) -> np.ndarray:
    return np.asarray(values, dtype=I64)


def make_eff(scenario: TestScenario, **overrides: Any) -> EffectiveSettings:
    settings = TestSettings(scenario=scenario, **overrides)
    eff, errors = effective_settings(settings, 16, 64)
    assert not errors
    return eff


def make_pr(latencies: object, **fields: Any) -> PerformanceResult:
    lat = arr(latencies)
    defaults: dict[str, Any] = {
        "queries_issued": int(lat.size),
        "max_latency_s": float(lat.max()) / 1e9 if lat.size else 0.0,
        "final_query_scheduled_s": 20.0,
        "final_query_issued_s": 20.0,
        "final_query_all_samples_done_s": 20.0,
    }
    defaults.update(fields)
    return PerformanceResult(sample_latencies=lat, **defaults)


# ----------------------------------------------------------------------------- statistics


def test_percentile_index_truncates_the_double_product() -> None:
    assert percentile_index(905, 0.9) == 814
    assert percentile_index(1000, 0.999) == 999
    assert percentile_index(100, 0.29) == 28  # 100 * 0.29 == 28.999999999999996
    assert percentile_index(0, 0.5) == 0


def test_cpp_mean_truncates_and_divides_as_unsigned() -> None:
    assert cpp_mean(10, 3) == 3
    assert cpp_mean(11, 4) == 2
    # int64 / size_t: a negative sum converts to unsigned first, as in C++.
    assert cpp_mean(-7, 2) == (2**64 - 7) // 2
    assert cpp_mean(123, 0) == 0  # undefined in the reference; 0 here


def test_latency_stats_uses_sorted_index_rule_and_truncated_mean() -> None:
    values = np.sort(arr([5, 1, 9, 3, 7, 2, 8, 4, 6, 10]))
    stats = latency_stats(values, 10, 0.9)
    assert (stats.min_ns, stats.max_ns, stats.mean_ns) == (1, 10, 5)  # 55 / 10 truncated
    assert stats.target_ns == 10  # sorted[int(10 * 0.9)] = sorted[9]
    assert stats.percentiles_ns == {0.5: 6, 0.9: 10, 0.95: 10, 0.97: 10, 0.99: 10, 0.999: 10}
    assert latency_stats(arr([]), 0, 0.9).percentiles_ns == dict.fromkeys(PERCENTILES, 0)


def test_summary_statistics_single_stream() -> None:
    lat = np.arange(1, 1001, dtype=I64)[::-1] * 1000  # unsorted input
    ps = summarize(make_eff(TestScenario.SingleStream), make_pr(lat), "sut")
    assert ps.sample_count == ps.query_count == 1000
    s = ps.sample_latency
    assert (s.min_ns, s.max_ns, s.mean_ns) == (1000, 1_000_000, 500_500)
    assert s.target_ns == 901_000  # sorted[900]
    assert s.percentiles_ns[0.999] == 1_000_000
    assert ps.query_latency is None and ps.first_token_latency is None


def test_multistream_per_query_statistics_divide_by_queries_issued() -> None:
    eff = make_eff(TestScenario.MultiStream, multi_stream_samples_per_query=2)
    queries = arr([40, 10, 30, 20])
    pr = make_pr(np.repeat(queries, 2), queries_issued=4, query_latencies=queries)
    ps = summarize(eff, pr, "sut")
    assert ps.sample_count == 8 and ps.query_count == 4
    q = ps.query_latency
    assert q is not None
    assert (q.min_ns, q.max_ns, q.mean_ns, q.target_ns) == (10, 40, 25, 40)
    assert q.percentiles_ns[0.5] == 30  # sorted[int(4 * 0.5)]


def test_server_overlatency_count_is_strictly_greater_than_target() -> None:
    eff = make_eff(TestScenario.Server, server_target_latency_ns=100)
    ps = summarize(eff, make_pr([99, 100, 101, 500]), "sut")
    assert ps.overlatency_query_count == 2


def test_token_statistics_divide_by_sample_count_and_skip_invalid_token_counts() -> None:
    eff = make_eff(TestScenario.SingleStream, use_token_latencies=True)
    pr = make_pr(
        [100, 200, 300, 400],
        first_token_latencies=arr([10, 40, 30]),  # one short: the mean still divides by 4
        time_per_output_token=arr([9, 7, 5, 3]),
        tokens_per_sample=arr([3, -(2**63), 4, 5]),
    )
    ps = summarize(eff, pr, "sut")
    assert ps.token_count == 12
    ft, tpot = ps.first_token_latency, ps.time_per_output_token
    assert ft is not None and tpot is not None
    assert (ft.min_ns, ft.max_ns, ft.mean_ns) == (10, 40, 20)  # 80 // 4
    assert ft.percentiles_ns[0.5] == 40  # index int(4 * 0.5) = 2 of the 3 sorted values
    assert ft.percentiles_ns[0.9] == 40  # index 3 is past the end: clamped, not a crash
    assert (tpot.min_ns, tpot.max_ns, tpot.mean_ns) == (3, 9, 6)


def test_token_statistics_stay_zero_without_first_tokens() -> None:
    # The reference skips all token statistics when no first token was recorded.
    eff = make_eff(TestScenario.Server, use_token_latencies=True)
    pr = make_pr([1, 2], time_per_output_token=arr([5, 6]), tokens_per_sample=arr([0, 0]))
    ps = summarize(eff, pr, "sut")
    assert ps.first_token_latency == ps.time_per_output_token
    assert ps.time_per_output_token is not None and ps.time_per_output_token.max_ns == 0


# ----------------------------------------------------------------------------- rates


def test_single_stream_rates() -> None:
    eff = make_eff(TestScenario.SingleStream, use_token_latencies=True)
    pr = make_pr(
        [1_000_000] * 5,
        final_query_issued_s=0.004,
        final_query_all_samples_done_s=0.005,
        first_token_latencies=arr([1] * 5),
        time_per_output_token=arr([1] * 5),
        tokens_per_sample=arr([3] * 5),
    )
    r = summarize(eff, pr, "sut").rates
    assert r.qps_with_loadgen_overhead == 4 / 0.004
    assert r.qps_without_loadgen_overhead == 1 / (1_000_000 / 1e9)
    assert r.tps_with_loadgen_overhead == 15 / 0.004
    assert r.tps_without_loadgen_overhead == 15 / ((1_000_000 / 1e9) * 5)
    assert r.token_throughput_per_ns == 15 / 5_000_000  # the reference's tokens per ns
    assert r.completed_tokens_per_second == 15 / 0.005


def test_server_and_offline_rates() -> None:
    server = summarize(
        make_eff(TestScenario.Server),
        make_pr([1, 2, 3], final_query_scheduled_s=0.5, final_query_all_samples_done_s=0.8),
        "sut",
    ).rates
    assert server.scheduled_samples_per_second == 2 / 0.5  # n - 1
    assert server.completed_samples_per_second == 2 / 0.8
    offline_eff = make_eff(TestScenario.Offline, infer_token_latencies=True)
    offline_eff = attrs.evolve(offline_eff, token_latency_scaling_factor=7)
    offline = summarize(offline_eff, make_pr([5, 2_000_000_000]), "sut").rates
    assert offline.samples_per_second == 2 / 2.0
    assert offline.inferred_tokens_per_second == 7 * 2 / 2.0


def test_rates_with_zero_durations_are_zero_not_errors() -> None:
    pr = make_pr([], queries_issued=0, final_query_issued_s=0.0, final_query_scheduled_s=0.0)
    for scenario in TestScenario:
        ps = summarize(make_eff(scenario), pr, "sut")
        values = [v for v in attrs.astuple(ps.rates) if v is not None]
        assert all(v == 0.0 for v in values)
        assert values or scenario is TestScenario.MultiStream  # MultiStream reports no rate


# ----------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("scenario", "field", "recommendation"),
    [
        (
            TestScenario.SingleStream,
            "final_query_issued_s",
            "Decrease the expected latency so the loadgen pre-generates more queries.",
        ),
        (
            TestScenario.MultiStream,
            "final_query_issued_s",
            "Decrease the expected latency so the loadgen pre-generates more queries.",
        ),
        (
            TestScenario.Server,
            "final_query_scheduled_s",
            "Increase the target QPS so the loadgen pre-generates more queries.",
        ),
        (
            TestScenario.Offline,
            "max_latency_s",
            "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query.",
        ),
    ],
)
def test_min_duration_uses_the_scenarios_time(
    scenario: TestScenario, field: str, recommendation: str
) -> None:
    eff = make_eff(scenario, min_duration_ms=1500)
    fields = dict.fromkeys(
        ["final_query_issued_s", "final_query_scheduled_s", "max_latency_s"], 100.0
    )
    assert min_duration_met(eff, make_pr([1], **{**fields, field: 1.5})) == (True, "")
    assert min_duration_met(eff, make_pr([1], **{**fields, field: 1.4999})) == (
        False,
        recommendation,
    )


def test_min_queries_needs_both_queries_and_samples() -> None:
    eff = make_eff(TestScenario.MultiStream, min_query_count=2, multi_stream_samples_per_query=4)
    full = make_pr([1] * 8, queries_issued=2, query_latencies=arr([1, 1]))
    short = make_pr([1] * 7, queries_issued=2, query_latencies=arr([1, 1]))
    assert summarize(eff, full, "s").min_queries_met
    ps = summarize(eff, short, "s")
    assert not ps.min_queries_met and not ps.valid
    assert ps.recommendations[-1] == (
        "The test exited early, before enough queries were issued.\n"
        "   See the detailed log for why this may have occurred."
    )
    assert ps.invalid_reason.endswith("The test exited early, before enough queries were issued.")


def test_server_perf_constraint_is_inclusive() -> None:
    eff = make_eff(TestScenario.Server, server_target_latency_ns=100)
    lat = [50] * 99 + [100]  # sorted[int(100 * 0.99)] = 100 == target: met
    assert perf_constraints_met(eff, make_pr(lat)) == (True, "")
    over = [50] * 99 + [101]
    assert perf_constraints_met(eff, make_pr(over)) == (
        False,
        "Reduce target QPS to improve latency.",
    )
    assert perf_constraints_met(make_eff(TestScenario.Offline), make_pr(over)) == (True, "")


def test_token_perf_constraints_combine_both_texts() -> None:
    eff = make_eff(TestScenario.Server, use_token_latencies=True, ttft_latency=10, tpot_latency=5)
    pr = make_pr(
        [100] * 4,
        first_token_latencies=arr([11] * 4),
        time_per_output_token=arr([6] * 4),
        tokens_per_sample=arr([3] * 4),
    )
    met, text = perf_constraints_met(eff, pr)
    assert not met
    assert text == (
        "TTFT constrain not met: Reduce target QPS to improve latency.\n"
        " * TPOT constrain not met: Reduce target QPS to improve latency."
    )
    only_tpot = attrs.evolve(pr, first_token_latencies=arr([10] * 4))
    assert perf_constraints_met(eff, only_tpot) == (
        False,
        "TPOT constrain not met: Reduce target QPS to improve latency.",
    )


def test_invalid_reason_joins_recommendations_with_spaces() -> None:
    eff = make_eff(TestScenario.Server, server_target_latency_ns=10, min_query_count=1000)
    pr = make_pr([50] * 500, final_query_scheduled_s=1.0)
    ps = summarize(eff, pr, "sut")
    assert not ps.perf_constraints_met and not ps.min_duration_met and not ps.min_queries_met
    assert ps.invalid_reason == (
        "Reduce target QPS to improve latency. "
        "Increase the target QPS so the loadgen pre-generates more queries. "
        "The test exited early, before enough queries were issued."
    )
    assert len(ps.recommendations) == 3


def test_early_stopping_failure_alone_gives_a_bare_recommendations_header() -> None:
    eff = make_eff(TestScenario.Server, server_target_latency_ns=10, min_query_count=1)
    lat = [1] * 100 + [50]  # p99 = sorted[int(101 * 0.99)] = sorted[99] = 1: perf is met
    ps = summarize(eff, make_pr(lat, final_query_scheduled_s=20.0), "sut")
    assert ps.perf_constraints_met and not ps.early_stopping_met
    lines = summary_lines(ps)
    header = lines.index("Recommendations:")
    assert lines[header + 1] == "Early Stopping Result:"
    assert ps.invalid_reason == ""


def test_token_mode_early_stopping_checks_tpot_first_and_may_skip_ttft() -> None:
    eff = make_eff(TestScenario.Server, use_token_latencies=True, tpot_latency=5, min_query_count=1)
    pr = make_pr(
        [100] * 500,
        first_token_latencies=arr([1] * 500),
        time_per_output_token=arr([1] * 497 + [9] * 3),
        tokens_per_sample=arr([3] * 500),
    )
    ps = summarize(eff, pr, "sut")
    assert not ps.early_stopping_met
    assert ps.early_stopping_tpot_text.startswith(" * Run unsuccessful.")
    assert ps.early_stopping_ttft_text == ""  # never evaluated, as in the reference
    lines = summary_lines(ps)
    i = lines.index("TTFT Early Stopping Result:")
    assert lines[i + 1 : i + 3] == ["", "TPOT Early Stopping Result:"]


def test_single_stream_token_mode_reports_the_ttft_estimates() -> None:
    eff = make_eff(TestScenario.SingleStream, use_token_latencies=True)
    n = 700
    ttft = np.arange(n, dtype=I64) + 1000
    tpot = np.arange(n, dtype=I64) + 10
    pr = make_pr(
        np.arange(n) + 5000,
        first_token_latencies=ttft[::-1].copy(),
        time_per_output_token=tpot[::-1].copy(),
        tokens_per_sample=arr([3] * n),
    )
    ps = summarize(eff, pr, "sut")
    t90 = es.queries_to_discard(n, 0.9, es.MinPassingQueriesFinder())[1]
    t99 = es.queries_to_discard(n, 0.99, es.MinPassingQueriesFinder())[1]
    assert t90 is not None and t99 is not None
    assert ps.early_stopping_latency_ss == ttft[n - t90]
    assert ps.early_stopping_latency_ms == ttft[n - t99]
    assert f"estimate: {tpot[n - t90]}" in ps.early_stopping_tpot_text
    assert ps.early_stopping_text == ""


def test_multistream_token_mode_uses_query_latencies_for_both_texts() -> None:
    eff = make_eff(
        TestScenario.MultiStream, use_token_latencies=True, multi_stream_samples_per_query=1
    )
    q = np.arange(700, dtype=I64) + 10
    pr = make_pr(
        q,
        query_latencies=q,
        first_token_latencies=q // 2,
        time_per_output_token=q // 3,
        tokens_per_sample=arr([2] * 700),
    )
    ps = summarize(eff, pr, "sut")
    assert ps.early_stopping_ttft_text == ps.early_stopping_tpot_text
    assert ps.early_stopping_ttft_text.endswith(f"estimate: {ps.early_stopping_latency_ms}")
    assert ps.early_stopping_latency_ms in q


def test_empty_measurements_never_crash_and_are_invalid() -> None:
    empty = make_pr([], queries_issued=700, final_query_issued_s=0.0)
    for scenario in TestScenario:
        for token in (False, True):
            eff = make_eff(scenario, use_token_latencies=token, min_query_count=1)
            ps = summarize(eff, empty, "sut")
            assert not ps.valid
            assert ps.sample_count == 0 and ps.query_count == 0
            assert summary_lines(ps) and detail_result_entries(ps)


def test_bad_percentile_does_not_crash_early_stopping() -> None:
    eff = make_eff(TestScenario.SingleStream, single_stream_target_latency_percentile=1.0)
    ps = summarize(eff, make_pr(range(1, 101)), "sut")
    assert not ps.early_stopping_met
    assert ps.sample_latency.target_ns == 100  # index 100 clamped to the last sample


# ----------------------------------------------------------------------------- rendering


def test_summary_footer_variants() -> None:
    assert summary_footer(0, 0) == (
        "\nNo warnings encountered during test.\n\nNo errors encountered during test.\n"
    )
    assert summary_footer(1, 1) == (
        "\n1 warning encountered. See detailed log.\n\n1 ERROR encountered. See detailed log.\n"
    )
    assert summary_footer(3, 88) == (
        "\n3 warnings encountered. See detailed log.\n\n88 ERRORS encountered. See detailed log.\n"
    )


def test_offline_summary_has_no_early_stopping_block_and_streams_qps() -> None:
    eff = make_eff(TestScenario.Offline, offline_expected_qps=1000, min_duration_ms=1000)
    pr = make_pr([1_204_446_097] * 1100, queries_issued=1)
    lines = summary_lines(summarize(eff, pr, "PySUT"))
    assert "Samples per second: 913.283" in lines
    assert not any("Early Stopping" in line for line in lines)
    assert lines[lines.index("Additional Stats") + 2].startswith("Min latency (ns)")


def test_multistream_summary_prints_per_query_block_only() -> None:
    eff = make_eff(TestScenario.MultiStream, multi_stream_samples_per_query=1)
    q = np.arange(1, 701, dtype=I64)
    lines = summary_lines(summarize(eff, make_pr(q, query_latencies=q), "sut"))
    i = lines.index("Per-query latency:  ")  # two trailing spaces, sic
    assert lines[i + 1] == "Min latency (ns)                : 1"
    assert sum(line.startswith("Min latency") for line in lines) == 1


def test_concatenate_permutation_warning_ends_the_parameters() -> None:
    eff = make_eff(TestScenario.SingleStream, sample_concatenate_permutation=True)
    lines = summary_lines(summarize(eff, make_pr([1, 2, 3]), "sut"))
    assert lines[-4:] == [
        "WARNING: sample_concatenate_permutation was set to true. ",
        "Generated samples per query might be different as the one in the setting.",
        "Check the generated_samples_per_query line in the detailed log for the real",
        "samples_per_query value",
    ]


def test_detail_entries_types_follow_the_reference() -> None:
    eff = make_eff(TestScenario.SingleStream)
    entries = dict(detail_result_entries(summarize(eff, make_pr(range(1, 101)), "sut")))
    assert isinstance(entries["result_qps_with_loadgen_overhead"], float)
    assert type(entries["result_query_count"]) is int
    assert entries["result_min_duration_met"] is True
    assert "num_errors" not in entries


# ----------------------------------------------------------------------------- golden
#
# The captured reference runs (shared/reference/loadgen-logs) keep only the first ~1,300
# trace events, so the full latency arrays are gone. The summary and detail log still give
# every order statistic the reference printed: min, max, truncated mean and the percentile
# values, each at a known index of the sorted array. We rebuild sorted arrays that have
# exactly those values at those indices and the same truncated mean (the other entries are
# free), place the early-stopping estimates at the index our early stopping computes (a
# wrong discard count lands on another index and breaks the text or the statistics), derive
# the run's times from the printed rates, and require our summary file and detail result
# keys to equal the reference's, byte for byte.

REFERENCE_LOGS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "loadgen-logs"
PREFIX = ":::MLLOG "
FIRST_RESULT_KEY = "result_validity"
TRUNCATED_DETAIL = {"misc/error_duplicate_completion"}  # see the folder's README


def read_detail(path: Path) -> list[tuple[str, str, Any]]:
    """(key, raw value text, parsed value) for every line of a detail log."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.startswith(PREFIX):
            continue
        body = line[len(PREFIX) :]
        record = json.loads(body)
        raw = body[body.index('"value": ') + len('"value": ') : body.rindex(', "time_ms": ')]
        entries.append((record["key"], raw, record["value"]))
    return entries


EFFECTIVE_FIELDS = (
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
    "performance_sample_count",
    "accuracy_sample_count",
    "sample_concatenate_permutation",
)


def eff_from_detail(detail: dict[str, Any]) -> EffectiveSettings:
    def e(key: str) -> object:
        return detail[f"effective_{key}"]

    eff = EffectiveSettings(
        requested=TestSettings(),
        scenario=TestScenario[str(e("scenario"))],
        mode=TestMode[str(e("test_mode"))],
        **{name: e(name) for name in EFFECTIVE_FIELDS},
        use_token_latencies=bool(detail.get("requested_use_token_latencies", False)),
        ttft_latency_ns=int(detail.get("requested_server_ttft_latency", 100_000_000)),
        tpot_latency_ns=int(detail.get("requested_server_tpot_latency", 100_000_000)),
        infer_token_latencies=False,
        token_latency_scaling_factor=0,
    )
    return attrs.evolve(eff, target_qps=float(eff.target_qps))


def synthetic_sorted(n: int, fixed: dict[int, int], mean: int) -> np.ndarray:
    """An ascending array of ``n`` values with ``fixed`` entries and truncated mean ``mean``."""
    assert 0 in fixed and n - 1 in fixed
    idx = sorted(fixed)
    values = [fixed[i] for i in idx]
    assert values == sorted(values), fixed
    out = np.zeros(n, dtype=I64)
    need = mean * n - sum(values)
    gaps = []
    for a, b in itertools.pairwise(idx):
        out[a] = fixed[a]
        k = b - a - 1
        out[a + 1 : b] = fixed[a]
        need -= k * fixed[a]
        gaps.append((a + 1, k, fixed[b] - fixed[a]))
    out[n - 1] = fixed[n - 1]
    assert need >= 0, "the reported mean is below what the fixed values allow"
    for start, k, room in gaps:
        extra = min(need, k * room)
        q, r = divmod(extra, k) if k else (0, 0)
        out[start : start + k] += q
        if r:
            out[start + k - r : start + k] += 1
        need -= extra
    assert need == 0, "the reported mean is above what the fixed values allow"
    assert cpp_mean(int(out.sum()), n) == mean
    return out


def reported_stats(detail: dict[str, Any], prefix: str, mid: str, suffix: str) -> dict:
    """min/max/mean/percentiles printed under one naming scheme of the detail log."""
    keys = {
        "min": f"{prefix}min{mid}{suffix}",
        "max": f"{prefix}max{mid}{suffix}",
        "mean": f"{prefix}mean{mid}{suffix}",
    }
    return {name: detail[key] for name, key in keys.items()}


def order_statistics(
    n: int, stats: dict, percentile_values: dict[float, int], extra: dict[int, int]
) -> np.ndarray:
    fixed = {0: stats["min"], n - 1: stats["max"]}
    for p, value in percentile_values.items():
        fixed[percentile_index(n, p)] = value
    for index, value in extra.items():
        assert fixed.get(index, value) == value, (index, value, fixed[index])
        fixed[index] = value
    return synthetic_sorted(n, fixed, stats["mean"])


def percentile_values(detail: dict[str, Any], pattern: str) -> dict[float, int]:
    return {p: int(detail[pattern.format(fixed(p * 100))]) for p in PERCENTILES}


def estimates_in(text: str) -> list[int]:
    return [int(v) for v in re.findall(r"estimate: (\d+)", text)]


def closed_loop_extra(n: int, percentile: float, estimates: list[int]) -> dict[int, int]:
    """Where our early stopping reads its estimates: index n - t of the sorted array."""
    extra = {}
    for p, value in zip((percentile, es.MULTI_STREAM_PERCENTILE), estimates, strict=False):
        _, t = es.queries_to_discard(n, p, es.MinPassingQueriesFinder())
        assert t is not None
        extra[n - t] = value
    return extra


def section(summary: str, title: str) -> str:
    """The early-stopping text printed after ``title`` in the reference summary."""
    after = summary.split(title + "\n", 1)[1]
    return after.split("\n================================================", 1)[0]


@attrs.frozen
class Golden:
    folder: str
    summary: str
    detail: list[tuple[str, str, Any]]

    @property
    def values(self) -> dict[str, Any]:
        return {k: v for k, _, v in self.detail}

    @property
    def warnings(self) -> int:
        if self.folder in TRUNCATED_DETAIL:  # the middle of the log was cut: read the footer
            found = re.findall(r"^(\d+) warnings? encountered", self.summary, re.MULTILINE)
            return int(found[0]) if found else 0
        return sum(1 for line in self._lines() if '"is_warning": true' in line)

    def _lines(self) -> list[str]:
        return (REFERENCE_LOGS / self.folder / "mlperf_log_detail.txt").read_text().splitlines()


def load_golden(folder: str) -> Golden:
    path = REFERENCE_LOGS / folder
    return Golden(
        folder,
        (path / "mlperf_log_summary.txt").read_text(),
        read_detail(path / "mlperf_log_detail.txt"),
    )


def token_arrays(g: Golden, eff: EffectiveSettings, n: int) -> dict[str, np.ndarray]:
    d = g.values
    if g.folder == "misc/token_misuse_errors":
        # n_tokens=1 and no FirstTokenComplete: no first tokens, zero token counts, and TPOT
        # values the reference read out of bounds. Only their count over the TPOT bound
        # shows in the output: find it from "Would need to run at least N more queries".
        more = int(re.findall(r"at least (\d+) more", g.summary)[0])
        finder = es.MinPassingQueriesFinder()
        over = next(t for t in range(n) if finder(t, eff.target_latency_percentile) + t == more + n)
        tpot = np.zeros(n, dtype=I64)
        tpot[:over] = eff.tpot_latency_ns + 1
        return {"tokens_per_sample": np.zeros(n, dtype=I64), "time_per_output_token": tpot}
    if eff.scenario is TestScenario.Offline:
        return {"tokens_per_sample": np.full(n, 3, dtype=I64)}  # the harness sent 3 tokens
    ft_stats = reported_stats(d, "result_first_token_", "_latency_ns", "")
    tpot_stats = {name: d[f"result_time_to_output_token_{name}"] for name in ("min", "max", "mean")}
    ft_extra: dict[int, int] = {}
    tpot_extra: dict[int, int] = {}
    if eff.scenario is TestScenario.SingleStream:
        pct = eff.target_latency_percentile
        ttft_text = section(g.summary, "TTFT Early Stopping Result:")
        tpot_text = section(g.summary, "TPOT Early Stopping Result:")
        ft_extra = closed_loop_extra(n, pct, estimates_in(ttft_text))
        tpot_extra = closed_loop_extra(n, pct, estimates_in(tpot_text))
    return {
        "first_token_latencies": order_statistics(
            n,
            ft_stats,
            percentile_values(d, "result_first_token_{}_percentile_latency_ns"),
            ft_extra,
        ),
        "time_per_output_token": order_statistics(
            n,
            tpot_stats,
            percentile_values(d, "result_time_per_output_token_{}_percentile_ns"),
            tpot_extra,
        ),
        "tokens_per_sample": np.full(n, 3, dtype=I64),
    }


def sample_count(g: Golden, eff: EffectiveSettings) -> int:
    d = g.values
    if eff.scenario is TestScenario.Offline:
        return int(d["generated_samples_per_query"])
    return int(d["result_query_count"]) * eff.samples_per_query


def reconstruct(g: Golden, eff: EffectiveSettings) -> PerformanceResult:
    d = g.values
    queries = int(d["result_query_count"])
    n = sample_count(g, eff)
    pct = eff.target_latency_percentile
    stats = reported_stats(d, "result_", "_latency_ns", "")
    extra: dict[int, int] = {}
    query_latencies = np.zeros(0, dtype=I64)
    if eff.scenario is TestScenario.SingleStream and not eff.use_token_latencies:
        extra = closed_loop_extra(
            n, pct, estimates_in(section(g.summary, "Early Stopping Result:"))
        )
    if eff.scenario is TestScenario.Server:
        over = int(d["result_overlatency_query_count"])
        if over:
            extra[n - over] = eff.target_latency_ns + 1
    if eff.scenario is TestScenario.MultiStream:
        q_stats = reported_stats(d, "result_", "_query_latency_ns", "")
        title = (
            "TTFT Early Stopping Result:" if eff.use_token_latencies else "Early Stopping Result:"
        )
        query_latencies = order_statistics(
            queries,
            q_stats,
            percentile_values(d, "result_{}_percentile_per_query_latency_ns"),
            closed_loop_extra(queries, pct, estimates_in(section(g.summary, title))),
        )
        samples = np.repeat(query_latencies, eff.samples_per_query)  # one completion per query
    else:
        samples = order_statistics(
            n, stats, percentile_values(d, "result_{}_percentile_latency_ns"), extra
        )
    tokens = token_arrays(g, eff, n) if eff.use_token_latencies else {}
    token_count = int(tokens["tokens_per_sample"].sum()) if tokens else 0
    times = run_times(g, eff, n, token_count, int(stats["max"]))
    return PerformanceResult(
        sample_latencies=samples,
        query_latencies=query_latencies,
        queries_issued=queries,
        **times,
        **tokens,
    )


# Where the summary prints a rate with two decimals, that is more precise than the detail
# log's six significant digits once the rate reaches 10,000.
SUMMARY_RATE_LABELS = {
    "result_qps_with_loadgen_overhead": "QPS w/ loadgen overhead         : ",
    "result_completed_samples_per_sec": "Completed samples per second    : ",
    "result_scheduled_samples_per_sec": "Scheduled samples per second : ",
    "result_token_throughput_with_loadgen_overhead": "TPS w/ loadgen overhead         : ",
}


def printed_rate(d: dict[str, Any], summary: str, key: str) -> float | None:
    rate = d.get(key)
    if not isinstance(rate, int | float):
        return None
    label = SUMMARY_RATE_LABELS.get(key)
    found = re.findall(re.escape(label) + r"([0-9.]+)", summary) if label else []
    return float(found[0]) if found and float(found[0]) >= 10_000 else float(rate)


def run_times(
    g: Golden, eff: EffectiveSettings, n: int, tokens: int, max_ns: int
) -> dict[str, float]:
    """The series' times, recovered from the rates the reference printed."""
    d = g.values

    def from_rate(count: float, key: str) -> float | None:
        rate = printed_rate(d, g.summary, key)
        return count / rate if rate and count else None

    min_duration_s = eff.min_duration_ms / 1000
    stand_in = min_duration_s * (1.01 if d["result_min_duration_met"] else 0.5)
    issued = (
        from_rate(n - 1, "result_qps_with_loadgen_overhead")
        or from_rate(tokens, "result_token_throughput_with_loadgen_overhead")
        or stand_in
    )
    done = (
        from_rate(n - 1, "result_completed_samples_per_sec")
        or from_rate(tokens, "result_completed_tokens_per_second")
        or stand_in
    )
    return {
        "max_latency_s": max_ns / 1e9,
        "final_query_scheduled_s": from_rate(n - 1, "result_scheduled_samples_per_sec") or stand_in,
        "final_query_issued_s": issued,
        "final_query_all_samples_done_s": done,
    }


def golden_folders() -> list[str]:
    if not REFERENCE_LOGS.is_dir():
        return []
    return sorted(
        str(p.parent.relative_to(REFERENCE_LOGS))
        for p in REFERENCE_LOGS.glob("*/*/mlperf_log_summary.txt")
        if "MLPerf Results Summary" in p.read_text()
    )


def golden_eff(g: Golden) -> EffectiveSettings:
    eff = eff_from_detail(g.values)
    peak = re.findall(r"Found peak performance field: ([0-9.]+)", g.summary + str(g.detail))
    if peak:  # FindPeakPerformance summarises the final lower bound's run
        eff = eff.with_target_qps(float(peak[-1]))
    return eff


@pytest.mark.skipif(not golden_folders(), reason="shared/reference/loadgen-logs not found")
@pytest.mark.parametrize("folder", golden_folders())
def test_golden_summary_and_detail(folder: str) -> None:
    g = load_golden(folder)
    eff = golden_eff(g)
    ps = summarize(eff, reconstruct(g, eff), "PySUT")
    errors = int(g.values["num_errors"])
    ours = "\n".join(summary_lines(ps)) + "\n" + summary_footer(g.warnings, errors)
    assert ours.splitlines() == g.summary.splitlines()
    assert ours == g.summary
    start = next(i for i, (k, _, _) in enumerate(g.detail) if k == FIRST_RESULT_KEY)
    reference = [(k, raw) for k, raw, _ in g.detail[start:] if k != "num_errors"]
    assert [(k, mllog_value(v)) for k, v in detail_result_entries(ps)] == reference


def test_golden_folders_cover_every_scenario_and_token_mode() -> None:
    folders = golden_folders()
    if not folders:
        pytest.skip("shared/reference/loadgen-logs not found")
    assert len(folders) >= 18
    assert {f.split("/")[0] for f in folders} >= {
        "SingleStream",
        "MultiStream",
        "Server",
        "Offline",
    }


def test_to_dict_is_json_ready() -> None:
    eff = make_eff(TestScenario.MultiStream, multi_stream_samples_per_query=1)
    q = np.arange(1, 701, dtype=I64)
    ps = summarize(eff, make_pr(q, query_latencies=q), "sut")
    data = json.loads(json.dumps(ps.to_dict()))
    assert data["scenario"] == "MultiStream" and data["valid"] is ps.valid
    assert data["query_latency"]["percentiles_ns"]["99.90"] == 700
    assert data["early_stopping"]["latency_ms"] == ps.early_stopping_latency_ms
    assert data["rates"]["samples_per_second"] is None
