"""Whether a TestSettings can run, whatever set it: a config file, Python code or the CLI.

Types are checked first, since a field set from Python can hold anything; each scenario's ranges
are checked only once every type is right, so one mistake does not bring a cascade of messages.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import attrs

from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.numbers import U64_MAX
from asyncgen._config.settings import ARRIVAL_KINDS, WORKLOAD_FIELDS, TestSettings
from asyncgen._errors import SettingsError

_DEFAULTS = TestSettings()
_UINT_FIELDS = tuple(
    f.name
    for f in attrs.fields(TestSettings)
    if type(getattr(_DEFAULTS, f.name)) is int  # not the IntEnum or bool fields
    and f.name != "server_find_peak_qps_decimals_of_precision"  # a signed C int
)
_FLOAT_FIELDS = tuple(
    f.name for f in attrs.fields(TestSettings) if type(getattr(_DEFAULTS, f.name)) is float
)
_FALLBACK_ONE = " (LoadGen logs error_invalid_test_settings and runs at 1 QPS instead)"
# What a planned sample costs while its series runs: the plan's columns, the series' columns
# and the generation's temporaries (docs/performance.md: about 80 MiB at a million queries).
BYTES_PER_SAMPLE = 64
MAX_PLANNED_SAMPLES = 1 << 30  # whatever the memory: the plan's own bound (asyncgen._plan)


def validate_settings(settings: TestSettings) -> None:
    """Raise ``SettingsError`` listing every value that cannot run.

    Stricter than the reference, which logs some of these and carries on with a fallback. Not
    checked here: ``performance_issue_same_index`` against the loaded set (needs the QSL).
    """
    problems = list(_problems(settings))
    if problems:
        raise SettingsError("invalid TestSettings: " + "; ".join(problems))


def _problems(s: TestSettings) -> Iterator[str]:
    try:
        scenario, mode = TestScenario(s.scenario), TestMode(s.mode)
    except ValueError:
        yield f"scenario/mode must be a TestScenario/TestMode, got {s.scenario!r}/{s.mode!r}"
        return
    typed = True
    for name in _UINT_FIELDS:
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
            typed = False
            yield f"{name} must be an integer from 0 to 2**64-1, got {value!r}"
    for name in _FLOAT_FIELDS:
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            typed = False
            yield f"{name} must be a number, got {value!r}"
    if not typed:
        return
    scenario_problems = list(_scenario_problems(s, scenario, mode))
    yield from scenario_problems
    if not scenario_problems:
        yield from _size_problems(s, scenario)
    if s.performance_issue_unique and s.performance_issue_same:
        yield "performance_issue_unique and performance_issue_same cannot both be on"
    if not 0.0 <= s.accuracy_log_probability <= 1.0:
        yield f"accuracy_log_probability must be from 0 to 1, got {s.accuracy_log_probability!r}"
    if s.drain_timeout_ms <= 0:
        yield f"drain_timeout_ms must be positive, got {s.drain_timeout_ms!r}"
    yield from _workload_problems(s, scenario, mode)


def _scenario_problems(s: TestSettings, scenario: TestScenario, mode: TestMode) -> Iterator[str]:
    if mode is TestMode.FindPeakPerformance and scenario is not TestScenario.Server:
        yield f"mode FindPeakPerformance needs the Server scenario, got {scenario.name}"
    match scenario:
        case TestScenario.SingleStream:
            yield from _positive(s, "single_stream_expected_latency_ns")
            yield from _fraction(s, "single_stream_target_latency_percentile")
        case TestScenario.MultiStream:
            yield from _positive(s, "multi_stream_expected_latency_ns")
            yield from _fraction(s, "multi_stream_target_latency_percentile")
            if s.multi_stream_samples_per_query == 0:
                yield "multi_stream_samples_per_query must be at least 1"
        case TestScenario.Server:
            yield from _positive(s, "server_target_qps", _FALLBACK_ONE)
            yield from _fraction(s, "server_target_latency_percentile")
            if s.server_num_issue_query_threads > 0:
                yield (
                    "server_num_issue_query_threads is not supported (asyncgen issues from the"
                    f" event loop); set it to 0, got {s.server_num_issue_query_threads}"
                )
            if mode is TestMode.FindPeakPerformance:
                yield from _positive(s, "server_find_peak_qps_boundary_step_size")
                precision = s.server_find_peak_qps_decimals_of_precision
                if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
                    yield (
                        "server_find_peak_qps_decimals_of_precision must be a non-negative"
                        f" integer, got {precision!r}"
                    )
        case TestScenario.Offline:
            yield from _positive(s, "offline_expected_qps", _FALLBACK_ONE)


def most_planned_samples() -> int:
    """The most samples one series may plan: what this machine's memory holds, at
    ``BYTES_PER_SAMPLE`` each, and never more than ``MAX_PLANNED_SAMPLES``."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf, or not these names
        return MAX_PLANNED_SAMPLES
    return min(MAX_PLANNED_SAMPLES, memory // BYTES_PER_SAMPLE)


def planned_samples(s: TestSettings, scenario: TestScenario) -> float:
    """About how many samples the performance series plans: the settings' rate over the
    minimum duration, or the minimum query count (a float: absurd settings overflow)."""
    duration_s = s.min_duration_ms / 1000
    minimum = float(s.min_query_count)
    match scenario:
        case TestScenario.Server:
            return max(minimum, s.server_target_qps * duration_s)
        case TestScenario.Offline:
            return max(minimum, s.offline_expected_qps * duration_s)
        case TestScenario.SingleStream:
            return max(minimum, 2 * duration_s * 1e9 / s.single_stream_expected_latency_ns)
        case TestScenario.MultiStream:
            queries = max(minimum, 2 * duration_s * 1e9 / s.multi_stream_expected_latency_ns)
            return queries * s.multi_stream_samples_per_query
    raise AssertionError(scenario)  # pragma: no cover


_RATE_FIELDS = {
    TestScenario.Server: "server_target_qps",
    TestScenario.Offline: "offline_expected_qps",
    TestScenario.SingleStream: "single_stream_expected_latency_ns",
    TestScenario.MultiStream: "multi_stream_expected_latency_ns",
}


def _size_problems(s: TestSettings, scenario: TestScenario) -> Iterator[str]:
    """A plan that cannot fit in memory is refused now, not by a ``MemoryError`` later."""
    samples, limit = planned_samples(s, scenario), most_planned_samples()
    if samples > limit:
        about = f"about {samples:.3g}" if math.isfinite(samples) else "countless"
        yield (
            f"the performance run would plan {about} samples ("
            f"{_RATE_FIELDS[scenario]} {getattr(s, _RATE_FIELDS[scenario])!r}, min_duration_ms "
            f"{s.min_duration_ms}, min_query_count {s.min_query_count}); this machine's "
            f"memory holds at most about {limit:,}"
        )


def _positive(s: TestSettings, name: str, note: str = "") -> Iterator[str]:
    value = getattr(s, name)
    if not (math.isfinite(value) and value > 0):
        yield f"{name} must be a positive finite number, got {value!r}" + (
            note if value < 0 else ""
        )


def _fraction(s: TestSettings, name: str) -> Iterator[str]:
    value = getattr(s, name)
    if not 0.0 < value < 1.0:
        yield f"{name} must be between 0 and 1 (0.99 is the 99th percentile), got {value!r}"


def _workload_problems(s: TestSettings, scenario: TestScenario, mode: TestMode) -> Iterator[str]:
    """asyncgen's own Server workload options (docs/workloads.md): values and combinations."""
    changed = [name for name in WORKLOAD_FIELDS if getattr(s, name) != getattr(_DEFAULTS, name)]
    if changed and scenario is not TestScenario.Server:
        verb = "applies" if len(changed) == 1 else "apply"
        yield f"{', '.join(changed)} {verb} to the Server scenario only, not {scenario.name}"
        return
    if s.server_arrival not in ARRIVAL_KINDS:
        kinds = ", ".join(ARRIVAL_KINDS)
        yield f"server_arrival must be one of {kinds}, got {s.server_arrival!r}"
    if not isinstance(s.server_trace_path, str):
        yield f"server_trace_path must be a path (str), got {s.server_trace_path!r}"
    if not isinstance(s.server_multi_turn, bool):
        yield f"server_multi_turn must be a bool, got {s.server_multi_turn!r}"
    yield from _positive(s, "server_burstiness")
    yield from _positive(s, "server_trace_speed")
    think = s.server_think_time_ms
    if not (math.isfinite(think) and think >= 0):
        yield f"server_think_time_ms must be a finite number of 0 or more, got {think!r}"
    trace = s.server_arrival == "trace"
    if trace != bool(s.server_trace_path):
        yield "server_arrival 'trace' and server_trace_path go together: give both or neither"
    if trace and s.server_ramp_up_ms:
        yield "server_ramp_up_ms does not apply to a trace (its timestamps are the schedule)"
    if s.server_concurrency:
        arrival = [
            name
            for name in ("server_arrival", "server_ramp_up_ms", "server_max_concurrency")
            if getattr(s, name) != getattr(_DEFAULTS, name)
        ]
        if arrival:
            yield (
                "server_concurrency is a closed loop of users, with no arrival process or "
                f"limit of its own: leave {', '.join(arrival)} unset"
            )
    sessions = s.server_max_concurrency or s.server_concurrency or s.server_multi_turn
    if sessions and s.server_coalesce_queries:
        yield (
            "server_coalesce_queries does not combine with server_max_concurrency, "
            "server_concurrency or server_multi_turn (their queries go one by one)"
        )
    if s.server_think_time_ms and not s.server_multi_turn:
        yield "server_think_time_ms needs server_multi_turn (it is the pause between turns)"
    if mode is TestMode.FindPeakPerformance and (s.server_concurrency or trace):
        yield "FindPeakPerformance searches an arrival rate: not with server_concurrency or a trace"
