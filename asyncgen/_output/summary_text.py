"""Renderers of a ``PerformanceSummary``: the summary file body and the detail log's results.

Lines and keys come out in the reference's order with its exact wording (typos included).
Doubles go through ``DoubleToString`` (``_fmt.fixed``) where the reference does so and are
streamed in C++ default format (``_fmt.cpp_double``) where it streams them directly.
"""

from __future__ import annotations

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._metrics.statistics import PERCENTILES, LatencyStats
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._output.fmt import cpp_double, fixed, summary_value

_RULE = "================================================"
_CONCAT_WARNING = (
    "WARNING: sample_concatenate_permutation was set to true. \n"
    "Generated samples per query might be different as the one in the setting.\n"
    "Check the generated_samples_per_query line in the detailed log for the real\n"
    "samples_per_query value"
)


def _pct1(percentile: float) -> str:
    return fixed(percentile * 100, 1)


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "NO"


def _value(rate: float | None) -> float:
    return 0.0 if rate is None else rate


def summary_lines(ps: PerformanceSummary) -> list[str]:
    """The ``mlperf_log_summary.txt`` body, line by line, without the warnings/errors footer.

    The file is ``"\\n".join(lines) + "\\n" + summary_footer(warnings, errors)``.
    """
    entries = [
        f"{_RULE}\nMLPerf Results Summary\n{_RULE}",
        f"SUT name : {ps.sut_name}",
        f"Scenario : {ps.scenario.name}",
        f"Mode     : {ps.mode.name}",
        *_headlines(ps),
        *_validity_lines(ps),
        *_early_stopping_lines(ps),
        f"\n{_RULE}\nAdditional Stats\n{_RULE}",
        *_additional_stats(ps),
        f"\n{_RULE}\nTest Parameters Used\n{_RULE}",
        *settings_summary_lines(ps.settings),
    ]
    return "\n".join(entries).split("\n")


def summary_footer(warnings: int, errors: int) -> str:
    """The text the reference appends when logging stops (counts cover the whole test)."""
    if warnings == 0:
        warning_text = "\nNo warnings encountered during test.\n"
    elif warnings == 1:
        warning_text = "\n1 warning encountered. See detailed log.\n"
    else:
        warning_text = f"\n{warnings} warnings encountered. See detailed log.\n"
    if errors == 0:
        error_text = "\nNo errors encountered during test.\n"
    elif errors == 1:
        error_text = "\n1 ERROR encountered. See detailed log.\n"
    else:
        error_text = f"\n{errors} ERRORS encountered. See detailed log.\n"
    return warning_text + error_text


def _headlines(ps: PerformanceSummary) -> list[str]:
    eff, rates = ps.settings, ps.rates
    pct = _pct1(ps.target_percentile)
    lines: list[str] = []
    match eff.scenario:
        case TestScenario.SingleStream:
            lines.append(f"{pct}th percentile latency (ns) : {ps.sample_latency.target_ns}")
        case TestScenario.MultiStream:
            target = ps.query_latency.target_ns if ps.query_latency else 0
            lines.append(f"{pct}th percentile latency (ns) : {target}")
        case TestScenario.Server:
            completed = _value(rates.completed_samples_per_second)
            lines.append(f"Completed samples per second    : {fixed(completed)}")
        case TestScenario.Offline:
            lines.append(f"Samples per second: {cpp_double(_value(rates.samples_per_second))}")
    if eff.use_token_latencies:
        match eff.scenario:
            case TestScenario.SingleStream | TestScenario.MultiStream:
                ttft = ps.first_token_latency.target_ns if ps.first_token_latency else 0
                lines.append(f"{pct}th first token percentile latency (ns) : {ttft}")
            case TestScenario.Offline:
                tokens = _value(rates.tokens_per_second)
                lines.append(f"Tokens per second: {cpp_double(tokens)}")
            case TestScenario.Server:
                tokens = _value(rates.completed_tokens_per_second)
                lines.append(f"Completed tokens per second: {fixed(tokens)}")
    if eff.infer_token_latencies:
        inferred = _value(rates.inferred_tokens_per_second)
        if eff.scenario is TestScenario.Offline:
            lines.append(f"Tokens per second (inferred): {cpp_double(inferred)}")
        elif eff.scenario is TestScenario.Server:
            lines.append(f"Completed tokens per second (inferred): {fixed(inferred)}")
    return lines


def _validity_lines(ps: PerformanceSummary) -> list[str]:
    lines = [f"Result is : {'VALID' if ps.valid else 'INVALID'}"]
    if ps.has_perf_constraints:
        lines.append(f"  Performance constraints satisfied : {_yes_no(ps.perf_constraints_met)}")
    lines += [
        f"  Min duration satisfied : {_yes_no(ps.min_duration_met)}",
        f"  Min queries satisfied : {_yes_no(ps.min_queries_met)}",
        f"  Early stopping satisfied: {_yes_no(ps.early_stopping_met)}",
    ]
    if not ps.valid:
        lines.append("Recommendations:")
        lines += [f" * {text}" for text in ps.recommendations]
    return lines


def _early_stopping_lines(ps: PerformanceSummary) -> list[str]:
    if ps.scenario is TestScenario.Offline:
        return []
    if not ps.settings.use_token_latencies:
        return ["Early Stopping Result:", ps.early_stopping_text]
    return [
        "TTFT Early Stopping Result:",
        ps.early_stopping_ttft_text,
        "TPOT Early Stopping Result:",
        ps.early_stopping_tpot_text,
    ]


def _percentile_lines(stats: LatencyStats | None, label: str) -> list[str]:
    stats = stats or LatencyStats()
    return [f"{fixed(p * 100)} {label}   : {stats.percentiles_ns[p]}" for p in PERCENTILES]


def _latency_block(stats: LatencyStats | None) -> list[str]:
    stats = stats or LatencyStats()
    return [
        f"Min latency (ns)                : {stats.min_ns}",
        f"Max latency (ns)                : {stats.max_ns}",
        f"Mean latency (ns)               : {stats.mean_ns}",
        *_percentile_lines(stats, "percentile latency (ns)"),
    ]


def _additional_stats(ps: PerformanceSummary) -> list[str]:
    rates, scenario = ps.rates, ps.scenario
    lines: list[str] = []
    if scenario is TestScenario.SingleStream:
        lines += [
            f"QPS w/ loadgen overhead         : {fixed(_value(rates.qps_with_loadgen_overhead))}",
            f"QPS w/o loadgen overhead        : "
            f"{fixed(_value(rates.qps_without_loadgen_overhead))}",
            "",
        ]
    elif scenario is TestScenario.Server:
        scheduled = _value(rates.scheduled_samples_per_second)
        lines.append(f"Scheduled samples per second : {fixed(scheduled)}")
    elif scenario is TestScenario.MultiStream:
        lines += ["Per-query latency:  ", *_latency_block(ps.query_latency)]
    if scenario is not TestScenario.MultiStream:
        lines += _latency_block(ps.sample_latency)
    if ps.settings.use_token_latencies:
        lines += _token_stats(ps)
    return lines


def _token_stats(ps: PerformanceSummary) -> list[str]:
    rates, scenario = ps.rates, ps.scenario
    lines = [""]
    if scenario is TestScenario.SingleStream:
        lines += [
            f"TPS w/ loadgen overhead         : {fixed(_value(rates.tps_with_loadgen_overhead))}",
            f"TPS w/o loadgen overhead        : "
            f"{fixed(_value(rates.tps_without_loadgen_overhead))}",
        ]
    elif scenario is TestScenario.Server:
        completed = _value(rates.completed_tokens_per_second)
        lines.append(f"Completed tokens per second                 : {fixed(completed)}")
    if scenario is TestScenario.Offline:
        return lines
    ttft, tpot = ps.first_token_latency or LatencyStats(), ps.time_per_output_token
    tpot = tpot or LatencyStats()
    wide = " " * 16
    return [
        *lines,
        f"Min First Token latency (ns){wide}: {ttft.min_ns}",
        f"Max First Token latency (ns){wide}: {ttft.max_ns}",
        f"Mean First Token latency (ns){wide[1:]}: {ttft.mean_ns}",
        *_percentile_lines(ttft, "percentile first token latency (ns)"),
        "",
        f"Min Time per Output Token (ns){wide}: {tpot.min_ns}",
        f"Max Time per Output Token (ns){wide}: {tpot.max_ns}",
        f"Mean Time per Output Token (ns){wide[1:]}: {tpot.mean_ns}",
        *_percentile_lines(tpot, "percentile time to output token (ns)"),
    ]


def settings_summary_lines(eff: EffectiveSettings) -> list[str]:
    """The "Test Parameters Used" block (the reference's ``TestSettingsInternal::LogSummary``)."""
    if eff.use_token_latencies:
        latency = [
            f"ttft_latency (ns): {eff.ttft_latency_ns}",
            f"tpot_latency (ns): {eff.tpot_latency_ns}",
        ]
    else:
        latency = [f"target_latency (ns): {eff.target_latency_ns}"]
    pairs: list[tuple[str, object]] = [
        ("min_duration (ms): ", eff.min_duration_ms),
        ("max_duration (ms): ", eff.max_duration_ms),
        ("min_query_count : ", eff.min_query_count),
        ("max_query_count : ", eff.max_query_count),
        ("qsl_rng_seed : ", eff.qsl_rng_seed),
        ("sample_index_rng_seed : ", eff.sample_index_rng_seed),
        ("schedule_rng_seed : ", eff.schedule_rng_seed),
        ("accuracy_log_rng_seed : ", eff.accuracy_log_rng_seed),
        ("accuracy_log_probability : ", float(eff.accuracy_log_probability)),
        ("accuracy_log_sampling_target : ", eff.accuracy_log_sampling_target),
        ("print_timestamps : ", bool(eff.print_timestamps)),
        ("performance_issue_unique : ", bool(eff.performance_issue_unique)),
        ("performance_issue_same : ", bool(eff.performance_issue_same)),
        ("performance_issue_same_index : ", eff.performance_issue_same_index),
        ("performance_sample_count : ", eff.performance_sample_count),
        ("accuracy_sample_count : ", eff.accuracy_sample_count),
    ]
    lines = [
        f"samples_per_query : {eff.samples_per_query}",
        f"target_qps : {cpp_double(float(eff.target_qps))}",
        *latency,
        f"max_async_queries : {eff.max_async_queries}",
        *(label + summary_value(value) for label, value in pairs),
    ]
    if eff.sample_concatenate_permutation:
        lines += _CONCAT_WARNING.split("\n")
    return lines


def detail_result_entries(ps: PerformanceSummary) -> list[tuple[str, object]]:
    """The detail log's result keys in the reference's order, without the final
    ``num_errors``. Values are typed for ``_fmt.mllog_value``: doubles are floats."""
    eff, scenario = ps.settings, ps.scenario
    entries: list[tuple[str, object]] = [("result_validity", "VALID" if ps.valid else "INVALID")]
    if ps.has_perf_constraints:
        entries.append(("result_perf_constraints_met", ps.perf_constraints_met))
    entries += [
        ("result_min_duration_met", ps.min_duration_met),
        ("result_min_queries_met", ps.min_queries_met),
        ("early_stopping_met", ps.early_stopping_met),
    ]
    if not ps.valid:
        entries.append(("result_invalid_reason", ps.invalid_reason))
    if eff.use_token_latencies:
        entries += [
            ("early_stopping_ttft_result", ps.early_stopping_ttft_text.replace("\n", " ")),
            ("early_stopping_tpot_result", ps.early_stopping_tpot_text.replace("\n", " ")),
        ]
    else:
        entries.append(("early_stopping_result", ps.early_stopping_text.replace("\n", " ")))
    entries.append(("result_query_count", ps.query_count))
    if scenario is TestScenario.Server:
        entries.append(("result_overlatency_query_count", ps.overlatency_query_count))
    entries += _scenario_entries(ps)
    entries += _latency_entries(ps.sample_latency, "result_{}_percentile_latency_ns", "")
    if eff.use_token_latencies:
        entries += _token_entries(ps)
    if eff.infer_token_latencies and scenario is TestScenario.Server:
        inferred = _value(ps.rates.inferred_tokens_per_second)
        entries.append(("result_inferred_completed_tokens_per_second", inferred))
    elif eff.infer_token_latencies and scenario is TestScenario.Offline:
        entries.append(
            ("result_inferred_tokens_per_second", _value(ps.rates.inferred_tokens_per_second))
        )
    return entries


def _latency_entries(
    stats: LatencyStats | None, percentile_key: str, kind: str
) -> list[tuple[str, object]]:
    """min/max/mean then the six percentiles; ``kind`` is "" or "query_"."""
    stats = stats or LatencyStats()
    return [
        (f"result_min_{kind}latency_ns", stats.min_ns),
        (f"result_max_{kind}latency_ns", stats.max_ns),
        (f"result_mean_{kind}latency_ns", stats.mean_ns),
        *((percentile_key.format(fixed(p * 100)), stats.percentiles_ns[p]) for p in PERCENTILES),
    ]


def _scenario_entries(ps: PerformanceSummary) -> list[tuple[str, object]]:
    rates = ps.rates
    match ps.scenario:
        case TestScenario.SingleStream:
            return [
                ("result_qps_with_loadgen_overhead", _value(rates.qps_with_loadgen_overhead)),
                ("result_qps_without_loadgen_overhead", _value(rates.qps_without_loadgen_overhead)),
                ("early_stopping_latency_ss", ps.early_stopping_latency_ss),
                ("early_stopping_latency_ms", ps.early_stopping_latency_ms),
            ]
        case TestScenario.MultiStream:
            return [
                *_latency_entries(
                    ps.query_latency, "result_{}_percentile_per_query_latency_ns", "query_"
                ),
                ("early_stopping_latency_ms", ps.early_stopping_latency_ms),
            ]
        case TestScenario.Server:
            return [
                ("result_scheduled_samples_per_sec", _value(rates.scheduled_samples_per_second)),
                ("result_completed_samples_per_sec", _value(rates.completed_samples_per_second)),
            ]
    return [("result_samples_per_second", _value(rates.samples_per_second))]


def _token_entries(ps: PerformanceSummary) -> list[tuple[str, object]]:
    rates = ps.rates
    if ps.scenario is TestScenario.Offline:
        return [("result_tokens_per_second", _value(rates.tokens_per_second))]
    ttft = ps.first_token_latency or LatencyStats()
    tpot = ps.time_per_output_token or LatencyStats()
    return [
        ("result_first_token_min_latency_ns", ttft.min_ns),
        ("result_first_token_max_latency_ns", ttft.max_ns),
        ("result_first_token_mean_latency_ns", ttft.mean_ns),
        *(
            (f"result_first_token_{fixed(p * 100)}_percentile_latency_ns", ttft.percentiles_ns[p])
            for p in PERCENTILES
        ),
        ("result_token_throughput_with_loadgen_overhead", _value(rates.tps_with_loadgen_overhead)),
        ("result_token_throughput", _value(rates.token_throughput_per_ns)),
        *(
            (f"result_time_per_output_token_{fixed(p * 100)}_percentile_ns", tpot.percentiles_ns[p])
            for p in PERCENTILES
        ),
        ("result_time_to_output_token_min", tpot.min_ns),  # sic: "time_to"
        ("result_time_to_output_token_max", tpot.max_ns),
        ("result_time_to_output_token_mean", tpot.mean_ns),
        ("result_completed_tokens_per_second", _value(rates.completed_tokens_per_second)),
    ]
