"""Whether a parsed config line names a key its file may set, with a value LoadGen reads as meant.

Where the reference ignores a mistake silently, asyncgen raises ``ConfigError`` naming the file,
the line and, for a typo, the closest valid key. Rejected: an unknown key or scenario, a key
never read for the scenario it names, an integer key with a negative or too large value, a
negative or NaN decimal, a percentage over 100, ``mode`` outside 0..3, and an MLPerf-only key
outside the rules file.
"""

from __future__ import annotations

import difflib
import math

from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.keys import (
    FILE_NAMES,
    KEY_BY_FIELD,
    KEYS_BY_NAME,
    SCENARIO_PARTS,
    ConfigKind,
    KeySpec,
)
from asyncgen._config.numbers import c_integer_prefix, c_strtod
from asyncgen._config.parse import ConfigEntry
from asyncgen._errors import ConfigError


def check_entry(entry: ConfigEntry, kind: ConfigKind, path: str | None = None) -> None:
    """Raise ``ConfigError`` if ``entry`` is not a key that a ``kind`` file may set."""
    reach = _reachable_specs(entry)
    if isinstance(reach, str):
        raise ConfigError(reach, path=path, line=entry.line, key=entry.key)
    for spec in reach:
        if kind not in spec.kinds:
            owner = (
                FILE_NAMES["mlperf"] if "mlperf" in spec.kinds else "a user.conf or audit.config"
            )
            message = f"{entry.key} may only be set by {owner}, not by {FILE_NAMES[kind]}"
            raise ConfigError(message, path=path, line=entry.line, key=entry.key)
        problem = _value_problem(entry, spec)
        if problem is not None:
            raise ConfigError(problem, path=path, line=entry.line, key=entry.key)


def _reachable_specs(entry: ConfigEntry) -> list[KeySpec] | str:
    """The table rows a line can set, or why it can set none."""
    if entry.scenario not in SCENARIO_PARTS:
        best = _closest(entry.scenario, list(SCENARIO_PARTS))
        hint = (
            f"did you mean '{entry.model}.{best}.{entry.key}'?"
            if best
            else (f"use one of {', '.join(SCENARIO_PARTS)}")
        )
        return f"unknown scenario {entry.scenario!r} in {entry.full_key!r}; {hint}"
    specs = KEYS_BY_NAME.get(entry.key)
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


def _unknown_key(entry: ConfigEntry) -> str:
    spec = KEY_BY_FIELD.get(entry.key)
    if spec is not None:  # a TestSettings field name written as a key
        scenario = spec.scenario.name if spec.scenario is not None else entry.scenario
        return (
            f"{entry.key!r} is a TestSettings field; the config key is "
            f"'{entry.model}.{scenario}.{spec.name}'{_unit(spec)}"
        )
    best = _closest(entry.key, list(KEYS_BY_NAME))
    hint = f"; did you mean '{entry.model}.{entry.scenario}.{best}'?" if best else ""
    return f"unknown key {entry.key!r} in {entry.full_key!r}{hint}"


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


def _closest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _unit(spec: KeySpec) -> str:
    return {"ms": " in milliseconds", "percent": " in percent"}.get(spec.unit, "")
