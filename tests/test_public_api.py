"""The curated public surface: sorted, complete, documented, shown at its public path."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import asyncgen
import asyncgen.result
import asyncgen.settings
import asyncgen.sut
import asyncgen.testing
from tests.helpers import log_to, short_settings

FACADES = (asyncgen.result, asyncgen.settings, asyncgen.sut, asyncgen.testing)


def _documented(module: ModuleType) -> Iterator[tuple[str, object]]:
    """The classes and functions a public module exports (aliases and strings have no
    ``__module__`` or docstring of their own)."""
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) or inspect.isfunction(obj):
            yield name, obj


def _public_methods(cls: type) -> Iterator[tuple[str, object]]:
    for attr, member in vars(cls).items():
        function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
        function = function.fget if isinstance(function, property) else function
        if not attr.startswith("_") and inspect.isfunction(function):
            yield attr, function


def test_all_is_sorted_and_resolves() -> None:
    for module in (asyncgen, *FACADES):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name), name


def test_no_private_names_are_exported() -> None:
    assert not [n for n in asyncgen.__all__ if n.startswith("_") and n != "__version__"]


def test_the_facades_export_nothing_asyncgen_lacks() -> None:
    for module in (asyncgen.result, asyncgen.settings, asyncgen.sut):
        for name in module.__all__:
            assert getattr(asyncgen, name) is getattr(module, name), name


def test_design_names_exist() -> None:
    for name in (
        "run_test",
        "run",
        "TestSettings",
        "TestScenario",
        "TestMode",
        "LogSettings",
        "LogOutputSettings",
        "QuerySample",
        "QuerySampleResponse",
        "FunctionSUT",
        "query_samples_complete",
        "SystemUnderTest",
        "QuerySampleLibrary",
    ):
        assert name in asyncgen.__all__


def test_types_in_public_signatures_are_exported() -> None:
    for name in ("Clock", "MonotonicClock", "PacingMode", "ProgressCallback", "ResponseData"):
        assert name in asyncgen.__all__
    assert "DatasetError" in asyncgen.__all__
    assert asyncgen.testing.FakeClock().now_ns() == 0


def test_exports_show_their_public_path() -> None:
    for name, obj in _documented(asyncgen):
        assert obj.__module__ == "asyncgen", name  # type: ignore[attr-defined]
    assert repr(asyncgen.TestScenario.Server) == "<TestScenario.Server: 2>"
    assert "asyncgen.TestSettings" in repr(asyncgen.TestSettings)
    assert asyncgen.testing.FakeClock.__module__ == "asyncgen.testing"


@pytest.mark.parametrize("module", [asyncgen, asyncgen.testing], ids=lambda m: m.__name__)
def test_every_export_and_its_public_methods_have_docstrings(module: ModuleType) -> None:
    missing = []
    for name, obj in _documented(module):
        if not inspect.getdoc(obj):
            missing.append(name)
        if isinstance(obj, type):
            missing += [f"{name}.{m}" for m, f in _public_methods(obj) if not inspect.getdoc(f)]
    assert not missing


def test_the_package_is_typed() -> None:
    assert (Path(asyncgen.__file__).parent / "py.typed").is_file()


def test_exported_values_pickle_by_their_public_path(tmp_path: Path) -> None:
    """Ray and multiprocessing pickle settings, results and errors by qualified name."""
    settings = asyncgen.TestSettings(scenario=asyncgen.TestScenario.Server, min_query_count=7)
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)))
    lag = asyncgen.IssueLag.from_lags(np.array([3, 1, 2], dtype=np.int64))
    for value in (
        settings,
        log,
        lag,
        asyncgen.TestMode.AccuracyOnly,
        asyncgen.LoggingMode.AsyncPoll,
        asyncgen.QuerySampleResponse(5, b"ab", 2),
        asyncgen.ServiceTime(distribution="constant"),
    ):
        data = pickle.dumps(value)
        assert b"asyncgen\n" in data or b"\x08asyncgen" in data, value  # found at asyncgen.X
        assert pickle.loads(data) == value
    error = pickle.loads(pickle.dumps(asyncgen.SettingsError("bad")))
    assert type(error) is asyncgen.SettingsError and str(error) == "bad"
    assert pickle.loads(pickle.dumps(asyncgen.run_test)) is asyncgen.run_test


@pytest.mark.asyncio
async def test_a_test_result_pickles(tmp_path: Path) -> None:
    settings = short_settings(asyncgen.TestScenario.Server)
    sut = asyncgen.SimulatedSUT(asyncgen.ServiceTime(distribution="constant", mean_ms=0.1))
    result = await asyncgen.run_test(
        sut, asyncgen.SimulatedQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
    )
    copy = pickle.loads(pickle.dumps(result))
    assert type(copy) is asyncgen.TestResult
    assert copy.to_dict() == result.to_dict()
    assert np.array_equal(copy.latencies_ns, result.latencies_ns)
