"""What a config file changes in TestSettings, with the reference's precedence.

A line sets one key for one model and one scenario; either may be ``*``. For model ``M`` and
scenario ``S`` a key ``K`` is looked up as ``M.S.K``, ``*.S.K``, ``M.*.K``, ``*.*.K`` (first match
wins; of two lines with the same full key the later wins). Scenario-specific keys
(``Server.target_qps``, ``SingleStream.target_latency``, ...) are looked up under their own
scenario whatever ``S`` is, so one file fills every scenario's fields. Keys are read in the
reference's order, so a token latency key counts only once its switch is on. An audit.config is
applied with model ``*`` and the run's scenario, so its model-specific lines have no effect.

Every line is parsed and checked before anything is applied: a file with any error changes
nothing. This module computes the changes, a dict of field values, from the settings' present
values; ``asyncgen._config.settings`` applies them (``TestSettings.from_config``, audit.config).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from asyncgen._config.check import check_entry
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.keys import FILE_NAMES, KEYS, ConfigKind, KeySpec
from asyncgen._config.numbers import c_strtod, c_strtoull
from asyncgen._config.parse import C_WHITESPACE, ConfigEntry, parse_config
from asyncgen._config.presets import StrPath
from asyncgen._errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # config files are a few KiB; the reference's mlperf.conf is 8


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


def config_changes(
    current: Mapping[str, object],
    text: str,
    *,
    model: str,
    scenario: TestScenario | str,
    kind: ConfigKind,
    path: str | None = None,
) -> dict[str, object]:
    """The TestSettings field values that config ``text`` sets for ``model`` and ``scenario``.

    ``current`` holds the settings' present field values (a boolean switch decides whether
    the keys that depend on it are read). Every line is parsed and checked first: on any
    error ``ConfigError`` is raised and nothing is returned. ``path`` only labels errors.
    """
    if kind not in FILE_NAMES:
        raise ConfigError(f"unknown config kind {kind!r}; use 'mlperf', 'user' or 'audit'")
    if not model or C_WHITESPACE.search(model):
        raise ConfigError(f"model name {model!r} must be one non-empty word", path=path)
    name = scenario_name(scenario)
    entries = parse_config(text, path)
    for entry in entries:
        check_entry(entry, kind, path)
    return _changes(entries, current, model, name, kind)


def read_config(path: StrPath) -> str:
    """The text of a config file, or ``ConfigError`` naming it. At most ``MAX_CONFIG_BYTES``
    are read: a device (``--config /dev/urandom``) or a huge file is not a config file, and
    reading it whole would exhaust the memory."""
    try:
        with Path(path).open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        message = f"cannot read the config file: {exc.strerror or exc}"
        raise ConfigError(message, path=str(path)) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"longer than {MAX_CONFIG_BYTES // 1024} KiB: not a config file", path=str(path)
        )
    return raw.decode("utf-8", errors="replace")


def _changes(
    entries: list[ConfigEntry],
    current: Mapping[str, object],
    model: str,
    scenario: str,
    kind: ConfigKind,
) -> dict[str, object]:
    """The field values the entries set, reading the keys in the reference's order."""
    table = {entry.full_key: entry for entry in entries}  # later lines win
    changes: dict[str, object] = {}
    for spec in KEYS:
        if spec.field is None or kind not in spec.kinds:
            continue
        if spec.requires and not changes.get(spec.requires, current[spec.requires]):
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
