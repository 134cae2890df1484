"""What a run keeps between its series: small tallies, not the finished series themselves."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence
from pathlib import Path

import pytest

import asyncgen
from asyncgen import QuerySample, TestMode, TestScenario
from asyncgen._engine.ids import resolve_id
from asyncgen._engine.series import Series
from tests.helpers import log_to, short_settings


class _ThreeSets:
    """Answers at once, except: in the first set it fails one sample and holds another,
    which it completes (late) during the second set; in the third it checks that the
    finished series are gone."""

    name = "three-sets"

    def __init__(self) -> None:
        self.series: list[weakref.ref[Series]] = []
        self.held: QuerySample | None = None
        self.alive_in_third: list[bool] = []

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            self._answer(sample)

    def _answer(self, sample: QuerySample) -> None:
        target = resolve_id(sample.id)
        assert target is not None
        series, seq = target
        assert isinstance(series, Series)
        if not self.series or self.series[-1]() is not series:
            self._new_series(series)
        first = len(self.series) == 1
        if first and seq == 0:
            self.held = sample  # never completed in its series: named missing, then late
        elif first and seq == 1:
            sample.fail("timeout: no answer")
        else:
            sample.complete(b"")

    def _new_series(self, series: Series) -> None:
        self.series.append(weakref.ref(series))
        if len(self.series) == 2 and self.held is not None:
            self.held.complete(b"")  # the first series has ended: a late completion
            self.held = None
        if len(self.series) == 3:
            gc.collect()
            self.alive_in_third = [ref() is not None for ref in self.series[:2]]

    async def flush_queries(self) -> None:
        pass


@pytest.mark.asyncio
async def test_finished_series_are_released_and_still_counted(tmp_path: Path) -> None:
    sut = _ThreeSets()
    qsl = asyncgen.SimulatedQSL(total_sample_count=30, performance_sample_count=10)
    settings = short_settings(TestScenario.Offline, TestMode.AccuracyOnly, drain_timeout_ms=50)
    result = await asyncgen.run_test(
        sut, qsl, settings, log_settings=log_to(tmp_path), audit_config=None
    )
    assert len(sut.series) == 3
    assert sut.alive_in_third == [False, False]  # nothing keeps a finished series' columns
    assert result.late_completions == 1
    assert result.failures == {"timeout": 1}
    assert len(result.missing_samples) == 1
