"""Config text to ``model.scenario.key = value`` entries, checking the syntax of each line.

Only the shape of a line is checked here; ``asyncgen._config.check`` checks its key.
Accepted: blank lines, any line whose first word starts with ``#`` (``#note`` too, which the
reference rejects), any spacing and CRLF line ends. Rejected with a ``ConfigError`` naming the
line: ``key=value`` without spaces, a key with no ``= value``, a trailing ``# comment``, more
than one value, a value that is not a C integer or double, and a key not of the form
``model.scenario.key``.
"""

from __future__ import annotations

import re

import attrs

from asyncgen._config.numbers import is_c_number
from asyncgen._errors import ConfigError

# What C's isspace() splits on; the reference reads a line as whitespace-separated words.
C_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_HOW = "write 'model.scenario.key = value', with spaces around '='"


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


def parse_config(text: str, path: str | None = None) -> list[ConfigEntry]:
    """Split a config text into entries, checking the syntax of every line (not the keys)."""
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        tokens = [t for t in C_WHITESPACE.split(line) if t]
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
