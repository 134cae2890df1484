"""Config values as the reference's C library reads them: ``strtoull(s, 0)`` and ``strtod(s)``.

A value is accepted only if all of it is a C number (:func:`is_c_number`). Integer keys then read
the longest integer prefix, so ``010`` is octal, ``0x10`` hex and ``0.5`` is 0; negatives wrap
and overflow clamps as glibc does. The checks that turn those surprises into errors live in
``asyncgen._config.check``; this module only reproduces the arithmetic.
"""

from __future__ import annotations

import math
import re

U64_MAX = (1 << 64) - 1

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
