"""Typed, mutable attribute structs: how the reference's ``def_readwrite`` fields behave.

The reference's value classes accept assignments the way pybind11 converts arguments: an
integer field takes ints (and bools), never floats or strings; a ``double`` field takes any
number; an enum field takes only its own enum's members; an unknown attribute name is an
``AttributeError``. Checking at assignment gives harness bugs the same early, clear error.
"""

from __future__ import annotations

import enum
import operator
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

Coerce = Callable[[str, object], object]

U64_MAX = (1 << 64) - 1
C_INT_MIN, C_INT_MAX = -(1 << 31), (1 << 31) - 1


def _integer(name: str, value: object, low: int, high: int, kind: str) -> int:
    if isinstance(value, float | str | bytes):
        raise TypeError(f"{name} takes {kind}, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} takes {kind}, got {value!r}") from None
    if not low <= number <= high:
        raise TypeError(f"{name} takes {kind}, got {number} (out of range)")
    return number


def uint64(name: str, value: object) -> int:
    """A C ``uint64_t``/``size_t`` field."""
    return _integer(name, value, 0, U64_MAX, "an integer from 0 to 2**64-1")


def c_int(name: str, value: object) -> int:
    """A C ``int`` field."""
    return _integer(name, value, C_INT_MIN, C_INT_MAX, "a 32-bit integer")


def int64(name: str, value: object) -> int:
    """A C ``int64_t`` field."""
    return _integer(name, value, -(1 << 63), (1 << 63) - 1, "a 64-bit integer")


def double(name: str, value: object) -> float:
    """A C ``double`` field: any real number."""
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} takes a number, got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} takes a number, got {value!r}") from None


def boolean(name: str, value: object) -> bool:
    """A C ``bool`` field: bools and numbers (pybind11 converts through ``__bool__``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | bytes) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} takes a bool, got {value!r}")
    return bool(value)


def text(name: str, value: object) -> str:
    """A ``std::string`` field; paths are accepted too, for convenience."""
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)  # type: ignore[no-any-return]
    raise TypeError(f"{name} takes a str, got {value!r}")


def member_of(enum_type: type[enum.Enum]) -> Coerce:
    """An enum field: only ``enum_type`` members, or the same-named member of a look-alike."""

    def coerce(name: str, value: object) -> object:
        if isinstance(value, enum_type):
            return value
        if isinstance(value, enum.Enum) and value.name in enum_type.__members__:
            return enum_type[value.name]  # e.g. asyncgen.TestScenario.Server
        raise TypeError(f"{name} takes a {enum_type.__name__} member, got {value!r}")

    return coerce


class Struct:
    """Base of the value classes: fixed attribute names, converted on assignment.

    Subclasses set ``_FIELDS`` (name -> converter) and ``_DEFAULTS`` (name -> default value;
    mutable defaults are given as zero-argument factories in ``_FACTORIES``) and list the
    names in ``__slots__``.
    """

    __slots__ = ()
    _FIELDS: ClassVar[Mapping[str, Coerce]] = {}
    _DEFAULTS: ClassVar[Mapping[str, object]] = {}
    _FACTORIES: ClassVar[Mapping[str, Callable[[], object]]] = {}

    def __init__(self) -> None:
        for name, value in self._DEFAULTS.items():
            object.__setattr__(self, name, value)
        for name, factory in self._FACTORIES.items():
            object.__setattr__(self, name, factory())

    def __setattr__(self, name: str, value: Any) -> None:
        coerce = self._FIELDS.get(name)
        if coerce is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        object.__setattr__(self, name, coerce(f"{type(self).__name__}.{name}", value))

    def __repr__(self) -> str:
        changed = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self._FIELDS
            if name in self._FACTORIES or getattr(self, name) != self._DEFAULTS[name]
        )
        return f"{type(self).__name__}({changed})"
