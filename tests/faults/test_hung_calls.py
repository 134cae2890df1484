"""A SUT call that never returns: ``issue_query`` or ``flush_queries`` awaiting forever.

The watchdog abandons the call once nothing has happened (no query issued, no sample
completed) for the drain deadline, in every scenario; issuing stops, the run ends INVALID with
the call named, and no further series runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample
from tests.faults._support import (
    assert_consistent,
    detail_errors,
    fast_settings,
    log_to,
    results_json,
)
from tests.helpers import ListQSL

HANG_ON_CALL = 3
DEADLINE_MS = 1_000  # short, so a hung call ends soon; long beside a busy machine's pauses


class HangingSUT:
    """Answers every sample at once; its ``hang_on``-th ``issue_query`` call (or its flush)
    never returns, after answering its samples if ``answer_first``."""

    name = "hanging"

    def __init__(self, *, hang_on: int | None = HANG_ON_CALL, answer_first: bool = False,
                 hang_in_flush: bool = False) -> None:  # fmt: skip
        self.hang_on, self.answer_first, self.hang_in_flush = hang_on, answer_first, hang_in_flush
        self.calls = 0
        self.cancelled = 0

    async def _hang(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        hang = self.calls == self.hang_on
        if not hang or self.answer_first:
            for sample in samples:
                sample.complete(b"\x01")
        if hang:
            await self._hang()

    async def flush_queries(self) -> None:
        if self.hang_in_flush:
            await self._hang()


def _settings(
    scenario: TestScenario, mode: TestMode = TestMode.PerformanceOnly, **extra: object
) -> asyncgen.TestSettings:
    return fast_settings(scenario, mode, drain_timeout_ms=DEADLINE_MS, **extra)


def _run(outdir: Path, sut: HangingSUT, settings: asyncgen.TestSettings) -> asyncgen.TestResult:
    started = time.monotonic()
    result = asyncgen.run(sut, ListQSL(), settings, log_settings=log_to(outdir), audit_config=None)
    assert time.monotonic() - started < 30  # bounded: a 1 s deadline, never a hang
    return result


SCENARIOS = [
    (TestScenario.Server, {}),
    (TestScenario.Server, {"server_coalesce_queries": True}),
    (TestScenario.SingleStream, {}),
    (TestScenario.MultiStream, {}),
    (TestScenario.Offline, {}),
]


@pytest.mark.parametrize(
    "mode", [TestMode.PerformanceOnly, TestMode.AccuracyOnly, TestMode.SubmissionRun]
)
@pytest.mark.parametrize(("scenario", "extra"), SCENARIOS)
def test_an_issue_query_that_never_returns_ends_the_run_invalid_naming_the_call(
    tmp_path: Path, scenario: TestScenario, extra: dict[str, object], mode: TestMode
) -> None:
    hang_on = 1 if scenario is TestScenario.Offline else HANG_ON_CALL  # Offline: one call
    sut = HangingSUT(hang_on=hang_on)
    result = _run(tmp_path, sut, _settings(scenario, mode, **extra))
    assert not result.valid
    assert sut.cancelled == 1  # the call was abandoned, once; nothing was issued after it
    assert sut.calls == hang_on
    stuck = [r for r in result.reasons if "issue_query call of queries" in r]
    assert len(stuck) == 1 and f"drain deadline of {DEADLINE_MS} ms" in stuck[0]
    assert any(e.startswith(stuck[0]) for e in detail_errors(tmp_path))
    assert result.missing_samples  # the hung call's samples never completed
    assert results_json(tmp_path)["valid"] is False
    assert_consistent(tmp_path)


def test_a_hung_call_whose_samples_were_answered_still_makes_the_run_invalid(
    tmp_path: Path,
) -> None:
    sut = HangingSUT(answer_first=True)
    result = _run(tmp_path, sut, _settings(TestScenario.Server))
    assert result.missing_samples == ()
    assert not result.valid
    assert any("issue_query call of queries 2..2" in r for r in result.reasons)
    assert_consistent(tmp_path)


@pytest.mark.parametrize("scenario", [TestScenario.Server, TestScenario.SingleStream])
def test_a_flush_queries_that_never_returns_ends_the_run_invalid(
    tmp_path: Path, scenario: TestScenario
) -> None:
    sut = HangingSUT(hang_on=None, hang_in_flush=True)
    result = _run(tmp_path, sut, _settings(scenario, TestMode.SubmissionRun))
    assert not result.valid and sut.cancelled == 1
    assert any("flush_queries did not return within" in r for r in result.reasons)
    assert result.summary is None  # halted after the accuracy pass: no performance pass
    assert_consistent(tmp_path)


def test_a_slow_issue_query_that_keeps_answering_is_not_abandoned(tmp_path: Path) -> None:
    """Progress, not the length of one call, is what counts: an Offline SUT that answers
    its samples one by one inside issue_query, for longer than the deadline, finishes."""

    class Diligent:
        name = "diligent"

        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            for sample in samples:
                await asyncio.sleep(0.05)  # 64 samples: 3.2 s in one call, 1 s deadline
                sample.complete(b"\x02")

        async def flush_queries(self) -> None:
            pass

    result = asyncgen.run(
        Diligent(),
        ListQSL(),
        _settings(TestScenario.Offline, TestMode.AccuracyOnly),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert result.valid and result.accuracy_entries == 64
    assert_consistent(tmp_path)
