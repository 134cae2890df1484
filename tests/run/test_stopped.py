"""What a run that did not finish raises: every failure told, and cancellation first."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

import asyncgen
from asyncgen import QuerySample, RunError, SimulatedQSL, TestScenario
from asyncgen._run.stopped import stop_error
from tests.helpers import log_to, open_writer, read_detail, short_settings


@pytest.mark.asyncio
async def test_every_leaf_of_a_group_is_told(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    group = ExceptionGroup("run", [ValueError("first"), ExceptionGroup("inner", [KeyError("b")])])
    error = stop_error(group, writer)
    assert isinstance(error, RunError) and isinstance(error.__cause__, ValueError)
    assert error.__notes__ == ["also raised: KeyError('b')"]


@pytest.mark.asyncio
async def test_an_own_error_keeps_the_others_as_notes(tmp_path: Path) -> None:
    writer = open_writer(tmp_path)
    own = asyncgen.OutputError("disk full")
    error = stop_error(BaseExceptionGroup("run", [own, RuntimeError("sut")]), writer)
    assert error is own
    assert error.__notes__ == ["also raised: RuntimeError('sut')"]


class _RaisesWhenCancelled:
    """A SUT that never answers, and whose clean-up raises when its call is cancelled."""

    name = "raises-when-cancelled"

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("clean-up failed") from None

    async def flush_queries(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_timeout_around_run_test_wins_over_the_sut_raising(tmp_path: Path) -> None:
    # a drain deadline beyond the timeout: the watchdog must not abandon the hung call first
    settings = short_settings(TestScenario.Server, drain_timeout_ms=60_000)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await asyncgen.run_test(
                _RaisesWhenCancelled(),
                SimulatedQSL(),
                settings,
                log_settings=log_to(tmp_path),
                audit_config=None,
            )
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "Run interrupted : the run was interrupted (CancelledError)" in summary
    errors = [e["value"] for e in read_detail(tmp_path / "mlperf_log_detail.txt")]
    assert any("RuntimeError('clean-up failed')" in str(value) for value in errors)
