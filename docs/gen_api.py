"""Write docs/api.md, the API reference, from the docstrings of everything asyncgen exports.

Run it with ``make docs``. Every name in ``asyncgen.__all__`` (and ``asyncgen.testing``) must
belong to one of the sections below, so a new export cannot be left out of the page.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncgen
import asyncgen.testing

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "api.md"

SECTIONS: dict[str, tuple[str, ...]] = {
    "Running a test": ("run_test", "run", "ProgressCallback", "Progress", "WorkerProgress"),
    "Settings": (
        "TestSettings",
        "TestScenario",
        "TestMode",
        "LogSettings",
        "LogOutputSettings",
        "LoggingMode",
        "ServiceLevelObjectives",
    ),
    "The system under test": (
        "SystemUnderTest",
        "QuerySampleLibrary",
        "QuerySample",
        "ResponseData",
        "QuerySampleResponse",
        "query_samples_complete",
        "first_token_complete",
        "FunctionSUT",
        "ConversationLibrary",
        "TurnSample",
    ),
    "Results": (
        "TestResult",
        "PerformanceSummary",
        "LatencyStats",
        "Rates",
        "IssueLag",
        "Goodput",
        "SloOutcome",
        "RunHealth",
        "WorkerHealth",
        "ArrivalFidelity",
        "LoopStalls",
        "TokenCounts",
        "TokenDistribution",
        "QueueWait",
        "TurnStats",
        "EffectiveSettings",
        "PerformanceResult",
    ),
    "Time": ("Clock", "MonotonicClock", "PacingMode"),
    "Errors": (
        "AsyncgenError",
        "ConfigError",
        "DatasetError",
        "SettingsError",
        "OutputError",
        "ProtocolError",
        "RunError",
        "WorkerError",
    ),
    "Simulated SUT and QSL": ("SimulatedSUT", "SimulatedQSL", "ServiceTime"),
}
TESTING_SECTION = "asyncgen.testing"


def alias_doc(name: str) -> str:
    """The string literal right under ``name = ...`` in the module that defines the alias."""
    for path in sorted((REPO / "asyncgen").rglob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for node, after in itertools.pairwise(body):
            targets = node.targets if isinstance(node, ast.Assign) else []
            named = any(isinstance(t, ast.Name) and t.id == name for t in targets)
            if named and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                return inspect.cleandoc(str(after.value.value))
    return ""


def _default(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _parameters(obj: Any) -> list[str]:
    """Each parameter as written in the source, without ``self`` and private ones."""
    out: list[str] = []
    for p in inspect.signature(obj).parameters.values():
        if p.name == "self" or p.name.startswith("_"):
            continue
        if p.kind is p.KEYWORD_ONLY and "*" not in out and not any(o[0] == "*" for o in out):
            out.append("*")
        text = p.name if p.kind is not p.VAR_KEYWORD else f"**{p.name}"
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {_default(p.default)}"
        out.append(text)
    return out


def _signature(name: str, obj: Any, prefix: str = "") -> str:
    params = _parameters(obj)
    returns = inspect.signature(obj).return_annotation
    tail = "" if returns is inspect.Signature.empty or prefix == "class " else f" -> {returns}"
    one_line = f"{prefix}{name}({', '.join(params)}){tail}"
    if len(one_line) <= 96:
        return one_line
    return f"{prefix}{name}(\n" + "".join(f"    {p},\n" for p in params) + f"){tail}"


def _doc(obj: object) -> str:
    return inspect.getdoc(obj) or ""


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


def _members(cls: type) -> Iterator[str]:
    """Public methods and properties, each with its signature and docstring."""
    for attr, member in vars(cls).items():
        function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
        if attr.startswith("_"):
            continue
        if isinstance(function, property):
            yield f"- `{attr}` (property)\n\n{_indented(_doc(function.fget))}\n"
        elif inspect.isfunction(function):
            prefix = "async " if inspect.iscoroutinefunction(function) else ""
            signature = _signature(attr, function, prefix)
            yield f"- `{signature}`\n\n{_indented(_doc(function))}\n"


def _class_line(name: str, cls: type) -> str:
    if getattr(cls, "_is_protocol", False):  # a Protocol has no constructor to show
        return f"class {name}(Protocol)"
    return _signature(name, cls, "class ")


def _entry(name: str, obj: Any) -> str:
    heading = f"### `{name}`\n\n"
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        members = ", ".join(f"`{m.name}` ({m.value})" for m in obj)
        return f"{heading}{_doc(obj)}\n\nMembers: {members}.\n"
    if isinstance(obj, type) and issubclass(obj, BaseException):
        bases = ", ".join(base.__name__ for base in obj.__bases__)
        return f"{heading}```python\nclass {name}({bases})\n```\n\n{_doc(obj)}\n"
    if isinstance(obj, type):
        members = "".join(f"\n{member}" for member in _members(obj))
        return f"{heading}```python\n{_class_line(name, obj)}\n```\n\n{_doc(obj)}\n{members}"
    if inspect.isfunction(obj):
        return f"{heading}```python\n{_signature(name, obj)}\n```\n\n{_doc(obj)}\n"
    return f"{heading}```python\n{name} = {obj!r}\n```\n\n{alias_doc(name)}\n"


def _section(title: str, module: ModuleType, names: tuple[str, ...]) -> str:
    return f"## {title}\n\n" + "\n".join(_entry(n, getattr(module, n)) for n in names)


def render() -> str:
    placed = [name for names in SECTIONS.values() for name in names]
    missing = sorted(set(asyncgen.__all__) - set(placed) - {"__version__"})
    if missing:
        sys.exit(f"docs/gen_api.py: put {', '.join(missing)} in a section")
    parts = [
        "# API reference\n\n"
        "Generated from the docstrings by `make docs` (docs/gen_api.py): do not edit by hand.\n"
        "Everything here is importable from `asyncgen`; `asyncgen.testing` is its own module.\n"
    ]
    parts += [_section(title, asyncgen, names) for title, names in SECTIONS.items()]
    own = tuple(n for n in asyncgen.testing.__all__ if n not in asyncgen.__all__)
    shared = ", ".join(f"`{n}`" for n in asyncgen.testing.__all__ if n in asyncgen.__all__)
    testing = _section(TESTING_SECTION, asyncgen.testing, own)
    parts.append(f"{testing}\nAlso here, for tests to import from one place: {shared}.\n")
    return "\n".join(parts)


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}")
