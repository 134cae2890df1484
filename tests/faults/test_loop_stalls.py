"""A SUT that blocks the event loop (a synchronous sleep in ``issue_query``) is detected and
reported as event-loop stalls, with the lag it caused, in the result, results.json and the
detail log, also when the run then stops early (and in its INVALID summary block); a
well-behaved SUT causes none."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestScenario
from asyncgen._engine.watchdog import STALL_THRESHOLD_NS
from asyncgen._errors import RunError
from asyncgen.sut import QuerySample
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    echo,
    fast_settings,
    final_verdict,
    log_to,
    results_json,
    summary_text,
)
from tests.helpers import ListQSL, read_detail

BLOCK_S = 0.4


class BlockingSUT:
    """Blocks the loop thread for ``BLOCK_S`` on its tenth query: the mistake under test."""

    name = "blocking"

    def __init__(self) -> None:
        self.calls = 0

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self.calls == 10:
            time.sleep(BLOCK_S)  # noqa: ASYNC251 - the fault being injected
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


def test_a_sut_blocking_the_loop_is_reported_as_a_stall(tmp_path: Path) -> None:
    result = asyncgen.run(
        BlockingSUT(),
        ListQSL(),
        fast_settings(TestScenario.Server),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    stalls = result.loop_stalls
    assert stalls is not None and stalls.count >= 1
    assert stalls.max_ns >= BLOCK_S * 1e9 * 0.9 - 0.02e9
    assert stalls.max_ns > STALL_THRESHOLD_NS
    assert results_json(tmp_path)["loop_stalls"]["count"] == stalls.count
    warnings = [
        e["value"]
        for e in read_detail(tmp_path / "mlperf_log_detail.txt")
        if e["metadata"]["is_warning"]
    ]
    assert any("event loop stalled" in str(w) for w in warnings)
    assert result.issue_lag.max_ns >= BLOCK_S * 1e9 * 0.9  # the lag it caused, seen twice
    assert_consistent(tmp_path)


async def _complete(sample: QuerySample) -> None:
    sample.complete(await echo(sample))


def test_a_well_behaved_sut_causes_no_stall(tmp_path: Path) -> None:
    result = asyncgen.run(
        ScriptedSUT(_complete),
        ListQSL(),
        fast_settings(TestScenario.Server),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert result.loop_stalls is not None and result.loop_stalls.count == 0
    assert results_json(tmp_path)["loop_stalls"] == result.loop_stalls.to_dict()


class ModelExplodedError(Exception):
    pass


class BlockThenStopSUT:
    """Blocks the loop for ``BLOCK_S`` on its tenth query, lets the watchdog see the late
    wake-up, then stops the run: raises ``error``, or holds the query (to be cancelled)."""

    name = "block-then-stop"

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error
        self.stalled = asyncio.Event()

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self.calls == 10:
            # A closed loop whose SUT completes at once never yields: let the watchdog start
            # its tick first. After the block its overdue timer fires on the next loop turn
            # and its task runs on the one after. Loop turns, not time: deterministic.
            await _loop_turns(10)
            time.sleep(BLOCK_S)  # noqa: ASYNC251 - the fault being injected
            await _loop_turns(10)
            self.stalled.set()
            if self.error is not None:
                raise self.error
            await asyncio.Event().wait()
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


async def _loop_turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _assert_stalls_reported(outdir: Path) -> None:
    """The warning in the detail log, the count in results.json and in the INVALID block."""
    assert final_verdict(outdir) == "INVALID"
    stalls = results_json(outdir)["loop_stalls"]
    assert stalls["count"] >= 1 and stalls["max_ns"] >= BLOCK_S * 1e9 * 0.9 - 0.02e9
    assert stalls["threshold_ns"] == STALL_THRESHOLD_NS
    warnings = [
        str(e["value"])
        for e in read_detail(outdir / "mlperf_log_detail.txt")
        if e["metadata"]["is_warning"]
    ]
    assert sum("event loop stalled" in w for w in warnings) == 1, warnings
    block = summary_text(outdir).split("Result is : INVALID")[-1]
    longest = f"{stalls['max_ns'] / 1e6:.1f}"
    assert f"  Event loop stalls : {stalls['count']} (longest {longest} ms)\n" in block
    assert_consistent(outdir)


def test_a_run_stopped_by_the_sut_still_reports_the_stalls(tmp_path: Path) -> None:
    with pytest.raises(RunError) as caught:
        asyncgen.run(
            BlockThenStopSUT(ModelExplodedError("after the stall")),
            ListQSL(),
            fast_settings(TestScenario.Server),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert isinstance(caught.value.__cause__, ModelExplodedError)
    assert results_json(tmp_path)["interrupted"] is False
    _assert_stalls_reported(tmp_path)


@pytest.mark.asyncio
async def test_a_cancelled_run_still_reports_the_stalls(tmp_path: Path) -> None:
    sut = BlockThenStopSUT()
    task = asyncio.ensure_future(
        asyncgen.run_test(
            sut,
            ListQSL(),
            fast_settings(TestScenario.SingleStream, drain_timeout_ms=60_000),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    )
    await sut.stalled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert results_json(tmp_path)["interrupted"] is True
    _assert_stalls_reported(tmp_path)


def test_a_failing_stall_report_does_not_hide_why_the_run_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(run: object) -> None:
        raise RuntimeError("stall report broke")

    monkeypatch.setattr("asyncgen._run.runner._report_stalls", broken)

    def hook(call: int) -> None:
        if call == 5:
            raise ModelExplodedError("the real error")

    with pytest.raises(RunError) as caught:
        asyncgen.run(
            ScriptedSUT(_complete, issue_hook=hook),
            ListQSL(),
            fast_settings(TestScenario.Server),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert isinstance(caught.value.__cause__, ModelExplodedError)
    results = results_json(tmp_path)
    assert "the real error" in results["stopped"]
    assert results["loop_stalls"]["threshold_ns"] == STALL_THRESHOLD_NS
    assert final_verdict(tmp_path) == "INVALID"
    assert_consistent(tmp_path)
