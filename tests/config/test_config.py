"""Config files, presets and settings validation (asyncgen._config), without the reference."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
from pathlib import Path
from typing import Any, get_args

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncgen import ConfigError, SettingsError, TestMode, TestScenario, TestSettings
from asyncgen._config.apply import scenario_name
from asyncgen._config.keys import KEYS, ConfigKind
from asyncgen._config.numbers import c_strtod, c_strtoull, is_c_number
from asyncgen._config.parse import ConfigEntry, parse_config
from asyncgen._config.presets import presets_dir, resolve_preset
from asyncgen._config.settings import (
    WORKLOAD_FIELDS,
    apply_audit_config,
    apply_config,
    apply_config_text,
)
from asyncgen._config.validate import validate_settings

U64 = 1 << 64


def apply(
    text: str,
    *,
    model: str = "resnet50",
    scenario: str = "Server",
    kind: ConfigKind = "user",
    base: TestSettings | None = None,
) -> TestSettings:
    settings = base or TestSettings()
    return apply_config_text(
        settings, text, model=model, scenario=scenario, kind=kind, path="user.conf"
    )


def error_of(text: str, **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        apply(text, **kw)
    return info.value


# --- parse_config ------------------------------------------------------------------------------


def test_parse_returns_entries_with_parts_value_and_line() -> None:
    text = "# header\n\n  resnet50.Server.target_qps = 12.5\r\n\t*.*.mode\t=\t2\n#nospace note\n"
    assert parse_config(text, "f.conf") == [
        ConfigEntry("resnet50", "Server", "target_qps", "12.5", 3),
        ConfigEntry("*", "*", "mode", "2", 4),
    ]


def test_model_names_may_contain_dots() -> None:
    [entry] = parse_config("llama3.1-8b.Server.target_qps = 3")
    assert (entry.model, entry.scenario, entry.key) == ("llama3.1-8b", "Server", "target_qps")
    assert entry.full_key == "llama3.1-8b.Server.target_qps"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("*.*.mode=1", "no spaces around '='"),
        ("*.*.mode", "has no '= value'"),
        ("*.*.mode =", "no value after '='"),
        ("*.*.mode # one", "before the comment"),
        ("*.*.mode #one", "before the comment"),
        ("*.*.mode 1", "expected '=' after the key"),
        ("*.*.mode =1", "expected '=' after the key"),
        ("*.*.mode = 1 # note", "comment after the value"),
        ("*.*.mode = 1 2", "more than one value"),
        ("*.*.mode = fast", "is not a number"),
        ("*.*.mode = 1_000", "is not a number"),
        ("*.*.mode = 0x", "is not a number"),
        ("*.*.mode = \u0661", "is not a number"),  # ARABIC-INDIC DIGIT ONE
        ("mode = 1", "is not 'model.scenario.key'"),
        ("*..mode = 1", "is not 'model.scenario.key'"),
    ],
)
def test_malformed_lines_name_the_line_and_the_fix(line: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"# first\n{line}\n", "user.conf")
    assert fragment in str(info.value)
    assert str(info.value).startswith("user.conf:2: ")
    assert (info.value.path, info.value.line) == ("user.conf", 2)


# --- key checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("*.*.min_duraton = 5", "did you mean '*.*.min_duration'?"),
        ("bert.Server.traget_qps = 5", "did you mean 'bert.Server.target_qps'?"),
        ("*.*.server_target_qps = 5", "the config key is '*.Server.target_qps'"),
        ("*.*.min_duration_ms = 5", "the config key is '*.*.min_duration' in milliseconds"),
        ("*.Sever.target_qps = 5", "did you mean '*.Server.target_qps'?"),
        ("*.server.target_qps = 5", "did you mean '*.Server.target_qps'?"),
        ("*.Offline.target_latency = 5", "read only for SingleStream, MultiStream, Server"),
        ("*.Server.samples_per_query = 5", "read only for MultiStream"),
        ("*.*.mode = 4", "mode must be one of 0 (SubmissionRun)"),
        ("*.*.mode = -1", "must not be negative"),
        ("*.*.min_duration = -0x10", "must not be negative"),
        ("*.*.min_query_count = 18446744073709551616", "too large"),
        ("*.Server.target_latency = 18446744073710", "at most 18446744073709 in milliseconds"),
        ("*.Server.max_async_queries = 2147483648", "at most 2147483647"),
    ],
)
def test_key_errors_explain_themselves(text: str, fragment: str) -> None:
    error = error_of(f"*.*.mode = 1\n{text}")
    assert fragment in str(error)
    assert error.line == 2


@pytest.mark.parametrize(
    "key",
    [
        "qsl_rng_seed",
        "sample_index_rng_seed",
        "schedule_rng_seed",
        "accuracy_log_probability",
        "test05",
        "test05_qsl_rng_seed",
        "test05_sample_index_rng_seed",
        "test05_schedule_rng_seed",
    ],
)
@pytest.mark.parametrize("kind", ["user", "audit"])
def test_rules_only_keys_are_refused_outside_mlperf_conf(key: str, kind: ConfigKind) -> None:
    error = error_of(f"*.*.{key} = 1", kind=kind)
    assert "may only be set by the MLPerf rules file" in str(error)
    assert error.key == key
    assert apply(f"*.*.{key} = 1", kind="mlperf") != TestSettings()


def test_compliance_script_keys_are_known_but_change_nothing() -> None:
    text = (
        "*.*.test07_accuracy_threshold = 60.698\n*.*.test09_min_output_tokens = 1150.38\n"
        "*.*.test09_max_output_tokens = 1406.02\n*.Server.target_duration = 0\n"
        "*.Offline.target_latency_percentile = 90\n"
    )
    assert apply(text, kind="audit") == TestSettings()
    assert apply(text, kind="user") == TestSettings()
    assert "not by the MLPerf rules file" in str(error_of(text, kind="mlperf"))


def test_nothing_is_applied_when_any_line_is_wrong() -> None:
    base = TestSettings()
    with pytest.raises(ConfigError):
        apply("*.*.min_duration = 5\n*.*.mode = x\n", base=base)
    assert base == TestSettings()
    assert apply("*.*.min_duration = 5\n", base=base) is not base


# --- values and precedence ---------------------------------------------------------------------


def test_precedence_exact_then_model_wildcard_then_scenario_wildcard() -> None:
    text = (
        "*.*.min_query_count = 1\nresnet50.*.min_query_count = 2\n*.Server.min_query_count = 3\n"
        "resnet50.Server.min_query_count = 4\n*.*.max_query_count = 5\n"
        "resnet50.*.max_query_count = 6\n*.Server.max_duration = 7\nresnet50.*.max_duration = 8\n"
        "bert.Server.min_duration = 9\n"
    )
    s = apply(text)
    assert (s.min_query_count, s.max_query_count, s.max_duration_ms) == (4, 6, 7)
    assert s.min_duration_ms == TestSettings().min_duration_ms


def test_later_lines_override_earlier_identical_keys() -> None:
    assert apply("*.*.min_duration = 5\n*.*.min_duration = 6").min_duration_ms == 6


def test_one_call_fills_every_scenario() -> None:
    s = apply(
        "*.*.target_latency = 7\n*.*.target_latency_percentile = 95\n*.*.target_qps = 12.5",
        scenario="Offline",
    )
    assert s.single_stream_expected_latency_ns == 7e6
    assert s.multi_stream_expected_latency_ns == 7e6
    assert s.server_target_latency_ns == 7_000_000
    assert s.single_stream_target_latency_percentile == 95 * 0.01
    assert s.server_target_latency_percentile == 95 * 0.01
    assert (s.server_target_qps, s.offline_expected_qps) == (12.5, 12.5)


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ("*.*.min_duration = 010", "min_duration_ms", 8),  # octal for integer keys
        ("*.*.min_duration = 0x10", "min_duration_ms", 16),
        ("*.*.min_duration = 08", "min_duration_ms", 0),  # strtoull stops at the 8
        ("*.*.min_duration = 1e3", "min_duration_ms", 1),
        ("*.Server.target_qps = 010", "server_target_qps", 10.0),  # decimal for double keys
        ("*.Server.target_qps = 0x1p4", "server_target_qps", 16.0),
        ("*.Server.target_latency = 0.5", "server_target_latency_ns", 0),  # uint: truncated
        ("*.Server.target_latency = 15", "server_target_latency_ns", 15_000_000),
        ("*.SingleStream.target_latency = 0.5", "single_stream_expected_latency_ns", 500_000.0),
        ("*.*.use_token_latencies = 2", "use_token_latencies", False),  # == 1
        ("*.*.use_token_latencies = 0x1", "use_token_latencies", True),
        ("*.*.performance_issue_unique = 2", "performance_issue_unique", True),  # != 0
        ("*.Server.coalesce_queries = 0", "server_coalesce_queries", False),
        ("*.*.mode = 3", "mode", TestMode.FindPeakPerformance),
        ("*.*.mode = 1.9", "mode", TestMode.AccuracyOnly),
        ("*.*.accuracy_log_sampling_target = 4096", "accuracy_log_sampling_target", 4096),
    ],
)
def test_values_are_read_like_the_reference(line: str, field: str, value: object) -> None:
    got = getattr(apply(line), field)
    assert got == value
    assert type(got) is type(value)


def test_token_latencies_are_read_only_while_switched_on() -> None:
    line = "*.Server.ttft_latency = 3\n*.Server.tpot_latency = 4\n"
    assert apply(line).ttft_latency == TestSettings().ttft_latency
    on = apply("*.*.use_token_latencies = 1\n" + line)
    assert (on.ttft_latency, on.tpot_latency) == (3_000_000, 4_000_000)
    base = TestSettings(use_token_latencies=True)
    assert apply(line, base=base).ttft_latency == 3_000_000
    assert apply("*.*.token_latency_scaling_factor = 9").token_latency_scaling_factor == 0
    both = apply("*.*.infer_token_latencies = 1\n*.*.token_latency_scaling_factor = 9")
    assert both.token_latency_scaling_factor == 9


def test_audit_config_uses_model_wildcard_and_the_settings_scenario(tmp_path: Path) -> None:
    path = tmp_path / "audit.config"
    path.write_text(
        "*.Server.min_query_count = 55\nresnet50.Server.min_query_count = 77\n"
        "*.Offline.min_query_count = 99\n*.*.mode = 2\n"
    )
    base = TestSettings(scenario=TestScenario.Server, mode=TestMode.AccuracyOnly)
    s = apply_audit_config(base, path)
    assert (s.min_query_count, s.mode, s.scenario) == (55, TestMode.PerformanceOnly, base.scenario)


# Real MLPerf compliance files (mlcommons/inference compliance/, abridged comments).
TEST07 = """# TEST07 Compliance Threshold (read by run_verification.py, not by LoadGen)
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 990
*.*.min_query_count = 990
*.*.min_duration = 0
*.*.sample_concatenate_permutation = 0
#
*.*.test07_accuracy_threshold = 60.698
"""
TEST09_OLD = "*.*.mode = 2\n*.*.test09_min_output_tokens = 1150.38 # 1278.2 * 0.90\n"
TEST05_NVIDIA = "*.*.mode = 2\n*.*.qsl_rng_seed = 313588358309856706\n"


def test_real_compliance_files(tmp_path: Path) -> None:
    s = apply(TEST07, kind="audit", model="*")
    assert (s.accuracy_log_rng_seed, s.min_query_count, s.min_duration_ms) == (
        720381539243781796,
        990,
        0,
    )
    # An older TEST09 file had a trailing comment: LoadGen rejects it as a whole, so do we.
    assert "comment after the value" in str(error_of(TEST09_OLD, kind="audit"))
    # Legacy TEST05 set seeds from audit.config: LoadGen ignores them there; we say so.
    assert "MLPerf rules file" in str(error_of(TEST05_NVIDIA, kind="audit"))


# --- files, presets and load_settings ----------------------------------------------------------


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError) as info:
        apply_config(TestSettings(), missing, model="m", scenario="Server", kind="user")
    assert info.value.path == str(missing)


def test_presets_dir_holds_the_rules_and_presets_resolve_by_name(tmp_path: Path) -> None:
    folder = presets_dir()
    assert (folder / "mlperf.conf").is_file()
    assert resolve_preset("mlperf") == folder / "mlperf.conf"
    assert resolve_preset("mlperf.conf") == folder / "mlperf.conf"
    local = tmp_path / "mine.conf"
    local.write_text("*.*.mode = 1\n")
    assert resolve_preset(local) == local
    with pytest.raises(ConfigError, match=r"presets: .*demo"):
        resolve_preset("no-such-preset")
    with pytest.raises(ConfigError):
        resolve_preset(tmp_path / "missing" / "mlperf")


def test_presets_dir_prefers_the_wheel_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "asyncgen"
    (package / "_presets").mkdir(parents=True)
    monkeypatch.setattr("asyncgen._config.presets._PACKAGE_DIR", package)
    with pytest.raises(ConfigError, match="preset folder"):
        presets_dir()
    (package / "_presets" / "mlperf.conf").write_text("")
    assert presets_dir() == package / "_presets"


USER_PRESETS = sorted(p.name for p in presets_dir().glob("*.conf") if p.name != "mlperf.conf")


def test_there_are_user_presets() -> None:
    assert USER_PRESETS


@pytest.mark.parametrize("preset", USER_PRESETS)
def test_every_preset_loads_and_validates(preset: str) -> None:
    for scenario in TestScenario:
        s = TestSettings.from_config(preset, "demo", scenario)
        assert s.scenario is scenario
        validate_settings(s)


def test_from_config_applies_the_rules_then_the_user_file(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    user.write_text("*.Server.target_qps = 321\n")
    s = TestSettings.from_config(user, "resnet50", TestScenario.Server)
    assert s.scenario is TestScenario.Server
    assert (s.server_target_qps, s.server_target_latency_ns) == (321.0, 15_000_000)
    assert (s.min_duration_ms, s.performance_sample_count_override) == (600_000, 1024)
    assert s.schedule_rng_seed == 16159082839903944936
    # Every call applies the rules (the reference only does on the first call in a process).
    assert TestSettings.from_config(user, "resnet50", "server") == s
    bare = TestSettings.from_config(user, "resnet50", "Server", apply_mlperf_conf=False)
    assert (bare.server_target_qps, bare.min_duration_ms) == (321.0, 10_000)


def test_from_config_keeps_base_values_and_the_subclass(tmp_path: Path) -> None:
    @attrs.define(kw_only=True)
    class Mine(TestSettings):
        pass

    user = tmp_path / "user.conf"
    user.write_text("*.*.min_query_count = 7\n")
    base = TestSettings(drain_timeout_ms=5, max_query_count=9)
    s = Mine.from_config(user, "m", "Offline", base=base, apply_mlperf_conf=False)
    assert type(s) is Mine
    assert (s.drain_timeout_ms, s.max_query_count, s.min_query_count) == (5, 9, 7)
    assert s.scenario is TestScenario.Offline


@pytest.mark.parametrize(
    ("given", "name"),
    [(TestScenario.Offline, "Offline"), ("server", "Server"), ("Single Stream", "SingleStream")],
)
def test_scenario_names(given: TestScenario | str, name: str) -> None:
    assert scenario_name(given) == name


def test_unknown_scenario_argument_and_bad_model() -> None:
    with pytest.raises(ConfigError, match="unknown scenario 'Sever'"):
        apply("*.*.mode = 1", scenario="Sever")
    with pytest.raises(ConfigError, match="model name"):
        apply("*.*.mode = 1", model="")


def test_key_table_covers_every_configurable_field() -> None:
    fields = {k.field for k in KEYS if k.field is not None}
    not_configurable = {
        "scenario",
        "server_find_peak_qps_decimals_of_precision",
        "drain_timeout_ms",
        "server_find_peak_qps_boundary_step_size",
        "server_num_issue_query_threads",
        *WORKLOAD_FIELDS,  # asyncgen's own: Python and the command line only
    }
    assert fields == {f.name for f in attrs.fields(TestSettings)} - not_configurable
    names = {(k.name, k.scenario) for k in KEYS}
    assert len(names) == len(KEYS)  # no duplicate rows


# --- arbitrary input only ever raises ConfigError ----------------------------------------------

_TOKENS = st.sampled_from(
    [
        "=",
        "#",
        "#x",
        "*",
        "*.*.mode",
        "*.Server.target_qps",
        "resnet50.*.min_duration",
        "1",
        "0x1f",
        "010",
        "-3",
        "1e999",
        "nan(x)",
        "inf",
        "0.5",
        "x.y.z",
        "..",
        "\t",
        "\r",
        "\v",
        "\x00",
        "\xa0",
        "18446744073709551616",
        "9" * 5000,
        "0x",
        "+",
        ".",
        "e5",
        "Sever",
    ]
)
_LINES = st.lists(st.one_of(_TOKENS, st.text(max_size=6)), max_size=6).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_LINES, max_size=8).map("\n".join)))
def test_parsing_arbitrary_text_raises_only_config_error(text: str) -> None:
    try:
        entries = parse_config(text, "fuzz.conf")
    except ConfigError:
        return
    for kind in get_args(ConfigKind):
        with contextlib.suppress(ConfigError):
            apply(text, kind=kind)
    assert all(e.line >= 1 for e in entries)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_applying_arbitrary_files_raises_only_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.conf"
    path.write_bytes(data)
    try:
        apply_config(TestSettings(), path, model="resnet50", scenario="Server", kind="user")
    except ConfigError as error:
        assert error.path == str(path)


# --- C number parsing against the C library ----------------------------------------------------

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None
needs_libc = pytest.mark.skipif(_LIBC is None, reason="no C library to compare with")


def _libc(token: str) -> tuple[bool, float, int]:
    assert _LIBC is not None
    raw = token.encode()
    buffer = ctypes.create_string_buffer(raw)
    end = ctypes.c_char_p()
    _LIBC.strtod.restype = ctypes.c_double
    _LIBC.strtoull.restype = ctypes.c_ulonglong
    value = _LIBC.strtod(buffer, ctypes.byref(end))
    start = ctypes.cast(buffer, ctypes.c_void_p).value or 0
    consumed = (ctypes.cast(end, ctypes.c_void_p).value or 0) - start
    integer = _LIBC.strtoull(buffer, None, 0)
    return consumed == len(raw) and len(raw) > 0, value, integer


_NUMBER_SHAPE = r"[+-]?(0[xX])?[0-9a-f]{0,20}(\.[0-9]*)?([eEpP][+-]?[0-9]{1,4})?"
_NUMBER_TEXT = st.text(alphabet="0123456789abcdefxXpP.eE+-infINFNAty()_", min_size=1, max_size=12)


@needs_libc
@settings(max_examples=500, deadline=None)
@given(st.one_of(_NUMBER_TEXT, st.from_regex(_NUMBER_SHAPE, fullmatch=True)))
def test_number_syntax_and_values_match_the_c_library(token: str) -> None:
    _assert_matches_libc(token)


def _assert_matches_libc(token: str) -> None:
    valid, value, integer = _libc(token)
    assert is_c_number(token) == valid
    if valid:
        ours = c_strtod(token)
        assert ours == value or (math.isnan(ours) and math.isnan(value))
        assert c_strtoull(token) == integer


@needs_libc
@pytest.mark.parametrize(
    "token",
    [
        "-1",
        "-18446744073709551615",
        "-18446744073709551616",
        "99999999999999999999999",
        "0x.8p1",
        "1e-400",
        "0x1p-1075",
        "0x1p99999",
        "-nan",
        "INFINITY",
        "nan()",
        "08",
        "09.5",
        "-0",
    ],
)
def test_number_edge_cases_match_the_c_library(token: str) -> None:
    _assert_matches_libc(token)


# --- validate_settings -------------------------------------------------------------------------


def test_defaults_and_mlperf_settings_validate(tmp_path: Path) -> None:
    validate_settings(TestSettings())
    empty = tmp_path / "user.conf"
    empty.write_text("")
    for model in ("llama2-70b", "resnet50", "3d-unet", "gptj"):
        for scenario in TestScenario:
            validate_settings(TestSettings.from_config(empty, model, scenario))


def test_the_rules_file_is_not_a_user_conf() -> None:
    with pytest.raises(ConfigError, match="may only be set by the MLPerf rules file"):
        TestSettings.from_config("mlperf", "resnet50", "Server")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scenario": TestScenario.Server, "server_target_qps": -1.0}, "server_target_qps"),
        ({"scenario": TestScenario.Server, "server_target_qps": 0.0}, "server_target_qps"),
        ({"scenario": TestScenario.Server, "server_target_qps": math.nan}, "server_target_qps"),
        ({"scenario": TestScenario.Offline, "offline_expected_qps": -2.0}, "offline_expected_qps"),
        (
            {"scenario": TestScenario.Offline, "offline_expected_qps": math.inf},
            "offline_expected_qps",
        ),
        ({"single_stream_expected_latency_ns": 0.0}, "single_stream_expected_latency_ns"),
        (
            {"scenario": TestScenario.MultiStream, "multi_stream_expected_latency_ns": -1.0},
            "multi_stream_expected_latency_ns",
        ),
        (
            {"single_stream_target_latency_percentile": 1.0},
            "single_stream_target_latency_percentile",
        ),
        (
            {"scenario": TestScenario.MultiStream, "multi_stream_target_latency_percentile": 0.0},
            "multi_stream_target_latency_percentile",
        ),
        (
            {"scenario": TestScenario.Server, "server_target_latency_percentile": 99.0},
            "server_target_latency_percentile",
        ),
        (
            {"scenario": TestScenario.MultiStream, "multi_stream_samples_per_query": 0},
            "multi_stream_samples_per_query",
        ),
        ({"min_duration_ms": -1}, "min_duration_ms"),
        ({"min_query_count": -5}, "min_query_count"),
        ({"max_query_count": 1.5}, "max_query_count"),
        ({"qsl_rng_seed": U64}, "qsl_rng_seed"),
        ({"drain_timeout_ms": 0}, "drain_timeout_ms"),
        ({"mode": TestMode.FindPeakPerformance}, "FindPeakPerformance"),
        (
            {"performance_issue_unique": True, "performance_issue_same": True},
            "performance_issue_unique",
        ),
        (
            {"scenario": TestScenario.Server, "server_num_issue_query_threads": 2},
            "server_num_issue_query_threads",
        ),
        (
            {
                "scenario": TestScenario.Server,
                "mode": TestMode.FindPeakPerformance,
                "server_find_peak_qps_boundary_step_size": 0.0,
            },
            "server_find_peak_qps_boundary_step_size",
        ),
        ({"accuracy_log_probability": 50.0}, "accuracy_log_probability"),
        ({"scenario": 7}, "scenario"),
    ],
)
def test_settings_that_cannot_run_raise_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(SettingsError, match=field):
        validate_settings(attrs.evolve(TestSettings(), **changes))


def test_validation_lists_every_problem_and_ignores_other_scenarios() -> None:
    with pytest.raises(SettingsError) as info:
        validate_settings(TestSettings(min_duration_ms=-1, min_query_count=-2))
    assert "min_duration_ms" in str(info.value)
    assert "min_query_count" in str(info.value)
    # A Server-only value does not stop a SingleStream run (the reference never reads it).
    validate_settings(TestSettings(server_target_qps=-1.0, server_num_issue_query_threads=4))
    # drain_timeout_ms is checked once the types are right
    with pytest.raises(SettingsError, match="drain_timeout_ms"):
        validate_settings(TestSettings(drain_timeout_ms=-3))
