"""A SUT that never completes some samples: the run ends at the drain deadline, INVALID, with
the missing samples named, in every scenario and mode (closed loops included)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    detail_errors,
    fast_settings,
    log_to,
    results_json,
)
from tests.helpers import ListQSL

DROPPED = 3


async def _drop_one_index(sample: QuerySample) -> None:
    if sample.index == DROPPED:
        await asyncio.Event().wait()  # never answers
    sample.complete(sample.index.to_bytes(4, "little"))


def _run_dropping_one(outdir: Path, settings: asyncgen.TestSettings) -> asyncgen.TestResult:
    """A run whose SUT never answers the samples of one QSL index; it must still end."""
    started = time.monotonic()
    result = asyncgen.run(
        ScriptedSUT(_drop_one_index),
        ListQSL(),
        settings,
        log_settings=log_to(outdir),
        audit_config=None,
    )
    assert time.monotonic() - started < 10  # a bounded wait, never a hang
    return result


@pytest.mark.parametrize(
    "mode", [TestMode.PerformanceOnly, TestMode.AccuracyOnly, TestMode.SubmissionRun]
)
@pytest.mark.parametrize("scenario", list(TestScenario))
def test_missing_samples_end_the_run_invalid_and_named(
    tmp_path: Path, scenario: TestScenario, mode: TestMode
) -> None:
    settings = fast_settings(scenario, mode, drain_timeout_ms=200)
    result = _run_dropping_one(tmp_path, settings)
    assert not result.valid
    assert result.missing_samples
    assert {idx for _, idx in result.missing_samples} == {DROPPED}
    assert any("never completed" in r for r in result.reasons) or mode is TestMode.AccuracyOnly
    errors = detail_errors(tmp_path)
    assert any("samples never completed" in e for e in errors)
    for seq, idx in result.missing_samples[:50]:
        assert any(f"{seq}:{idx}" in e for e in errors)
    closed_loop = scenario in (TestScenario.SingleStream, TestScenario.MultiStream)
    if closed_loop and mode is not TestMode.AccuracyOnly:  # stopped at the stuck query
        assert any("Closed loop stopped" in e for e in errors)
    listed = {(m["seq_id"], m["qsl_idx"]) for m in results_json(tmp_path)["missing_samples"]}
    assert listed == set(result.missing_samples)
    assert_consistent(tmp_path)


def test_find_peak_with_missing_samples_ends_invalid(tmp_path: Path) -> None:
    settings = fast_settings(
        TestScenario.Server, TestMode.FindPeakPerformance, drain_timeout_ms=200
    )
    result = _run_dropping_one(tmp_path, settings)
    assert not result.valid
    assert {idx for _, idx in result.missing_samples} == {DROPPED}
    assert any("Initial lower bound" in e for e in detail_errors(tmp_path))
    assert_consistent(tmp_path)
