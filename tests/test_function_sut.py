"""FunctionSUT: one task per sample, kept alive until done, finished ones pruned."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from asyncgen._output.writer import LogWriter
from asyncgen.function_sut import PRUNE_AT_LEAST, FunctionSUT
from asyncgen.settings import LogOutputSettings, LogSettings
from asyncgen.sut import QuerySample
from tests.helpers import make_plan


def _series(tmp_path: Path, n: int) -> tuple[Series, LogWriter]:
    log = LogSettings(log_output=LogOutputSettings(outdir=str(tmp_path)), enable_trace=False)
    writer = LogWriter(log, "t", 0)
    series = Series(
        make_plan([0] * n),
        clock=FakeClock(0),
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=np.zeros(n, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
    )
    series.mark_issued(0, n - 1, 0)
    return series, writer


@pytest.mark.asyncio
async def test_finished_tasks_are_pruned_and_pending_ones_kept(tmp_path: Path) -> None:
    n = 3 * PRUNE_AT_LEAST
    series, writer = _series(tmp_path, n)
    release = asyncio.Event()

    async def answer(sample: QuerySample) -> bytes:
        if sample.index % 2:  # odd samples wait until released
            await release.wait()
        return b"ok"

    sut = FunctionSUT(answer)
    for sample in series.samples_for(0, n - 1):
        await sut.issue_query([sample])
        await asyncio.sleep(0)
    gc.collect()
    assert series.samples_completed == n // 2
    assert len(sut._tasks) <= n // 2 + PRUNE_AT_LEAST  # the finished half was dropped
    release.set()
    await asyncio.wait_for(series.wait_all(), timeout=10)
    assert series.samples_completed == n
    writer.close()


@pytest.mark.asyncio
async def test_tuples_complete_with_tokens_and_exceptions_fail(tmp_path: Path) -> None:
    series, writer = _series(tmp_path, 2)

    async def answer(sample: QuerySample) -> tuple[bytes, int]:
        if sample.index == 1:
            raise ValueError("no")
        return b"ab", 2

    sut = FunctionSUT(answer, max_concurrency=1)
    await sut.issue_query(series.samples_for(0, 1))
    await series.wait_all()
    assert series.failures == {1: "ValueError('no')"}
    assert series.completed_ns[0] != -1
    writer.close()
