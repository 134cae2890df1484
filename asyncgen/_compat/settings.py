"""``TestSettings``, ``LogOutputSettings`` and ``LogSettings`` as the reference binding has them.

Field names, C types and defaults are the reference's (defaults are read from the engine's
``asyncgen._config.settings``, which holds the reference values, so they are stated once). Instances
are mutable; ``to_engine_*`` build the engine's frozen-by-convention attrs settings for a run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import ClassVar

import attrs

from asyncgen._compat import fields
from asyncgen._compat.config import from_config
from asyncgen._compat.enums import LoggingMode, TestMode, TestScenario
from asyncgen._config import enums as engine_enums
from asyncgen._config import settings as engine

_ENGINE_DEFAULTS = engine.TestSettings()
# asyncgen's own fields, not the reference's
_ENGINE_ONLY = frozenset({"drain_timeout_ms", *engine.WORKLOAD_FIELDS})
_SIGNED_INT = frozenset({"server_find_peak_qps_decimals_of_precision"})  # a C int


def _converter(name: str, default: object) -> fields.Coerce:
    if name == "scenario":
        return fields.member_of(TestScenario)
    if name == "mode":
        return fields.member_of(TestMode)
    if isinstance(default, bool):
        return fields.boolean
    if isinstance(default, float):
        return fields.double
    return fields.c_int if name in _SIGNED_INT else fields.uint64


def _binding_default(name: str, default: object) -> object:
    if name == "scenario":
        return TestScenario[_ENGINE_DEFAULTS.scenario.name]
    if name == "mode":
        return TestMode[_ENGINE_DEFAULTS.mode.name]
    return default


_SETTINGS_DEFAULTS = {
    f.name: _binding_default(f.name, getattr(_ENGINE_DEFAULTS, f.name))
    for f in attrs.fields(engine.TestSettings)
    if f.name not in _ENGINE_ONLY
}
SETTINGS_FIELDS: tuple[str, ...] = tuple(_SETTINGS_DEFAULTS)


class TestSettings(fields.Struct):
    """Every ``mlperf_loadgen.TestSettings`` field, read-write, plus ``FromConfig``."""

    __test__ = False  # not a pytest test class
    __slots__ = SETTINGS_FIELDS
    _FIELDS: ClassVar[Mapping[str, fields.Coerce]] = {
        name: _converter(name, value) for name, value in _SETTINGS_DEFAULTS.items()
    }
    _DEFAULTS: ClassVar[Mapping[str, object]] = _SETTINGS_DEFAULTS

    scenario: TestScenario
    mode: TestMode
    single_stream_expected_latency_ns: float
    single_stream_target_latency_percentile: float
    multi_stream_expected_latency_ns: float
    multi_stream_target_latency_percentile: float
    multi_stream_samples_per_query: int
    server_target_qps: float
    server_target_latency_ns: int
    server_target_latency_percentile: float
    server_coalesce_queries: bool
    server_find_peak_qps_decimals_of_precision: int
    server_find_peak_qps_boundary_step_size: float
    server_max_async_queries: int
    server_num_issue_query_threads: int
    offline_expected_qps: float
    sample_concatenate_permutation: bool
    min_duration_ms: int
    max_duration_ms: int
    min_query_count: int
    max_query_count: int
    qsl_rng_seed: int
    sample_index_rng_seed: int
    schedule_rng_seed: int
    accuracy_log_rng_seed: int
    accuracy_log_probability: float
    accuracy_log_sampling_target: int
    test05: bool
    test05_qsl_rng_seed: int
    test05_sample_index_rng_seed: int
    test05_schedule_rng_seed: int
    print_timestamps: bool
    performance_issue_unique: bool
    performance_issue_same: bool
    performance_issue_same_index: int
    performance_sample_count_override: int
    accuracy_sample_count_override: int
    use_token_latencies: bool
    ttft_latency: int
    tpot_latency: int
    infer_token_latencies: bool
    token_latency_scaling_factor: int

    def FromConfig(  # noqa: N802 - the reference's name
        self, path: str, model: str, scenario: str, conf_type: int = 1
    ) -> int:
        """Apply a config file for ``model`` and ``scenario``; 0, -2 (ENOENT) or -22 (EINVAL).

        ``conf_type`` 1 (a user.conf) applies the built-in mlperf.conf first on the first such
        call in the process; later ones log "Multiple conf files are used" in the next test's
        detail log. 0 applies only the built-in mlperf.conf; 2 reads an audit.config.
        """
        current = {name: getattr(self, name) for name in SETTINGS_FIELDS}
        code, changes = from_config(current, path, model, scenario, conf_type)
        for name, value in changes.items():
            setattr(self, name, value)
        return code


def to_engine_settings(settings: TestSettings) -> engine.TestSettings:
    """The engine's settings with the same values (enums converted by value)."""
    values: dict[str, object] = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    values["scenario"] = engine_enums.TestScenario(settings.scenario.value)
    values["mode"] = engine_enums.TestMode(settings.mode.value)
    return engine.TestSettings(**values)  # type: ignore[arg-type]


class LogOutputSettings(fields.Struct):
    """Where the log files go and how they are named (``mlperf_loadgen.LogOutputSettings``)."""

    __slots__ = (
        "copy_detail_to_stdout",
        "copy_summary_to_stdout",
        "outdir",
        "prefix",
        "prefix_with_datetime",
        "suffix",
    )
    _FIELDS: ClassVar[Mapping[str, fields.Coerce]] = {
        "outdir": fields.text,
        "prefix": fields.text,
        "suffix": fields.text,
        "prefix_with_datetime": fields.boolean,
        "copy_detail_to_stdout": fields.boolean,
        "copy_summary_to_stdout": fields.boolean,
    }
    _DEFAULTS: ClassVar[Mapping[str, object]] = attrs.asdict(engine.LogOutputSettings())

    outdir: str
    prefix: str
    suffix: str
    prefix_with_datetime: bool
    copy_detail_to_stdout: bool
    copy_summary_to_stdout: bool


def _log_output(name: str, value: object) -> LogOutputSettings:
    if not isinstance(value, LogOutputSettings):
        raise TypeError(f"{name} takes a LogOutputSettings, got {value!r}")
    return copy.copy(value)  # the binding copies a struct member on assignment


class LogSettings(fields.Struct):
    """Log output settings plus the logging-mode knobs (``mlperf_loadgen.LogSettings``).

    One asyncgen extension: ``write_results_json = False`` leaves out
    ``mlperf_log_results.json``, so the folder holds only the reference's files.
    """

    __slots__ = (
        "enable_trace",
        "log_mode",
        "log_mode_async_poll_interval_ms",
        "log_output",
        "write_results_json",
    )
    _FIELDS: ClassVar[Mapping[str, fields.Coerce]] = {
        "log_output": _log_output,
        "log_mode": fields.member_of(LoggingMode),
        "log_mode_async_poll_interval_ms": fields.uint64,
        "enable_trace": fields.boolean,
        "write_results_json": fields.boolean,
    }
    _DEFAULTS: ClassVar[Mapping[str, object]] = {
        "log_mode": LoggingMode.AsyncPoll,
        "log_mode_async_poll_interval_ms": 1000,
        "enable_trace": True,
        "write_results_json": True,
    }
    _FACTORIES: ClassVar[Mapping[str, Callable[[], object]]] = {"log_output": LogOutputSettings}

    log_output: LogOutputSettings
    log_mode: LoggingMode
    log_mode_async_poll_interval_ms: int
    enable_trace: bool
    write_results_json: bool


def to_engine_log_settings(log_settings: LogSettings) -> engine.LogSettings:
    out = log_settings.log_output
    return engine.LogSettings(
        log_output=engine.LogOutputSettings(
            outdir=out.outdir,
            prefix=out.prefix,
            suffix=out.suffix,
            prefix_with_datetime=out.prefix_with_datetime,
            copy_detail_to_stdout=out.copy_detail_to_stdout,
            copy_summary_to_stdout=out.copy_summary_to_stdout,
        ),
        log_mode=engine_enums.LoggingMode(log_settings.log_mode.value),
        log_mode_async_poll_interval_ms=log_settings.log_mode_async_poll_interval_ms,
        enable_trace=log_settings.enable_trace,
        write_results_json=log_settings.write_results_json,
    )
