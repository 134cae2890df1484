"""Config files in LoadGen's ``model.scenario.key = value`` format, and settings validation.

A line sets one key for one model and one scenario; either may be ``*``. For model ``M`` and
scenario ``S`` a key ``K`` is looked up as ``M.S.K``, ``*.S.K``, ``M.*.K``, ``*.*.K`` (first match
wins); scenario-specific keys (``Server.target_qps``, ``SingleStream.target_latency``, ...) are
looked up under their own scenario whatever ``S`` is, so one file fills every scenario's fields.
Latencies are in ms, percentiles in percent. Values, units, integer parsing (``010`` is octal,
``0x10`` hex, ``0.5`` is 0 for an integer key) and boolean rules are exactly the reference's.

Three kinds of file: the MLPerf rules file (``mlperf.conf``, the only one that may set the seeds,
``accuracy_log_probability`` and ``test05*``), a ``user.conf``, and an ``audit.config`` (applied
with model ``*`` and the run's scenario, so model-specific audit lines have no effect).

Where the reference ignores a mistake silently, asyncgen raises ``ConfigError`` naming the file,
the line and, for a typo, the closest valid key. Nothing is applied from a file with any error.

Accepted: blank lines, any line whose first word starts with ``#`` (``#note`` too, which the
reference rejects), any spacing and CRLF line ends. Rejected: ``key=value`` without spaces, a key
with no ``= value``, a trailing ``# comment``, more than one value, a value that is not a C integer
or double, an unknown key or scenario, a key never read for the scenario it names, an
integer key with a negative or too large value, ``mode`` outside 0..3, and an MLPerf-only key
outside the rules file. Keys that real MLPerf files carry but LoadGen never reads
(``target_duration``, ``Offline.target_latency_percentile``, the compliance scripts'
``test07_*``/``test09_*`` thresholds) are accepted and ignored.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs

from asyncgen._errors import ConfigError, SettingsError
from asyncgen.settings import TestMode, TestScenario, TestSettings

ConfigKind = Literal["mlperf", "user", "audit"]
StrPath = str | os.PathLike[str]
ValueKind = Literal["int", "double", "bool", "mode"]

_S = TypeVar("_S", bound=TestSettings)

U64_MAX = (1 << 64) - 1
C_INT_MAX = (1 << 31) - 1
MS_TO_NS = 1_000_000.0
PERCENT = 0.01

_ANY: frozenset[ConfigKind] = frozenset({"mlperf", "user", "audit"})
_RULES_ONLY: frozenset[ConfigKind] = frozenset({"mlperf"})
_NOT_RULES: frozenset[ConfigKind] = frozenset({"user", "audit"})
_FILE_NAMES: Mapping[ConfigKind, str] = {
    "mlperf": "the MLPerf rules file (mlperf.conf)",
    "user": "a user.conf",
    "audit": "an audit.config",
}


@attrs.frozen(kw_only=True)
class KeySpec:
    """One config key as LoadGen reads it; the table below is the single source of truth."""

    name: str
    kind: ValueKind
    field: str | None  # the TestSettings field; None for a known key LoadGen never reads
    scenario: TestScenario | None = None  # read under this scenario only; None: any scenario
    unit: Literal["", "ms", "percent"] = ""  # as written in the file
    scale: float = 1.0  # file value -> field value: ms -> ns, percent -> fraction
    kinds: frozenset[ConfigKind] = _ANY  # which files may set it
    true_if_one: bool = False  # booleans: ``== 1`` instead of ``!= 0``
    requires: str | None = None  # read only while this boolean field is on
    max_value: int = U64_MAX


def _k(name: str, kind: ValueKind, field: str | None, **kw: Any) -> KeySpec:
    return KeySpec(name=name, kind=kind, field=field, **kw)


_SS = TestScenario.SingleStream
_MS = TestScenario.MultiStream
_SRV = TestScenario.Server
_OFF = TestScenario.Offline

# In the reference's reading order: the token keys depend on the switches read before them.
# fmt: off
KEYS: tuple[KeySpec, ...] = (
    _k("mode", "mode", "mode"),
    _k("qsl_rng_seed", "int", "qsl_rng_seed", kinds=_RULES_ONLY),
    _k("sample_index_rng_seed", "int", "sample_index_rng_seed", kinds=_RULES_ONLY),
    _k("schedule_rng_seed", "int", "schedule_rng_seed", kinds=_RULES_ONLY),
    _k("accuracy_log_probability", "double", "accuracy_log_probability", unit="percent",
       scale=PERCENT, kinds=_RULES_ONLY),
    _k("test05", "bool", "test05", true_if_one=True, kinds=_RULES_ONLY),
    _k("test05_qsl_rng_seed", "int", "test05_qsl_rng_seed", kinds=_RULES_ONLY),
    _k("test05_sample_index_rng_seed", "int", "test05_sample_index_rng_seed", kinds=_RULES_ONLY),
    _k("test05_schedule_rng_seed", "int", "test05_schedule_rng_seed", kinds=_RULES_ONLY),
    _k("use_token_latencies", "bool", "use_token_latencies", true_if_one=True),
    _k("ttft_latency", "int", "ttft_latency", scenario=_SRV, unit="ms", scale=MS_TO_NS,
       requires="use_token_latencies"),
    _k("tpot_latency", "int", "tpot_latency", scenario=_SRV, unit="ms", scale=MS_TO_NS,
       requires="use_token_latencies"),
    _k("infer_token_latencies", "bool", "infer_token_latencies", true_if_one=True),
    _k("token_latency_scaling_factor", "int", "token_latency_scaling_factor",
       requires="infer_token_latencies"),
    _k("target_latency_percentile", "double", "single_stream_target_latency_percentile",
       scenario=_SS, unit="percent", scale=PERCENT),
    _k("target_latency_percentile", "double", "multi_stream_target_latency_percentile",
       scenario=_MS, unit="percent", scale=PERCENT),
    _k("samples_per_query", "int", "multi_stream_samples_per_query", scenario=_MS),
    _k("target_latency_percentile", "double", "server_target_latency_percentile",
       scenario=_SRV, unit="percent", scale=PERCENT),
    _k("target_latency", "int", "server_target_latency_ns", scenario=_SRV, unit="ms",
       scale=MS_TO_NS),
    _k("performance_issue_unique", "bool", "performance_issue_unique"),
    _k("performance_issue_same", "bool", "performance_issue_same"),
    _k("performance_issue_same_index", "int", "performance_issue_same_index"),
    _k("sample_concatenate_permutation", "bool", "sample_concatenate_permutation",
       true_if_one=True),
    _k("coalesce_queries", "bool", "server_coalesce_queries", scenario=_SRV),
    # The reference narrows this one through a C int: larger values come out mangled.
    _k("max_async_queries", "int", "server_max_async_queries", scenario=_SRV,
       max_value=C_INT_MAX),
    _k("min_duration", "int", "min_duration_ms", unit="ms"),
    _k("max_duration", "int", "max_duration_ms", unit="ms"),
    _k("min_query_count", "int", "min_query_count"),
    _k("max_query_count", "int", "max_query_count"),
    _k("performance_sample_count_override", "int", "performance_sample_count_override"),
    _k("accuracy_sample_count_override", "int", "accuracy_sample_count_override"),
    _k("target_latency", "double", "single_stream_expected_latency_ns", scenario=_SS,
       unit="ms", scale=MS_TO_NS),
    _k("target_latency", "double", "multi_stream_expected_latency_ns", scenario=_MS,
       unit="ms", scale=MS_TO_NS),
    _k("target_qps", "double", "server_target_qps", scenario=_SRV),
    _k("target_qps", "double", "offline_expected_qps", scenario=_OFF),
    _k("print_timestamps", "bool", "print_timestamps"),
    _k("accuracy_log_rng_seed", "int", "accuracy_log_rng_seed"),
    _k("accuracy_log_sampling_target", "int", "accuracy_log_sampling_target"),
    # Known but never read by LoadGen: in its own mlperf.conf, or read by compliance scripts.
    _k("target_duration", "double", None, unit="ms"),
    _k("target_latency_percentile", "double", None, scenario=_OFF, unit="percent"),
    _k("test07_accuracy_threshold", "double", None, kinds=_NOT_RULES),
    _k("test09_min_output_tokens", "double", None, kinds=_NOT_RULES),
    _k("test09_max_output_tokens", "double", None, kinds=_NOT_RULES),
)
# fmt: on

_BY_NAME: dict[str, list[KeySpec]] = {}
for _spec in KEYS:
    _BY_NAME.setdefault(_spec.name, []).append(_spec)
_BY_FIELD = {spec.field: spec for spec in KEYS if spec.field is not None}
_SCENARIO_PARTS = ("*", *(s.name for s in TestScenario))


@attrs.frozen
class ConfigEntry:
    """One ``model.scenario.key = value`` line; ``value`` is the raw text."""

    model: str
    scenario: str
    key: str
    value: str
    line: int

    @property
    def full_key(self) -> str:
        return f"{self.model}.{self.scenario}.{self.key}"


# --- C number syntax (strtoul base 0 / strtod) -------------------------------------------------

_C_DOUBLE = re.compile(
    r"[+-]?(?:"
    r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)"
    r")"
)
_INT_PREFIX = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([0-9]*))")


def is_c_number(token: str) -> bool:
    """True if the reference accepts ``token`` as a value (all of it parses as a C number)."""
    return _C_DOUBLE.fullmatch(token) is not None


def c_integer_prefix(token: str) -> int:
    """The exact signed integer ``strtoull(token, 0)`` reads before it stops (``0.5`` -> 0)."""
    m = _INT_PREFIX.match(token)
    assert m is not None  # every alternative can match the empty string
    sign, hex_digits, octal, decimal = m.groups()
    digits, base = (hex_digits, 16) if hex_digits else (octal, 8) if octal else (decimal, 10)
    digits = digits.lstrip("0")
    # More than 64 significant digits is far beyond 64 bits; this also avoids int()'s digit limit.
    magnitude = U64_MAX + 1 if len(digits) > 64 else int(digits or "0", base)
    return -magnitude if sign == "-" else magnitude


def c_strtoull(token: str) -> int:
    """``strtoull(token, nullptr, 0)`` as glibc computes it: negatives wrap, overflow clamps."""
    value = c_integer_prefix(token)
    if abs(value) > U64_MAX:
        return U64_MAX
    return value % (U64_MAX + 1)


def c_strtod(token: str) -> float:
    """``strtod(token)`` for a token that :func:`is_c_number` accepts."""
    body = token.lstrip("+-")
    negative = token.startswith("-")
    if body[:2] in ("0x", "0X"):
        try:
            value = float.fromhex(body)
        except OverflowError:
            value = math.inf
    elif body[:1].isdigit() or body[:1] == ".":
        value = float(body)
    else:
        value = math.nan if body[:1] in "nN" else math.inf
    return -value if negative else value


# --- Parsing -----------------------------------------------------------------------------------

_C_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_HOW = "write 'model.scenario.key = value', with spaces around '='"


def parse_config(text: str, path: str | None = None) -> list[ConfigEntry]:
    """Split a config text into entries, checking the syntax of every line (not the keys)."""
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        tokens = [t for t in _C_SPACE.split(line) if t]
        if not tokens or tokens[0].startswith("#"):
            continue
        entries.append(_parse_line(tokens, number, path))
    return entries


def _parse_line(tokens: list[str], number: int, path: str | None) -> ConfigEntry:
    def fail(message: str) -> ConfigError:
        return ConfigError(message, path=path, line=number, key=tokens[0])

    if len(tokens) == 1:
        if "=" in tokens[0]:
            raise fail(f"{tokens[0]!r} has no spaces around '='; {_HOW}")
        raise fail(f"{tokens[0]!r} has no '= value'; {_HOW}")
    if tokens[1].startswith("#"):
        raise fail(f"{tokens[0]!r} has no '= value' before the comment; {_HOW}")
    if tokens[1] != "=":
        raise fail(f"expected '=' after the key, found {tokens[1]!r}; {_HOW}")
    if len(tokens) == 2:
        raise fail(f"no value after '='; {_HOW}")
    if len(tokens) > 3:
        if tokens[3].startswith("#"):
            raise fail("a comment after the value is not allowed; put it on a line of its own")
        raise fail(f"more than one value ({' '.join(tokens[2:])!r}); give one number")
    key, value = tokens[0], tokens[2]
    if not is_c_number(value):
        raise fail(
            f"value {value!r} is not a number; write an integer (10, 0x1f; a leading 0 means"
            " octal) or a decimal (2.5, 1e3)"
        )
    parts = key.rsplit(".", 2)
    if len(parts) != 3 or not all(parts):
        raise fail(f"key {key!r} is not 'model.scenario.key' (use * for any model or scenario)")
    return ConfigEntry(parts[0], parts[1], parts[2], value, number)


# --- Keys --------------------------------------------------------------------------------------


def _closest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _unit(spec: KeySpec) -> str:
    return {"ms": " in milliseconds", "percent": " in percent"}.get(spec.unit, "")


def _unknown_key(entry: ConfigEntry) -> str:
    spec = _BY_FIELD.get(entry.key)
    if spec is not None:  # a TestSettings field name written as a key
        scenario = spec.scenario.name if spec.scenario is not None else entry.scenario
        return (
            f"{entry.key!r} is a TestSettings field; the config key is "
            f"'{entry.model}.{scenario}.{spec.name}'{_unit(spec)}"
        )
    best = _closest(entry.key, list(_BY_NAME))
    hint = f"; did you mean '{entry.model}.{entry.scenario}.{best}'?" if best else ""
    return f"unknown key {entry.key!r} in {entry.full_key!r}{hint}"


def _reachable_specs(entry: ConfigEntry) -> list[KeySpec] | str:
    """The table rows a line can set, or why it can set none."""
    if entry.scenario not in _SCENARIO_PARTS:
        best = _closest(entry.scenario, list(_SCENARIO_PARTS))
        hint = (
            f"did you mean '{entry.model}.{best}.{entry.key}'?"
            if best
            else (f"use one of {', '.join(_SCENARIO_PARTS)}")
        )
        return f"unknown scenario {entry.scenario!r} in {entry.full_key!r}; {hint}"
    specs = _BY_NAME.get(entry.key)
    if specs is None:
        return _unknown_key(entry)
    reach = [
        s
        for s in specs
        if entry.scenario == "*" or s.scenario is None or s.scenario.name == entry.scenario
    ]
    if not reach:
        names = [sc.name for sc in TestScenario if any(s.scenario is sc for s in specs)]
        return (
            f"{entry.key!r} is read only for {', '.join(names)}, so {entry.full_key!r} has no"
            f" effect; write '{entry.model}.{names[0]}.{entry.key}' or use * as the scenario"
        )
    return reach


def _value_problem(entry: ConfigEntry, spec: KeySpec) -> str | None:
    """Values the reference would silently wrap, clamp or ignore for an integer-read key."""
    if spec.kind == "double":
        return _double_problem(entry, spec)
    number = c_integer_prefix(entry.value)
    if number < 0:
        return f"{entry.key} must not be negative, got {entry.value}"
    if spec.kind == "mode" and number > max(TestMode):
        modes = ", ".join(f"{m.value} ({m.name})" for m in TestMode)
        return f"mode must be one of {modes}; got {entry.value}"
    if number * int(spec.scale) > spec.max_value:
        limit = spec.max_value // int(spec.scale)
        return f"{entry.key} = {entry.value} is too large; at most {limit}{_unit(spec)}"
    return None


def _double_problem(entry: ConfigEntry, spec: KeySpec) -> str | None:
    """Out-of-range decimals, named with their line instead of failing later (issue 6)."""
    value = c_strtod(entry.value)
    if math.isnan(value) or value < 0:
        return f"{entry.key} must be a number from 0 up, got {entry.value}"
    if spec.unit == "percent" and value > 100:
        return f"{entry.key} is a percentage, at most 100; got {entry.value}"
    return None


def check_entry(entry: ConfigEntry, kind: ConfigKind, path: str | None = None) -> None:
    """Raise ``ConfigError`` if ``entry`` is not a key that a ``kind`` file may set."""
    reach = _reachable_specs(entry)
    if isinstance(reach, str):
        raise ConfigError(reach, path=path, line=entry.line, key=entry.key)
    for spec in reach:
        if kind not in spec.kinds:
            owner = (
                _FILE_NAMES["mlperf"] if "mlperf" in spec.kinds else "a user.conf or audit.config"
            )
            message = f"{entry.key} may only be set by {owner}, not by {_FILE_NAMES[kind]}"
            raise ConfigError(message, path=path, line=entry.line, key=entry.key)
        problem = _value_problem(entry, spec)
        if problem is not None:
            raise ConfigError(problem, path=path, line=entry.line, key=entry.key)


# --- Applying ----------------------------------------------------------------------------------


def scenario_name(scenario: TestScenario | str) -> str:
    """The canonical name of a scenario given as an enum or as text (``"server"`` too)."""
    if isinstance(scenario, TestScenario):
        return scenario.name
    compact = scenario.replace(" ", "").lower()
    for member in TestScenario:
        if member.name.lower() == compact:
            return member.name
    choices = ", ".join(s.name for s in TestScenario)
    raise ConfigError(f"unknown scenario {scenario!r}; use one of {choices}")


def _lookup(
    table: Mapping[str, ConfigEntry], model: str, scenario: str, key: str
) -> ConfigEntry | None:
    for m, s in ((model, scenario), ("*", scenario), (model, "*"), ("*", "*")):
        entry = table.get(f"{m}.{s}.{key}")
        if entry is not None:
            return entry
    return None


def _converted(spec: KeySpec, raw: str) -> object:
    if spec.kind == "double":
        return c_strtod(raw) * spec.scale
    number = c_strtoull(raw)
    if spec.kind == "int":
        return number * int(spec.scale)
    if spec.kind == "bool":
        return number == 1 if spec.true_if_one else number != 0
    return TestMode(number)


def _changes(
    entries: list[ConfigEntry], settings: TestSettings, model: str, scenario: str, kind: ConfigKind
) -> dict[str, object]:
    table = {entry.full_key: entry for entry in entries}  # later lines win
    changes: dict[str, object] = {}
    for spec in KEYS:
        if spec.field is None or kind not in spec.kinds:
            continue
        if spec.requires and not changes.get(spec.requires, getattr(settings, spec.requires)):
            continue
        where = spec.scenario.name if spec.scenario is not None else scenario
        entry = _lookup(table, model, where, spec.name)
        if entry is not None:
            changes[spec.field] = _converted(spec, entry.value)
    return changes


def apply_config_text(
    settings: _S,
    text: str,
    *,
    model: str,
    scenario: TestScenario | str,
    kind: ConfigKind,
    path: str | None = None,
) -> _S:
    """:func:`apply_config` for text already read; ``path`` only labels errors."""
    if kind not in _FILE_NAMES:
        raise ConfigError(f"unknown config kind {kind!r}; use 'mlperf', 'user' or 'audit'")
    if not model or _C_SPACE.search(model):
        raise ConfigError(f"model name {model!r} must be one non-empty word", path=path)
    name = scenario_name(scenario)
    entries = parse_config(text, path)
    for entry in entries:
        check_entry(entry, kind, path)
    changes: dict[str, Any] = _changes(entries, settings, model, name, kind)
    return attrs.evolve(settings, **changes)


def apply_config(
    settings: _S,
    path: StrPath,
    *,
    model: str,
    scenario: TestScenario | str,
    kind: ConfigKind,
) -> _S:
    """A copy of ``settings`` with a config file applied for ``model`` and ``scenario``.

    Like the reference's ``FromConfig`` it does not change ``settings.scenario``. On any error
    it raises ``ConfigError`` and nothing is applied.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        message = f"cannot read the config file: {exc.strerror or exc}"
        raise ConfigError(message, path=str(path)) from exc
    return apply_config_text(
        settings, text, model=model, scenario=scenario, kind=kind, path=str(path)
    )


def apply_audit_config(settings: _S, path: StrPath) -> _S:
    """Apply an audit.config the way a run does: model ``*``, the settings' own scenario."""
    return apply_config(settings, path, model="*", scenario=settings.scenario, kind="audit")


def load_settings(
    cls: type[_S],
    path: StrPath,
    model: str,
    scenario: TestScenario | str,
    *,
    base: TestSettings | None = None,
    apply_mlperf_conf: bool = True,
) -> _S:
    """``TestSettings.from_config``: the MLPerf rules, then a user.conf (a path or a preset name).

    Unlike the reference, the rules are applied on every call (it applies them only on the first
    user.conf of a process), and the returned settings have ``scenario`` set.
    """
    name = scenario_name(scenario)
    start = cls() if base is None else cls(**_field_values(base))
    settings = attrs.evolve(start, scenario=TestScenario[name])
    if apply_mlperf_conf:
        rules = presets_dir() / "mlperf.conf"
        settings = apply_config(settings, rules, model=model, scenario=name, kind="mlperf")
    return apply_config(settings, resolve_preset(path), model=model, scenario=name, kind="user")


def _field_values(settings: TestSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in attrs.fields(TestSettings)}


# --- Presets -----------------------------------------------------------------------------------

_PACKAGE_DIR = Path(__file__).resolve().parent


def presets_dir() -> Path:
    """The preset folder: ``asyncgen/_presets`` in a wheel, ``<repo>/scenarios`` in a checkout."""
    candidates = (_PACKAGE_DIR / "_presets", _PACKAGE_DIR.parent / "scenarios")
    for folder in candidates:
        if (folder / "mlperf.conf").is_file():
            return folder
    looked = " and ".join(str(c) for c in candidates)
    raise ConfigError(f"the preset folder with mlperf.conf is missing; looked in {looked}")


def resolve_preset(name_or_path: StrPath) -> Path:
    """An existing file path as is, else a preset in :func:`presets_dir` (``.conf`` optional)."""
    path = Path(name_or_path)
    if path.exists() and not path.is_dir():  # a file, or a device such as /dev/stdin
        return path
    if len(path.parts) == 1:
        folder = presets_dir()
        for candidate in (folder / path.name, folder / f"{path.name}.conf"):
            if candidate.is_file():
                return candidate
    presets = ", ".join(sorted(p.stem for p in presets_dir().glob("*.conf")))
    raise ConfigError(
        f"no config file {str(name_or_path)!r} and no preset of that name (presets: {presets})",
        path=str(name_or_path),
    )


# --- Validation --------------------------------------------------------------------------------

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
    yield from _scenario_problems(s, scenario, mode)
    if s.performance_issue_unique and s.performance_issue_same:
        yield "performance_issue_unique and performance_issue_same cannot both be on"
    if not 0.0 <= s.accuracy_log_probability <= 1.0:
        yield f"accuracy_log_probability must be from 0 to 1, got {s.accuracy_log_probability!r}"
    if s.drain_timeout_ms <= 0:
        yield f"drain_timeout_ms must be positive, got {s.drain_timeout_ms!r}"


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
