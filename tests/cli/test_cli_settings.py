"""Settings from the command line: conversions, shortcuts, order and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncgen import ConfigError, SettingsError, TestMode, TestScenario, TestSettings
from asyncgen._cli.settings import (
    Shortcuts,
    build_settings,
    convert_value,
    describe,
    field_table,
    parse_assignment,
    parse_mode,
    parse_scenario,
    shortcut_changes,
)


def _build(**overrides: object) -> TestSettings:
    values: dict[str, object] = {
        "scenario": TestScenario.Server,
        "mode": None,
        "config": None,
        "model": "*",
        "shortcuts": Shortcuts(),
        "assignments": [],
    }
    values.update(overrides)
    return build_settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("server", TestScenario.Server), ("OFFLINE", TestScenario.Offline),
     ("SingleStream", TestScenario.SingleStream)],
)  # fmt: skip
def test_scenario_names_in_any_case(text: str, expected: TestScenario) -> None:
    assert parse_scenario(text) is expected


def test_unknown_scenario_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown scenario 'serv'.*Server"):
        parse_scenario("serv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("performance", TestMode.PerformanceOnly), ("accuracy", TestMode.AccuracyOnly),
     ("submission", TestMode.SubmissionRun), ("find-peak", TestMode.FindPeakPerformance),
     ("AccuracyOnly", TestMode.AccuracyOnly), ("performanceonly", TestMode.PerformanceOnly)],
)  # fmt: skip
def test_mode_aliases_and_names(text: str, expected: TestMode) -> None:
    assert parse_mode(text) is expected


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown mode 'fast'"):
        parse_mode("fast")


@pytest.mark.parametrize(
    ("default", "raw", "expected"),
    [(True, "yes", True), (False, "ON", True), (True, "0", False), (True, "off", False),
     (0, "42", 42), (0, "0x10", 16), (0, "1_000_000", 1_000_000),
     (1.0, "2.5", 2.5), (1.0, "3", 3.0), (1.0, "1e3", 1000.0)],
)  # fmt: skip
def test_values_take_the_fields_type(default: object, raw: str, expected: object) -> None:
    value = convert_value(default, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("default", "raw", "message"),
    [(True, "maybe", "boolean"), (0, "2.5", "integer"), (0, "ten", "integer"),
     (1.0, "fast", "number"), (1.0, "inf", "finite"), (1.0, "nan", "finite")],
)  # fmt: skip
def test_bad_values_say_what_was_expected(default: object, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        convert_value(default, raw)


def test_assignment_is_typed() -> None:
    assert parse_assignment("server_target_qps=250") == ("server_target_qps", 250.0)
    assert parse_assignment(" min_query_count = 7 ") == ("min_query_count", 7)
    assert parse_assignment("server_coalesce_queries=true") == ("server_coalesce_queries", True)


@pytest.mark.parametrize(
    ("text", "message"),
    [("server_target_qps", "expected key=value"),
     ("=5", "expected key=value"),
     ("server_target_qsp=5", "did you mean server_target_qps"),
     ("target_qps=5", "field names, in their units: server_target_qps or offline_expected_qps"),
     ("scenario=Server", "use the --scenario option"),
     ("mode=1", "use the --mode option"),
     ("min_query_count=many", r"--set min_query_count=many: expected an integer"),
     ("zzzz=1", "no such setting.*docs/cli.md")],
)  # fmt: skip
def test_assignment_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_assignment(text)


def test_qps_shortcut_follows_the_scenario() -> None:
    assert shortcut_changes(TestScenario.Server, Shortcuts(qps=50)) == {"server_target_qps": 50}
    assert shortcut_changes(TestScenario.Offline, Shortcuts(qps=50)) == {"offline_expected_qps": 50}
    with pytest.raises(ConfigError, match="--qps applies to Server and Offline"):
        shortcut_changes(TestScenario.SingleStream, Shortcuts(qps=50))


def test_latency_shortcut_in_nanoseconds_of_the_fields_type() -> None:
    server = shortcut_changes(TestScenario.Server, Shortcuts(latency_ms=2.5))
    assert server == {"server_target_latency_ns": 2_500_000}
    assert type(server["server_target_latency_ns"]) is int
    single = shortcut_changes(TestScenario.SingleStream, Shortcuts(latency_ms=0.5))
    assert single == {"single_stream_expected_latency_ns": 500_000.0}
    with pytest.raises(ConfigError, match="Offline"):
        shortcut_changes(TestScenario.Offline, Shortcuts(latency_ms=1))


def test_duration_and_query_shortcuts() -> None:
    changes = shortcut_changes(TestScenario.Offline, Shortcuts(duration_ms=500, min_queries=3))
    assert changes == {"min_duration_ms": 500, "min_query_count": 3}


def test_openai_adapter_turns_token_latencies_on_unless_set_off() -> None:
    assert _build(shortcuts=Shortcuts(token_latencies=True)).use_token_latencies is True
    off = _build(
        shortcuts=Shortcuts(token_latencies=True), assignments=["use_token_latencies=false"]
    )
    assert off.use_token_latencies is False
    assert _build().use_token_latencies is False


def test_without_config_the_reference_defaults_hold() -> None:
    settings = _build()
    assert settings == TestSettings(scenario=TestScenario.Server)


def test_preset_then_shortcuts_then_sets_in_order() -> None:
    settings = _build(
        config="demo-server",
        shortcuts=Shortcuts(qps=100, duration_ms=2000),
        assignments=["server_target_qps=120", "server_target_qps=150"],
    )
    assert settings.server_target_qps == 150.0  # the last --set wins
    assert settings.min_duration_ms == 2000  # shortcut over the preset's 10000
    assert settings.min_query_count == 1000  # from the preset
    assert settings.server_target_latency_ns == 50_000_000  # preset over mlperf.conf's 10 ms
    assert settings.schedule_rng_seed == 16159082839903944936  # mlperf.conf applied first


def test_config_file_with_a_model(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("mine.Offline.target_qps = 123\n*.Offline.target_qps = 7\n")
    mine = _build(scenario=TestScenario.Offline, config=conf, model="mine")
    assert mine.offline_expected_qps == 123
    assert _build(scenario=TestScenario.Offline, config=conf).offline_expected_qps == 7


def test_config_mode_holds_unless_mode_is_given(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("*.*.mode = 1\n")
    assert _build(config=conf).mode is TestMode.AccuracyOnly
    assert _build(config=conf, mode=TestMode.PerformanceOnly).mode is TestMode.PerformanceOnly


def test_config_errors_name_the_line(tmp_path: Path) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("*.Server.target_qsp = 5\n")
    with pytest.raises(ConfigError, match=r"user.conf:1: .*target_qps"):
        _build(config=conf)


def test_missing_preset_lists_the_presets() -> None:
    with pytest.raises(ConfigError, match=r"no preset of that name.*demo-server"):
        _build(config="no-such-preset")


def test_settings_that_cannot_run_are_rejected() -> None:
    with pytest.raises(SettingsError, match="server_target_qps must be a positive"):
        _build(shortcuts=Shortcuts(qps=-5))


def test_describe_names_the_load() -> None:
    text = describe(_build(shortcuts=Shortcuts(qps=200, latency_ms=15, duration_ms=3000)))
    assert text == ("Server, PerformanceOnly, 200 QPS, p99 bound 15 ms, min 3 s, min 100 queries")


def test_field_table_covers_every_settable_field() -> None:
    rows = {name: (kind, default) for name, kind, default in field_table()}
    assert rows["server_target_qps"] == ("float", "1.0")
    assert rows["min_query_count"] == ("int", "100")
    assert rows["server_coalesce_queries"] == ("bool", "False")
    assert "scenario" not in rows
    assert "mode" not in rows
    assert "drain_timeout_ms" in rows
