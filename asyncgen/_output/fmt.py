"""Number and value formatting exactly as the reference's C++ streams print them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence


def cpp_double(value: float) -> str:
    """A double in C++ default ostream format (6 significant digits): ``1e+06``, ``666.667``."""
    return f"{value:g}"


def fixed(value: float, precision: int = 2) -> str:
    """The reference's ``DoubleToString``: fixed notation, ``precision`` decimals."""
    return f"{value:.{precision}f}"


def summary_value(value: object) -> str:
    """A value as the summary file prints it: bools 0/1, doubles C++-default, rest plain."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return cpp_double(value)
    return str(value)


def mllog_value(value: object) -> str:
    """A value as the detail log prints it after ``"value": ``.

    Unlike the reference (which writes strings unescaped), strings are JSON-escaped so every
    line parses; for the strings the reference writes, the output is identical.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _json_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(str(int(v)) for v in value) + "]"
    raise TypeError(f"cannot log a value of type {type(value).__name__}")


def _json_double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return cpp_double(value)
