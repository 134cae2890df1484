"""What the end-to-end comparison ignores, masks or rewrites, each with its reason.

Everything not listed here must be identical between the reference's files and ours.
"""

from __future__ import annotations

import re
from typing import Any

# -- detail log ----------------------------------------------------------------------------

# Lines that exist in only one implementation by design: (key, value prefix) -> reason.
REFERENCE_ONLY: dict[tuple[str, str], str] = {
    ("warning_generic_message", "Logging allocation detected:"): (
        "the reference's lock-free logger grew a thread's buffer; asyncgen has no per-thread "
        "log buffers. Appears at random."
    ),
    ("warning_generic_message", "CAS failed."): (
        "a compare-and-swap retry in the reference's lock-free logger under contention; "
        "asyncgen's writer has no such logger. Appears at random."
    ),
    ("error_runtime", "PerfClock and system_clock differ by more than 1%"): (
        "the reference compares two whole-millisecond durations of the same clock; on a short "
        "run a millisecond boundary between its two readings fakes a 2% drift. asyncgen has "
        "one clock and no such check."
    ),
    ("warning_generic_message", "PerfClock and system_clock differ by more than 0.1%"): (
        "as above, for the 0.1% threshold."
    ),
}
# asyncgen's own messages (drain deadline, failed samples, completions after the end of a
# series) reuse the reference's error_runtime key and never occur in these runs. Its reports on
# its own timing do, when the machine is busy: they say what the machine did, not the run.
OURS_ONLY: dict[tuple[str, str], str] = {
    ("generic_message", "arrival fidelity ("): (
        "asyncgen reports how closely a Server series' sent arrivals followed the Poisson "
        "process (the run's health, docs/conformance.md); the reference measures no such thing."
    ),
    ("warning_generic_message", "asyncgen's arrivals strayed from"): (
        "the same, when the fidelity was poor: a measurement."
    ),
    ("warning_generic_message", "The event loop stalled"): (
        "asyncgen's watchdog: the loop could not run for over 250 ms, which on a busy machine "
        "the operating system does to any process. The reference has no watchdog."
    ),
    ("warning_generic_message", "asyncgen fell behind its schedule"): (
        "asyncgen's health check of its own issue rate (docs/performance.md): a measurement."
    ),
    ("warning_generic_message", "asyncgen issued in bursts"): (
        "asyncgen's health check of its own issue lag: a measurement."
    ),
}

# Keys whose values are measured (time, clocks, the machine) or describe the build: only
# their position in the key sequence is compared.
MEASURED_KEYS = frozenset(
    {
        "loadgen_version",  # "6.0.17 @ <git sha>" vs "6.0.17 @ asyncgen-<version>": prefix checked
        "loadgen_build_date_local",
        "loadgen_build_date_utc",
        "loadgen_git_commit_date",
        "loadgen_git_log_message",
        "loadgen_git_status_message",
        "loadgen_file_sha1",
        "test_datetime",
        "get_sut_name_duration_ns",
        "power_begin",
        "power_end",
        # The reference's lock-free logger counters: usually 0, but they count real retries
        # under contention. asyncgen has no such logger and always logs 0.
        "logger_swap_request_slots_retry_count",
        "logger_swap_request_slots_retry_retry_count",
        "logger_swap_request_slots_retry_reencounter_count",
        "logger_start_reading_entries_retry_count",
        "logger_tls_total_log_cas_fail_count",
        "logger_tls_total_swap_buffers_slot_retry_count",
        "early_stopping_latency_ss",
        "early_stopping_latency_ms",
        "result_qps_with_loadgen_overhead",
        "result_qps_without_loadgen_overhead",
        "result_completed_samples_per_sec",
        "result_samples_per_second",
        "result_tokens_per_second",
        "result_completed_tokens_per_second",
        "result_token_throughput",
        "result_token_throughput_with_loadgen_overhead",
        "result_time_to_output_token_min",
        "result_time_to_output_token_max",
        "result_time_to_output_token_mean",
        "result_inferred_tokens_per_second",
        "result_inferred_completed_tokens_per_second",
    }
)
_MEASURED_PATTERN = re.compile(
    r"^result_(first_token_)?(min|max|mean|[\d.]+_percentile)_(per_query_)?latency_ns$"
    r"|^result_(min|max|mean)_query_latency_ns$"
    r"|^result_time_per_output_token_[\d.]+_percentile_ns$"
)
# Keys whose numbers depend on how many queries a closed loop managed to issue.
COUNT_KEYS = frozenset(
    {
        "result_query_count",
        "early_stopping_result",
        "early_stopping_ttft_result",
        "early_stopping_tpot_result",
    }
)
_ESTIMATE = re.compile(r"(percentile estimate: )\d+")
# Whether a closed loop processed enough queries for the 99th-percentile estimate is a count
# too: where the count is the machine's, both wordings stand for "the estimate, or not enough
# queries for one" (a busy machine's run that ends on max_duration has seen either).
_NOT_ENOUGH = re.compile(  # line breaks in the summary, spaces in the detail log
    r" \* Not enough queries processed for ([\d.]+)th percentile[\n ]"
    r" early stopping estimate \(would need to process at[\n ]"
    r" least \d+ total queries\)\."
)
_NOT_ENOUGH_AS = r" * Early stopping \1th percentile estimate: #"
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]\d+)?")


def is_measured(key: str) -> bool:
    return key in MEASURED_KEYS or _MEASURED_PATTERN.match(key) is not None


def _one_sided(key: str, value: Any, table: dict[tuple[str, str], str]) -> bool:
    return any(key == k and str(value).startswith(prefix) for k, prefix in table)


def comparable_detail(detail: list[list[Any]], *, ours: bool, exact: bool) -> list[tuple[Any, ...]]:
    """(key, value, is_error, is_warning) per line with one-sided keys dropped and values masked."""
    table = OURS_ONLY if ours else REFERENCE_ONLY
    lines = []
    for key, value, is_error, is_warning in detail:
        if _one_sided(key, value, table):
            continue
        lines.append((key, _masked_value(key, value, exact), is_error, is_warning))
    return lines


def _masked_value(key: str, value: Any, exact: bool) -> Any:
    if is_measured(key):
        return "<measured>"
    if not exact and key in COUNT_KEYS:
        return _NUMBER.sub("#", _NOT_ENOUGH.sub(_NOT_ENOUGH_AS, str(value)))
    if key in COUNT_KEYS:  # the early-stopping estimates are latencies
        return _ESTIMATE.sub(r"\g<1>#", str(value))
    if isinstance(value, str) and "Max test duration reached" in value:
        return _NUMBER.sub("#", value.split("duration_ns")[0]) + "duration_ns #"
    return value


# -- summary -------------------------------------------------------------------------------

# Lines whose value is a measurement: "<label> : <number>" with the number masked.
_MEASURED_LINE = re.compile(
    r"^(?P<label>("
    r"\d+\.\dth (first token )?percentile latency \(ns\)"
    r"|Completed (samples|tokens) per second( \(inferred\))?\s*"
    r"|(Samples|Tokens) per second( \(inferred\))?"
    r"|(QPS|TPS) w/o? loadgen overhead\s*"
    r"|(Min|Max|Mean) (First Token )?latency \(ns\)\s*"
    r"|[\d.]+ percentile (first token )?latency \(ns\)\s*"
    r"|(Min|Max|Mean) Time per Output Token \(ns\)\s*"
    r"|[\d.]+ percentile time to output token \(ns\)\s*"
    r"|\s\* Early stopping [\d.]+th percentile estimate"
    r")\s*:\s*)(?P<value>.*)$"
)
_COUNT_LINES = (
    re.compile(r"^( \* Processed at least \d+ queries \()\d+(\)\.)$"),
    re.compile(r"^( \* Would discard )\d+( highest latency queries\.)$"),
)
_WARNINGS_LINE = re.compile(
    r"^(No warnings encountered during test\.|\d+ warnings? encountered\. See detailed log\.)$"
)
_ERRORS_LINE = re.compile(
    r"^(No errors encountered during test\.|\d+ ERRORS? encountered\. See detailed log\.)$"
)


def footer_lines(warnings: int, errors: int) -> tuple[str, str]:
    """The summary's last two messages for these counts (the reference's wording)."""
    if warnings == 0:
        warning_line = "No warnings encountered during test."
    else:
        warning_line = (
            f"{warnings} warning{'s' if warnings > 1 else ''} encountered. See detailed log."
        )
    if errors == 0:
        error_line = "No errors encountered during test."
    else:
        error_line = f"{errors} ERROR{'S' if errors > 1 else ''} encountered. See detailed log."
    return warning_line, error_line


def comparable_summary(
    text: str, *, exact: bool, counts: tuple[int, int] | None = None
) -> list[str]:
    """Summary lines with measured numbers masked; ``counts`` rewrites the footer's counts."""
    footer = footer_lines(*counts) if counts is not None else None
    if not exact:
        text = _NOT_ENOUGH.sub(_NOT_ENOUGH_AS, text)
    return [_masked_line(line, exact, footer) for line in text.splitlines()]


def _masked_line(line: str, exact: bool, footer: tuple[str, str] | None) -> str:
    match = _MEASURED_LINE.match(line)
    if match:
        return match.group("label") + "<measured>"
    if footer is not None and _WARNINGS_LINE.match(line):
        return footer[0]
    if footer is not None and _ERRORS_LINE.match(line):
        return footer[1]
    if not exact:
        for pattern in _COUNT_LINES:
            line = pattern.sub(r"\g<1>#\g<2>", line)
    return line


def footer_counts(detail: list[list[Any]], *, ours: bool) -> tuple[int, int]:
    """A side's warning and error counts without its one-sided lines."""
    table = OURS_ONLY if ours else REFERENCE_ONLY
    kept = [line for line in detail if not _one_sided(line[0], line[1], table)]
    return sum(1 for line in kept if line[3]), sum(1 for line in kept if line[2])


# -- accuracy log --------------------------------------------------------------------------

ACCURACY_ENTRY = re.compile(
    r'^\{ "seq_id" : (?P<seq>\d+), "qsl_idx" : \d+, "data" : "[0-9A-F]*"'
    r'(, "token_data" : "[0-9A-F]*")?(, "token_count" : \d+)? \}(?P<comma>,?)$'
)


def accuracy_entries(text: str) -> dict[int, str]:
    """seq_id -> entry text (without the separating comma), checking the one-per-line layout."""
    lines = text.split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""], (lines[:1], lines[-2:])
    entries = {}
    body = lines[1:-2]
    for k, line in enumerate(body):
        match = ACCURACY_ENTRY.match(line)
        assert match is not None, line
        assert (match.group("comma") == ",") == (k < len(body) - 1), line
        entries[int(match.group("seq"))] = line.rstrip(",")
    return entries
