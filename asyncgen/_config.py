"""Config files in LoadGen's ``model.scenario.key = value`` format, and settings validation.

Values, units, precedence, integer parsing and boolean rules are exactly the reference's; where
the reference ignores a mistake silently, asyncgen raises ``ConfigError`` naming the file, the
line and, for a typo, the closest valid key, and applies nothing from that file. The work is
split by step, each module describing its part of the format:

- ``_config_numbers``: values as C reads them (``010`` is octal, ``0.5`` is 0 for an integer).
- ``_config_keys``: the table of keys, their fields, units and which files may set them.
- ``_config_parse``: the syntax of a line (spacing, comments, one value).
- ``_config_check``: whether a line's key, scenario and value are allowed in its file.
- ``_config_apply``: applying a file to TestSettings with the reference's precedence;
  ``TestSettings.from_config`` and the run's audit.config.
- ``_config_presets``: where mlperf.conf and the named presets live.
- ``_config_validate``: whether a TestSettings can run at all.

asyncgen's own modules import from those; this one keeps every name the single-module version
had, for the runner and for code written against it.
"""

from __future__ import annotations

from asyncgen._config_apply import (
    apply_audit_config,
    apply_config,
    apply_config_text,
    load_settings,
    scenario_name,
)
from asyncgen._config_check import check_entry
from asyncgen._config_keys import (
    C_INT_MAX,
    KEYS,
    MS_TO_NS,
    PERCENT,
    ConfigKind,
    KeySpec,
    ValueKind,
)
from asyncgen._config_numbers import (
    U64_MAX,
    c_integer_prefix,
    c_strtod,
    c_strtoull,
    is_c_number,
)
from asyncgen._config_parse import ConfigEntry, parse_config
from asyncgen._config_presets import StrPath, presets_dir, resolve_preset
from asyncgen._config_validate import validate_settings

__all__ = [
    "C_INT_MAX",
    "KEYS",
    "MS_TO_NS",
    "PERCENT",
    "U64_MAX",
    "ConfigEntry",
    "ConfigKind",
    "KeySpec",
    "StrPath",
    "ValueKind",
    "apply_audit_config",
    "apply_config",
    "apply_config_text",
    "c_integer_prefix",
    "c_strtod",
    "c_strtoull",
    "check_entry",
    "is_c_number",
    "load_settings",
    "parse_config",
    "presets_dir",
    "resolve_preset",
    "scenario_name",
    "validate_settings",
]
