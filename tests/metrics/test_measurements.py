"""Series columns -> PerformanceResult: the in-place computation equals the plain formulas."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import UNSET, Schedule, Series
from asyncgen._metrics.measurements import max_completion_ns, performance_result, sorted_issue_lags
from tests.helpers import make_plan, open_writer


def _issued_series(
    tmp_path: Path, queries: int, spq: int, *, tokens: bool, schedule: Schedule = Schedule.PLAN
) -> Series:
    """A series whose plan spaces queries 10 ns apart, issued 0..6 ns after that."""
    clock = FakeClock(1000)
    writer = open_writer(tmp_path)
    series = Series(
        make_plan([10 * q for q in range(queries)], samples_per_query=spq),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=np.zeros(queries * spq, dtype=bool),
        use_tokens=tokens,
        needs_first_token=True,
        schedule=schedule,
    )
    series.start_ns = 1000
    for q in range(queries):
        series.mark_issued(q, q, _issued(q))
    return series


def _finish_some(series: Series, rng: random.Random, *, tokens: bool) -> None:
    """Complete most samples at random times; fail a few and leave a few outstanding."""
    clock = series.clock
    assert isinstance(clock, FakeClock)
    samples = series.samples_for(0, series.queries_issued - 1)
    rng.shuffle(samples)
    for sample in samples:
        clock.advance(rng.randrange(1, 50))
        roll = rng.random()
        if roll < 0.1:
            continue  # never completes
        if roll < 0.15:
            sample.fail("boom")
            continue
        if tokens:
            sample.first_token(b"")
            clock.advance(rng.randrange(0, 30))
        sample.complete(b"", n_tokens=rng.randrange(2, 9) if tokens else None)


def _issued(q: int) -> int:
    """When ``_issued_series`` issued query ``q``."""
    return 1000 + 10 * q + q % 7


def _scheduled(series: Series, q: int) -> int:
    """Query ``q``'s scheduled time, by the definition of each kind of schedule."""
    if series.schedule is Schedule.PLAN:
        return series.start_ns + 10 * q
    if series.schedule is Schedule.ISSUE:
        return _issued(q)
    return series.start_ns


def _plain(series: Series) -> dict[str, list[int]]:
    """The formulas written out over Python lists: what the result must hold."""
    spq, n = series.spq, series.samples_issued
    done = [s for s in range(n) if series.completed_ns[s] != UNSET and s not in series.failures]
    sched = [_scheduled(series, s // spq) for s in range(n)]
    latency = {s: series.completed_ns[s] - sched[s] for s in done}
    expected = {"sample_latencies": [latency[s] for s in done]}
    if series.use_tokens:
        ttft = {s: series.first_token_ns[s] - sched[s] for s in done}
        expected["first_token_latencies"] = [ttft[s] for s in done]
        expected["tokens_per_sample"] = [series.n_tokens[s] for s in done]
        expected["time_per_output_token"] = [
            int((latency[s] - ttft[s]) / (series.n_tokens[s] - 1))  # C++ truncation
            for s in done
        ]
    if spq > 1:
        expected["query_latencies"] = [
            series.done_ns[q] - _scheduled(series, q)
            for q in range(series.queries_issued)
            if series.done_ns[q] != UNSET
        ]
    return expected


@pytest.mark.asyncio
@pytest.mark.parametrize(("spq", "tokens"), [(1, False), (3, False), (1, True), (4, True)])
@pytest.mark.parametrize("schedule", list(Schedule))
async def test_performance_result_matches_the_plain_formulas(
    tmp_path: Path, spq: int, tokens: bool, schedule: Schedule
) -> None:
    series = _issued_series(tmp_path, 200, spq, tokens=tokens, schedule=schedule)
    _finish_some(series, random.Random(spq * 10 + tokens), tokens=tokens)
    assert series.failures and series.samples_completed < series.samples_issued
    pr = performance_result(series)
    expected = _plain(series)
    assert set(expected) == {"sample_latencies"} | ({"query_latencies"} if spq > 1 else set()) | (
        {"first_token_latencies", "tokens_per_sample", "time_per_output_token"} if tokens else set()
    )
    for name, values in expected.items():
        assert getattr(pr, name).tolist() == values, name
    assert pr.sample_latencies.dtype == np.int64
    assert pr.max_latency_s == max(expected["sample_latencies"]) / 1e9
    last = series.queries_issued - 1
    assert pr.final_query_scheduled_s == (_scheduled(series, last) - 1000) / 1e9
    lags = [_issued(q) - _scheduled(series, q) for q in range(last + 1)]
    assert sorted_issue_lags(series).tolist() == sorted(lags)


@pytest.mark.asyncio
async def test_all_done_latencies_are_their_own_array(tmp_path: Path) -> None:
    series = _issued_series(tmp_path, 5, 1, tokens=False)
    clock = series.clock
    assert isinstance(clock, FakeClock)
    for sample in series.samples_for(0, 4):
        clock.advance(100)
        sample.complete(b"")
    pr = performance_result(series)
    assert pr.sample_latencies.tolist() == [
        series.completed_ns[q] - (1000 + 10 * q) for q in range(5)
    ]
    pr.sample_latencies[0] = -5  # writable, and not a view of the series' column
    assert series.completed_ns[0] == 1100
    assert pr.final_query_all_samples_done_s == (series.completed_ns[4] - 1000) / 1e9


@pytest.mark.asyncio
async def test_issue_lags_and_the_latest_completion(tmp_path: Path) -> None:
    series = _issued_series(tmp_path, 20, 2, tokens=False)
    assert sorted_issue_lags(series).tolist() == sorted(q % 7 for q in range(20))
    assert max_completion_ns(series) == 1000  # nothing completed: the series start
    clock = series.clock
    assert isinstance(clock, FakeClock)
    first, second = series.samples_for(3, 3)
    clock.advance(500)
    second.complete(b"")
    clock.advance(500)
    first.complete(b"")
    assert max_completion_ns(series) == 2000
