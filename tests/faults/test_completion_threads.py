"""Completions from another thread, from another event loop, and after the run has ended:
recorded or reported, never a crash, never silently dropped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import structlog.testing

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample
from tests.faults._support import assert_consistent, fast_settings, log_to
from tests.helpers import ListQSL


class ThreadSUT:
    """Completes each sample from a worker thread."""

    name = "threads"

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.threads: set[int] = set()

    def _work(self, sample: QuerySample) -> None:
        self.threads.add(threading.get_ident())
        sample.complete(sample.index.to_bytes(4, "little"))

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            self.pool.submit(self._work, sample)

    async def flush_queries(self) -> None:
        pass


class OtherLoopSUT:
    """Completes each sample from coroutines on an event loop of its own, in its own thread."""

    name = "other-loop"

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _answer(self, sample: QuerySample) -> None:
        await asyncio.sleep(0)
        sample.complete(b"\x02")

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            asyncio.run_coroutine_threadsafe(self._answer(sample), self.loop)

    async def flush_queries(self) -> None:
        pass

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.mark.parametrize("mode", [TestMode.PerformanceOnly, TestMode.AccuracyOnly])
def test_completions_from_worker_threads_are_recorded(tmp_path: Path, mode: TestMode) -> None:
    with ThreadPoolExecutor(4) as pool:
        sut = ThreadSUT(pool)
        result = asyncgen.run(
            sut,
            ListQSL(),
            fast_settings(TestScenario.Server, mode),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert threading.get_ident() not in sut.threads
    assert result.missing_samples == () and result.errors == 0
    assert_consistent(tmp_path)


def test_completions_from_another_event_loop_are_recorded(tmp_path: Path) -> None:
    sut = OtherLoopSUT()
    try:
        result = asyncgen.run(
            sut,
            ListQSL(),
            fast_settings(TestScenario.SingleStream, TestMode.AccuracyOnly),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    finally:
        sut.stop()
    assert result.missing_samples == () and result.errors == 0
    assert result.accuracy_entries == 64  # every sample of the ListQSL, once
    assert_consistent(tmp_path)


class HoldingSUT:
    """Completes every sample but the first, which it keeps for later."""

    name = "holding"

    def __init__(self) -> None:
        self.held: list[QuerySample] = []

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            if not self.held:
                self.held.append(sample)
            else:
                sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


@pytest.mark.asyncio
async def test_completion_after_the_run_ended_is_reported(
    tmp_path: Path,
) -> None:
    sut = HoldingSUT()
    settings = fast_settings(TestScenario.Offline, drain_timeout_ms=100)
    result = await asyncgen.run_test(
        sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
    )
    assert len(result.missing_samples) == 1 and not result.valid
    assert_consistent(tmp_path)
    before = (tmp_path / "mlperf_log_detail.txt").read_text()
    with structlog.testing.capture_logs() as logs:
        sut.held[0].complete(b"too late")  # on the loop thread, after run_test returned
    series = sut.held[0]._sink
    assert series.tally.late_completions == 1
    assert any(e["event"] == "log entry after the run ended" for e in logs), logs
    assert (tmp_path / "mlperf_log_detail.txt").read_text() == before  # files stay whole


def test_completion_from_a_thread_after_the_loop_closed_is_counted(
    tmp_path: Path,
) -> None:
    sut = HoldingSUT()
    settings = fast_settings(TestScenario.Offline, drain_timeout_ms=100)
    asyncgen.run(sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None)
    worker = threading.Thread(target=sut.held[0].complete, args=(b"much too late",))
    with structlog.testing.capture_logs() as logs:
        worker.start()
        worker.join()
    assert sut.held[0]._sink.tally.late_completions == 1
    assert any(e["event"] == "log entry after the run ended" for e in logs), logs
    assert_consistent(tmp_path)
