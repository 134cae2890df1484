"""The writer: trace events wait until their series has ended, then reach a valid file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from asyncgen._output.writer import LogWriter
from asyncgen.settings import LogOutputSettings, LogSettings
from tests.helpers import make_plan


def _traced(tmp_path: Path, n: int) -> tuple[Series, LogWriter, FakeClock]:
    clock = FakeClock(1_000)
    writer = LogWriter(LogSettings(log_output=LogOutputSettings(outdir=str(tmp_path))), "t", 0)
    series = Series(
        make_plan(list(range(n))),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=np.zeros(n, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
    )
    writer.follow(series)
    return series, writer, clock


@pytest.mark.asyncio
async def test_trace_events_are_formatted_only_after_the_series_ends(tmp_path: Path) -> None:
    n = 2500  # more than one formatting chunk
    series, writer, clock = _traced(tmp_path, n)
    series.start_ns = 1_000  # scheduled at 1_000 + k: the plan's offsets are 0, 1, 2, ...
    series.mark_issued(0, n - 1, 1_000 + n)
    for sample in series.samples_for(0, n - 1):
        clock.advance(10)
        sample.complete(b"")
    await writer._flush_once()
    assert writer.paths["trace"].read_text() == '{"traceEvents":[\n'  # nothing per sample yet
    series.closed = True
    await writer._flush_once()
    assert writer.paths["trace"].read_text().count('"ph":"b"') == n
    writer.close()
    events = json.loads(writer.paths["trace"].read_text())["traceEvents"]
    begins = [e for e in events if e.get("ph") == "b"]
    assert [e["id"] for e in begins] == list(range(n))
    assert begins[7]["ts"] == pytest.approx(1.007)  # scheduled 1007 ns after the origin
    assert begins[7]["args"]["complete_ns"] == 1_000 + 80 - 1_007


@pytest.mark.asyncio
async def test_following_the_next_series_writes_the_previous_ones_trace(tmp_path: Path) -> None:
    first, writer, _ = _traced(tmp_path, 3)
    first.mark_issued(0, 2, 1_000)
    for sample in first.samples_for(0, 2):
        sample.complete(b"")
    writer.follow(None)  # no flush task ran: follow formats and writes what is left
    writer.close()
    events = json.loads(writer.paths["trace"].read_text())["traceEvents"]
    assert sum(1 for e in events if e.get("ph") == "e") == 3
