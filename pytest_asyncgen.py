"""The asyncgen pytest plugin: the ``asyncgen_run`` fixture.

Installed with asyncgen (the ``pytest11`` entry point ``asyncgen``), so pytest loads it by
itself; ``-p no:asyncgen`` turns it off. A test (with pytest-asyncio) starts its SUT and awaits
the fixture to run a short test of it:

    import pytest
    from asyncgen import ServiceLevelObjectives
    from asyncgen.testing import assert_slos

    @pytest.mark.asyncio
    async def test_meets_its_slos(asyncgen_run):
        result = await asyncgen_run(sut, qsl, qps=20, slos=ServiceLevelObjectives(e2e_ms=200))
        assert_slos(result)       # fails with the table of what missed, naming the run folder

Each run writes its files to a folder under the test's ``tmp_path``; the folders are removed
when the test passes and kept when it fails.

This module sits outside the ``asyncgen`` package and imports it only when a test asks for
the fixture: pytest loads plugins before coverage starts, and a package imported that early
would be measured as never run.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Note whether the test's own call passed, for the fixture's teardown."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_PASSED] = report.passed


@pytest.fixture
def asyncgen_run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An ``asyncgen.testing.LoadTest``: ``await asyncgen_run(sut, qsl, qps=..., slos=...)``
    runs a short test and returns its ``TestResult``. Its folders (under ``tmp_path``) are
    kept only if the test fails."""
    from asyncgen.testing import LoadTest  # noqa: PLC0415 - see the module docstring

    runner = LoadTest(tmp_path / "asyncgen")
    yield runner
    if request.node.stash.get(_PASSED, False):
        shutil.rmtree(runner.folder, ignore_errors=True)
