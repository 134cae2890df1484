"""Config files applied to TestSettings with the reference's precedence; ``from_config``.

A line sets one key for one model and one scenario; either may be ``*``. For model ``M`` and
scenario ``S`` a key ``K`` is looked up as ``M.S.K``, ``*.S.K``, ``M.*.K``, ``*.*.K`` (first match
wins; of two lines with the same full key the later wins). Scenario-specific keys
(``Server.target_qps``, ``SingleStream.target_latency``, ...) are looked up under their own
scenario whatever ``S`` is, so one file fills every scenario's fields. Keys are read in the
reference's order, so a token latency key counts only once its switch is on. An audit.config is
applied with model ``*`` and the run's scenario, so its model-specific lines have no effect.

Every line is parsed and checked before anything is applied: a file with any error changes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from asyncgen._config_check import check_entry
from asyncgen._config_keys import FILE_NAMES, KEYS, ConfigKind, KeySpec
from asyncgen._config_numbers import c_strtod, c_strtoull
from asyncgen._config_parse import C_WHITESPACE, ConfigEntry, parse_config
from asyncgen._config_presets import StrPath, presets_dir, resolve_preset
from asyncgen._errors import ConfigError
from asyncgen.settings import TestMode, TestScenario, TestSettings

_S = TypeVar("_S", bound=TestSettings)


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
    if kind not in FILE_NAMES:
        raise ConfigError(f"unknown config kind {kind!r}; use 'mlperf', 'user' or 'audit'")
    if not model or C_WHITESPACE.search(model):
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


def _changes(
    entries: list[ConfigEntry], settings: TestSettings, model: str, scenario: str, kind: ConfigKind
) -> dict[str, object]:
    """The field values the entries set, reading the keys in the reference's order."""
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


def _field_values(settings: TestSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in attrs.fields(TestSettings)}
