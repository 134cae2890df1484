"""What makes a shard's SUT and QSL: zero-argument factories, found by name or shipped.

With ``workers > 1`` every worker makes its own SUT and QSL, so ``run_test`` takes factories
(a class, or a module-level function, sync or async) or ``"module:object"`` strings, never
instances: an instance lives in the driver's process, with its connections and its loop, and
cannot be the SUT of another process. Ray pickles a module-level factory by reference (the
worker imports its module) and a closure by value.

``load_object`` and ``instantiate`` are also how ``asyncgen run`` finds ``--sut`` and ``--qsl``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._errors import ConfigError


def load_object(spec: str, what: str) -> Any:
    """The object ``spec`` names: ``package.module:attr`` or ``path/to/file.py:attr``.

    The working directory is importable, as with ``python -m``.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{what} {spec!r}: expected module:object or a URL")
    module = _import(module_name, what, spec)
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"{what} {spec!r}: {module_name} has no {attr!r}") from None
    return target


def _import(module_name: str, what: str, spec: str) -> ModuleType:
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        loader_spec = importlib.util.spec_from_file_location(path.stem, path)
        if not path.is_file() or loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"{what} {spec!r}: no Python file {module_name}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules.setdefault(path.stem, module)
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise ConfigError(f"{what} {spec!r}: importing {path} failed: {exc!r}") from exc
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # a console script does not put it there
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{what} {spec!r}: cannot import {exc.name or module_name}") from None
    except Exception as exc:  # the module itself is broken: say so instead of a traceback
        raise ConfigError(f"{what} {spec!r}: importing {module_name} failed: {exc!r}") from exc


async def instantiate(obj: Any, check: type, what: str, spec: str) -> Any:
    """``obj`` if it already is a ``check``, else what calling it with no arguments returns."""
    if not isinstance(obj, type) and _is_a(obj, check, what, spec):
        return obj
    if not callable(obj):
        raise ConfigError(f"{what} {spec!r} is neither a {check.__name__} nor a factory")
    try:
        made = obj()
        if inspect.isawaitable(made):
            made = await made
    except TypeError as exc:
        raise ConfigError(f"{what} {spec!r}: calling it with no arguments failed: {exc}") from exc
    except Exception as exc:
        raise ConfigError(f"{what} {spec!r}: making it raised {exc!r}") from exc
    if not _is_a(made, check, what, spec):
        raise ConfigError(
            f"{what} {spec!r} made a {type(made).__name__}, which is not a {check.__name__}"
        )
    return made


def _is_a(obj: Any, check: type, what: str, spec: str) -> bool:
    """``isinstance`` against a protocol, which reads its data members: one that raises (a
    ``name`` property) is an error naming it, not a traceback."""
    try:
        return isinstance(obj, check)
    except Exception as exc:
        members = _DATA_MEMBERS.get(check, "attributes")
        raise ConfigError(f"{what} {spec}: reading its {members} raised {exc!r}") from exc


_DATA_MEMBERS: dict[type, str] = {
    SystemUnderTest: "name",
    QuerySampleLibrary: "name, total_sample_count or performance_sample_count",
}


@attrs.frozen
class WithQSL:
    """A SUT factory that takes the worker's own QSL (the command line's URL adapters send
    that QSL's payloads): ``make(qsl)`` returns the SUT."""

    make: Callable[[QuerySampleLibrary], SystemUnderTest]


def check_factory(obj: object, protocol: type, what: str) -> None:
    """Reject what cannot make a SUT or QSL on a worker: an instance, or a non-callable."""
    if isinstance(obj, str | WithQSL):
        return
    if not isinstance(obj, type) and isinstance(obj, protocol):
        raise ConfigError(
            f"with workers > 1, {what} must be a zero-argument factory (a class or a "
            f"module-level function) or a 'module:object' string, not an instance of "
            f"{type(obj).__name__}: each worker makes its own"
        )
    if not callable(obj):
        raise ConfigError(
            f"with workers > 1, {what} must be a zero-argument factory or a 'module:object' "
            f"string; got {obj!r}"
        )


def _describe(obj: object) -> str:
    if isinstance(obj, str):
        return obj
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    return f"{getattr(obj, '__module__', '?')}:{name}"


async def make_qsl(spec: object) -> QuerySampleLibrary:
    """A worker's QSL from its factory or ``"module:object"`` string."""
    obj = load_object(spec, "qsl") if isinstance(spec, str) else spec
    qsl: QuerySampleLibrary = await instantiate(obj, QuerySampleLibrary, "qsl", _describe(spec))
    return qsl


async def make_sut(spec: object, qsl: QuerySampleLibrary) -> SystemUnderTest:
    """A worker's SUT from its factory or ``"module:object"`` string (``WithQSL``: given
    the worker's QSL)."""
    if isinstance(spec, WithQSL):
        made = spec.make(qsl)
        if inspect.isawaitable(made):
            made = await made
        return made
    obj = load_object(spec, "sut") if isinstance(spec, str) else spec
    sut: SystemUnderTest = await instantiate(obj, SystemUnderTest, "sut", _describe(spec))
    return sut
