"""The curated public surface: sorted, complete, and nothing private leaks."""

from __future__ import annotations

import asyncgen


def test_all_is_sorted_and_resolves() -> None:
    assert asyncgen.__all__ == sorted(asyncgen.__all__)
    for name in asyncgen.__all__:
        assert hasattr(asyncgen, name), name


def test_no_private_names_are_exported() -> None:
    assert not [n for n in asyncgen.__all__ if n.startswith("_") and n != "__version__"]


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
