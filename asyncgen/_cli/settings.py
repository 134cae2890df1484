"""TestSettings from the ``asyncgen run`` command line: a config file, shortcuts, ``--set``.

Pure functions, so every rule is testable without a run. The order is fixed and documented in
docs/cli.md: defaults (or a config file with the MLPerf rules applied first), then the scenario
and mode options, then the shortcut options (``--qps``, ...), then each ``--set`` in order.
"""

from __future__ import annotations

import difflib
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from asyncgen._cli.workload import describe_workload
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.keys import KEYS
from asyncgen._config.settings import TestSettings
from asyncgen._config.validate import validate_settings
from asyncgen._errors import ConfigError

MODE_ALIASES = {
    "performance": TestMode.PerformanceOnly,
    "accuracy": TestMode.AccuracyOnly,
    "submission": TestMode.SubmissionRun,
    "find-peak": TestMode.FindPeakPerformance,
}
_SET_ONLY_BY_OPTION = {"scenario": "--scenario", "mode": "--mode"}
_DEFAULTS = TestSettings()
FIELDS: dict[str, Any] = {
    f.name: getattr(_DEFAULTS, f.name)
    for f in attrs.fields(TestSettings)
    if f.name not in _SET_ONLY_BY_OPTION
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_scenario(text: str) -> TestScenario:
    """``Server``, ``server`` or ``SERVER``; an argparse ``type``."""
    for scenario in TestScenario:
        if scenario.name.lower() == text.lower():
            return scenario
    names = ", ".join(s.name for s in TestScenario)
    raise ValueError(f"unknown scenario {text!r} (choose from {names})")


def parse_mode(text: str) -> TestMode:
    """A TestMode name in any case, or a short alias (``performance``, ``accuracy``, ...)."""
    lowered = text.lower()
    if lowered in MODE_ALIASES:
        return MODE_ALIASES[lowered]
    for mode in TestMode:
        if mode.name.lower() == lowered:
            return mode
    names = ", ".join([*MODE_ALIASES, *(m.name for m in TestMode)])
    raise ValueError(f"unknown mode {text!r} (choose from {names})")


def finite_float(text: str) -> float:
    """A number that is neither NaN nor infinite; an argparse ``type``."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with a TestSettings field name, the value converted to the field's type."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. server_target_qps=200")
    if key in _SET_ONLY_BY_OPTION:
        raise ConfigError(f"--set {key}: use the {_SET_ONLY_BY_OPTION[key]} option instead")
    if key not in FIELDS:
        raise ConfigError(f"--set {key}: no such setting{_suggestion(key)}", key=key)
    try:
        return key, convert_value(FIELDS[key], raw)
    except ValueError as exc:
        raise ConfigError(f"--set {key}={raw}: {exc}", key=key) from None


def convert_value(default: Any, raw: str) -> Any:
    """``raw`` as the type of ``default`` (str, bool, int or float); raises ``ValueError``."""
    if isinstance(default, str):
        return raw
    if isinstance(default, bool):
        lowered = raw.lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ValueError("expected a boolean (true/false, 1/0, yes/no, on/off)")
    if isinstance(default, int):
        try:
            return int(raw, 0)  # 0x10, 1_000_000
        except ValueError:
            raise ValueError("expected an integer") from None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _suggestion(key: str) -> str:
    """The fields a config-file key (``target_qps``) stands for, else the closest spellings."""
    fields = [spec.field for spec in KEYS if spec.name == key and spec.field in FIELDS]
    if fields:
        names = " or ".join(dict.fromkeys(str(f) for f in fields))
        return f"; --set takes TestSettings field names, in their units: {names}"
    close = difflib.get_close_matches(key, FIELDS, n=3, cutoff=0.6)
    if not close:
        return " (see docs/cli.md for the list)"
    return " (did you mean " + " or ".join(close) + "?)"


@attrs.frozen(kw_only=True)
class Shortcuts:
    """The options that stand for a TestSettings field (None: not given)."""

    qps: float | None = None
    latency_ms: float | None = None
    duration_ms: int | None = None
    min_queries: int | None = None
    token_latencies: bool = False  # the OpenAI adapter: judge TTFT and TPOT by default


def shortcut_changes(scenario: TestScenario, shortcuts: Shortcuts) -> dict[str, Any]:
    """The fields the shortcut options set for ``scenario``; raises ``ConfigError`` on misuse."""
    changes: dict[str, Any] = {}
    if shortcuts.qps is not None:
        qps_fields = {
            TestScenario.Server: "server_target_qps",
            TestScenario.Offline: "offline_expected_qps",
        }
        if scenario not in qps_fields:
            raise ConfigError(f"--qps applies to Server and Offline, not {scenario.name}")
        changes[qps_fields[scenario]] = shortcuts.qps
    if shortcuts.latency_ms is not None:
        latency_fields = {
            TestScenario.Server: "server_target_latency_ns",
            TestScenario.SingleStream: "single_stream_expected_latency_ns",
            TestScenario.MultiStream: "multi_stream_expected_latency_ns",
        }
        if scenario not in latency_fields:
            raise ConfigError("--latency-ms has no meaning for Offline")
        nanoseconds = shortcuts.latency_ms * 1_000_000
        field = latency_fields[scenario]
        changes[field] = round(nanoseconds) if isinstance(FIELDS[field], int) else nanoseconds
    if shortcuts.duration_ms is not None:
        changes["min_duration_ms"] = shortcuts.duration_ms
    if shortcuts.min_queries is not None:
        changes["min_query_count"] = shortcuts.min_queries
    if shortcuts.token_latencies:
        changes["use_token_latencies"] = True
    return changes


def build_settings(
    *,
    scenario: TestScenario,
    mode: TestMode | None,
    config: str | Path | None,
    model: str,
    shortcuts: Shortcuts,
    assignments: Sequence[str],
    workload: Mapping[str, Any] | None = None,
) -> TestSettings:
    """The run's settings; raises ``ConfigError``/``SettingsError`` with a clear message."""
    if config is None:
        settings = TestSettings(scenario=scenario)
    else:
        settings = TestSettings.from_config(config, model, scenario)
    if mode is not None:
        settings = attrs.evolve(settings, mode=mode)
    settings = attrs.evolve(settings, **shortcut_changes(scenario, shortcuts))
    settings = attrs.evolve(settings, **(workload or {}))  # asyncgen._cli.workload
    settings = attrs.evolve(settings, **dict(parse_assignment(a) for a in assignments))
    validate_settings(settings)
    return settings


def describe(settings: TestSettings) -> str:
    """One line with what shapes the load, for the banner."""
    parts = [settings.scenario.name, settings.mode.name]
    match settings.scenario:
        case TestScenario.Server:
            if not settings.server_concurrency and settings.server_arrival != "trace":
                parts.append(f"{settings.server_target_qps:g} QPS")
            parts.extend(describe_workload(settings))
            bound_ms = settings.server_target_latency_ns / 1e6
            percentile = settings.server_target_latency_percentile * 100
            parts.append(f"p{percentile:g} bound {bound_ms:g} ms")
        case TestScenario.Offline:
            parts.append(f"expected {settings.offline_expected_qps:g} samples/s")
        case TestScenario.MultiStream:
            parts.append(f"{settings.multi_stream_samples_per_query} samples per query")
        case TestScenario.SingleStream:
            pass
    parts.append(f"min {settings.min_duration_ms / 1000:g} s")
    parts.append(f"min {settings.min_query_count} queries")
    return ", ".join(parts)


def field_table() -> Iterable[tuple[str, str, str]]:
    """(name, type, default) of every ``--set`` key, for docs and ``--list-settings``."""
    for name, default in FIELDS.items():
        kind = (
            "str"
            if isinstance(default, str)
            else "bool"
            if isinstance(default, bool)
            else "int"
            if isinstance(default, int) and not isinstance(default, enum.Enum)
            else "float"
        )
        yield name, kind, repr(default)
