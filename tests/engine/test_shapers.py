"""Shapers against a fake clock: exact scheduled and issued timestamps, stop rules."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from asyncgen._config.effective import effective_settings
from asyncgen._engine.clock import Clock, FakeClock, MonotonicClock, kernel_timers_available
from asyncgen._engine.series import Series
from asyncgen._engine.shapers import (
    SCHEDULES,
    SHAPERS,
    IssueOutcome,
    ShaperContext,
    arrivals,
    closed_loop,
    server,
)
from asyncgen.settings import TestScenario, TestSettings
from asyncgen.sut import QuerySample
from tests.helpers import (
    CheckingSUT,
    RecordingSUT,
    complete_after,
    detail_values,
    make_plan,
    open_writer,
)

MS = 1_000_000

# The Server shaper awaits issue_query for a plain SUT, and issues through Arrivals for one that
# takes its arrival check: every Server test runs both ways.
BOTH_SUTS = pytest.mark.parametrize(
    "make_sut", [RecordingSUT, CheckingSUT], ids=["awaited", "checked"]
)
MakeSUT = type[RecordingSUT]


async def _run(
    tmp_path: Path,
    settings: TestSettings,
    offsets: Sequence[int],
    sut: RecordingSUT,
    clock: Clock,
    *,
    spq: int = 1,
    accuracy: bool = False,
) -> tuple[Series, IssueOutcome, Path]:
    eff, _ = effective_settings(settings, 16, 64)
    writer = open_writer(tmp_path)  # closed after the test too, should the shaper raise
    series = Series(
        make_plan(offsets, samples_per_query=spq),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=accuracy,
        log_mask=np.zeros(len(offsets) * spq, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
        schedule=SCHEDULES[settings.scenario],
    )
    writer.follow(series)
    ctx = ShaperContext(
        series=series, sut=sut, settings=eff, accuracy=accuracy, clock=clock, events=writer
    )
    outcome = await SHAPERS[settings.scenario](ctx)
    writer.close()
    return series, outcome, writer.paths["detail"]


def _column(values: object, n: int) -> list[int]:
    return list(values)[:n]  # type: ignore[call-overload]


def _issued(series: Series, n: int) -> list[int]:
    """The issue times of the first ``n`` queries."""
    return series.issued(np.arange(n)).tolist()


def _scheduled(series: Series, n: int) -> list[int]:
    """The scheduled times of the first ``n`` queries."""
    return series.scheduled(np.arange(n)).tolist()


@BOTH_SUTS
@pytest.mark.asyncio
async def test_server_issues_each_query_at_its_scheduled_time(
    tmp_path: Path, make_sut: MakeSUT
) -> None:
    clock = FakeClock(1_000 * MS)
    sut = make_sut(complete_after(clock, 0))
    offsets = [0, 3 * MS, 3 * MS + 1, 10 * MS]
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    series, outcome, _ = await _run(tmp_path, settings, offsets, sut, clock)
    start = series.start_ns
    assert start == 1_000 * MS
    assert _scheduled(series, 4) == [start + o for o in offsets]
    assert _issued(series, 4) == [start + o for o in offsets]
    assert sut.calls == [[0], [1], [2], [3]]
    assert outcome == IssueOutcome(ran_out=False)


@BOTH_SUTS
@pytest.mark.realtime
@pytest.mark.asyncio
@pytest.mark.skipif(not kernel_timers_available(), reason="no timerfd here")
async def test_server_paced_by_the_hrtimer_clock_is_never_early(
    tmp_path: Path, make_sut: MakeSUT
) -> None:
    clock = MonotonicClock("hrtimer")
    sut = make_sut(lambda samples: [s.complete() for s in samples])
    # Gaps above the clock's 30 us wake-ahead (kernel timer, then a spin) and below it (polls).
    offsets = [i * 250_000 for i in range(12)] + [3 * MS + i * 20_000 for i in range(8)]
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    threads = threading.active_count()
    series, _, _ = await _run(tmp_path, settings, offsets, sut, clock)
    n = len(offsets)
    scheduled, issued = _scheduled(series, n), _issued(series, n)
    assert scheduled == [series.start_ns + o for o in offsets]
    assert all(i >= s for i, s in zip(issued, scheduled, strict=True))
    assert sut.calls == [[q] for q in range(n)]
    assert threading.active_count() == threads  # no waker thread: the loop's poller wakes
    # A busy machine may hold the run back until every arrival is due: then nothing sleeps
    # and no kernel timer is made. When one was, it is left idle and unregistered.
    timer = clock._kernel_timer
    if timer is not None:
        assert not timer.busy
        await asyncio.sleep(0)  # a turn after the last wait...
        assert not asyncio.get_running_loop().remove_reader(timer.fd)  # ...nothing registered
    clock.close()


@BOTH_SUTS
@pytest.mark.asyncio
async def test_server_issues_late_arrivals_at_once_and_keeps_their_schedule(
    tmp_path: Path, make_sut: MakeSUT
) -> None:
    clock = FakeClock(0)
    # Each issue costs 5 ms of fake time, so arrivals 1 ms apart fall behind.
    sut = make_sut(complete_after(clock, 5 * MS))
    offsets = [0, 1 * MS, 2 * MS, 20 * MS]
    settings = TestSettings(scenario=TestScenario.Server)
    series, _, _ = await _run(tmp_path, settings, offsets, sut, clock)
    assert _scheduled(series, 4) == offsets
    assert _issued(series, 4) == [0, 5 * MS, 10 * MS, 20 * MS]
    assert len(sut.calls) == 4


@pytest.mark.asyncio
async def test_server_coalesces_every_due_arrival_into_one_call(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = RecordingSUT(complete_after(clock, 5 * MS))
    offsets = [0, 1 * MS, 2 * MS, 4 * MS, 20 * MS]
    settings = TestSettings(scenario=TestScenario.Server, server_coalesce_queries=True)
    series, _, _ = await _run(tmp_path, settings, offsets, sut, clock)
    # At 5 ms the arrivals at 1, 2 and 4 ms are all due: one call carries them.
    assert sut.calls == [[0], [1, 2, 3], [4]]
    assert _scheduled(series, 5) == offsets
    assert _issued(series, 5) == [0, 5 * MS, 5 * MS, 5 * MS, 20 * MS]
    assert series.queries_issued == 5


@BOTH_SUTS
@pytest.mark.asyncio
async def test_server_stops_on_too_many_outstanding_queries(
    tmp_path: Path, make_sut: MakeSUT
) -> None:
    clock = FakeClock(0)
    sut = make_sut()  # never completes
    settings = TestSettings(scenario=TestScenario.Server, server_max_async_queries=2)
    series, _, detail = await _run(tmp_path, settings, [0, MS, 2 * MS, 3 * MS, 4 * MS], sut, clock)
    assert series.queries_issued == 3
    assert detail_values(detail)["error_runtime"] == (
        "IssueQueryThread 0 Ending early: Too many outstanding queries. issued 3 outstanding 3"
    )


@BOTH_SUTS
@pytest.mark.asyncio
async def test_server_accuracy_mode_issues_everything(tmp_path: Path, make_sut: MakeSUT) -> None:
    clock = FakeClock(0)
    sut = make_sut()
    settings = TestSettings(scenario=TestScenario.Server, server_max_async_queries=1)
    series, _, _ = await _run(tmp_path, settings, [0, MS, 2 * MS], sut, clock, accuracy=True)
    assert series.queries_issued == 3


@pytest.mark.asyncio
async def test_a_closed_loop_over_a_sut_that_answers_at_once_still_lets_the_loop_turn(
    tmp_path: Path,
) -> None:
    # The SUT completes inside issue_query, so waiting for a query never suspends; without
    # its own yields the closed loop would starve every other task (writer, watchdog,
    # signal handlers) until the run ended.
    clock = FakeClock(0)
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    seen_at_issue: list[int] = []  # the ticker's turns so far, at each issue
    answer = complete_after(clock, 1)

    def note_turns_and_answer(samples: Sequence[QuerySample]) -> None:
        seen_at_issue.append(turns)
        answer(samples)

    sut = RecordingSUT(note_turns_and_answer)
    n = 10 * closed_loop.YIELD_EVERY
    task = asyncio.get_running_loop().create_task(ticker())
    await asyncio.sleep(0)  # the ticker's first turn
    settings = TestSettings(min_query_count=n, min_duration_ms=0)
    series, _, _ = await _run(tmp_path, settings, list(range(n)), sut, clock)
    task.cancel()
    assert series.queries_issued == n
    assert seen_at_issue[-1] - seen_at_issue[0] == 9  # one turn every YIELD_EVERY queries
    # and none in between: the yields fall between a completion and the next issue
    assert seen_at_issue[: closed_loop.YIELD_EVERY] == [seen_at_issue[0]] * closed_loop.YIELD_EVERY


@pytest.mark.asyncio
async def test_single_stream_waits_for_each_completion(tmp_path: Path) -> None:
    clock = FakeClock(0)
    loop = asyncio.get_running_loop()

    def complete_later(samples: Sequence[QuerySample]) -> None:
        def done() -> None:
            clock.advance(2 * MS)
            for s in samples:
                s.complete(b"x")

        loop.call_soon(done)

    sut = RecordingSUT(complete_later)
    settings = TestSettings(min_query_count=3, min_duration_ms=0)
    series, outcome, detail = await _run(tmp_path, settings, [0, MS, 2 * MS, 3 * MS], sut, clock)
    # Issued back to back, 2 ms apart: each waited for the previous completion.
    assert _issued(series, 3) == [0, 2 * MS, 4 * MS]
    assert _scheduled(series, 3) == [0, 2 * MS, 4 * MS]
    assert series.queries_issued == 3
    assert outcome == IssueOutcome(ran_out=False)
    assert detail_values(detail)["generic_message"].startswith("Ending naturally")


@pytest.mark.asyncio
async def test_single_stream_runs_out_of_generated_queries(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = RecordingSUT(complete_after(clock, MS))
    settings = TestSettings(min_query_count=10, min_duration_ms=0)
    series, outcome, _ = await _run(tmp_path, settings, [0, MS, 2 * MS], sut, clock)
    assert series.queries_issued == 3
    assert outcome == IssueOutcome(ran_out=True)


@pytest.mark.asyncio
async def test_single_stream_stops_at_max_query_count(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = RecordingSUT(complete_after(clock, MS))
    settings = TestSettings(min_query_count=10, min_duration_ms=0, max_query_count=2)
    series, outcome, detail = await _run(tmp_path, settings, [0, MS, 2 * MS, 3 * MS], sut, clock)
    assert series.queries_issued == 2
    assert outcome == IssueOutcome(ran_out=False)
    assert detail_values(detail)["error_runtime"] == (
        "IssueQueryThread 0 Ending early: Max query count reached. query_count 2"
    )


@pytest.mark.asyncio
async def test_multi_stream_issues_windows_and_waits_for_the_whole_query(tmp_path: Path) -> None:
    clock = FakeClock(0)
    pending: list[QuerySample] = []
    loop = asyncio.get_running_loop()

    def complete_one_by_one(samples: Sequence[QuerySample]) -> None:
        pending.extend(samples)

        def step() -> None:
            clock.advance(MS)
            pending.pop(0).complete(b"")
            if pending:
                loop.call_soon(step)

        loop.call_soon(step)

    sut = RecordingSUT(complete_one_by_one)
    settings = TestSettings(scenario=TestScenario.MultiStream, min_query_count=2, min_duration_ms=0)
    series, _, _ = await _run(tmp_path, settings, [0, MS], sut, clock, spq=3)
    await series.wait_all()  # the shaper returns after issuing; the last query drains here
    assert sut.calls == [[0, 1, 2], [3, 4, 5]]
    assert _issued(series, 2) == [0, 3 * MS]
    assert _column(series.done_ns, 2) == [3 * MS, 6 * MS]


@pytest.mark.asyncio
async def test_offline_sends_one_query_scheduled_at_the_start(tmp_path: Path) -> None:
    clock = FakeClock(7 * MS)
    sut = RecordingSUT(complete_after(clock, MS))
    settings = TestSettings(scenario=TestScenario.Offline)
    series, outcome, _ = await _run(tmp_path, settings, [0], sut, clock, spq=5)
    assert sut.calls == [[0, 1, 2, 3, 4]]
    assert _scheduled(series, 1) == [7 * MS]
    assert outcome == IssueOutcome(ran_out=False)


@pytest.mark.asyncio
async def test_server_reads_the_plan_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "CHUNK", 3)  # 8 queries: chunks of 3, 3 and 2
    clock = FakeClock(0)
    sut = RecordingSUT(complete_after(clock, 0))
    offsets = [k * MS for k in range(8)]
    settings = TestSettings(scenario=TestScenario.Server)
    series, _, _ = await _run(tmp_path, settings, offsets, sut, clock)
    assert sut.calls == [[k] for k in range(8)]
    assert _issued(series, 8) == offsets
    assert _scheduled(series, 8) == offsets


@BOTH_SUTS
@pytest.mark.asyncio
async def test_server_behind_schedule_still_lets_the_loop_run(
    tmp_path: Path, make_sut: MakeSUT
) -> None:
    clock = FakeClock(0)
    sut = make_sut(complete_after(clock, 5 * MS))  # every query makes the next one late
    turns: list[int] = []
    loop = asyncio.get_running_loop()

    def count() -> None:  # one entry per loop turn, tagged with queries issued so far
        turns.append(len(sut.calls))
        if len(sut.calls) < n:
            loop.call_soon(count)

    n = 4 * server.YIELD_EVERY
    loop.call_soon(count)
    settings = TestSettings(scenario=TestScenario.Server)
    await _run(tmp_path, settings, [k * MS for k in range(n)], sut, clock)
    # Late queries go out back to back, but never more than YIELD_EVERY between loop turns.
    assert max(b - a for a, b in itertools.pairwise(turns)) <= server.YIELD_EVERY
    assert len(sut.calls) == n


# -- a SUT with an arrival check: queries issued from its callbacks ------------------------


class ManualClock:
    """Time moves only when the test moves it; a sleep ends once the time passes its deadline.

    Unlike ``FakeClock``, sleeping does not move the time, so a test can stand in for the
    SUT's I/O callbacks: move the time a little, call the arrival check, see what it issued
    while the shaper still sleeps."""

    def __init__(self) -> None:
        self.t = 0
        self.sleeping: list[tuple[int, asyncio.Future[None]]] = []

    def now_ns(self) -> int:
        return self.t

    async def sleep_until(self, deadline_ns: int) -> None:
        if self.t < deadline_ns:
            waiter = asyncio.get_running_loop().create_future()
            self.sleeping.append((deadline_ns, waiter))
            await waiter
        else:
            await asyncio.sleep(0)

    def asleep(self) -> bool:
        return any(not waiter.done() for _, waiter in self.sleeping)

    def move_to(self, t: int) -> None:
        self.t = t
        for deadline, waiter in self.sleeping:
            if deadline <= t and not waiter.done():
                waiter.set_result(None)


async def _until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (the tests' tasks need a few turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@pytest.mark.asyncio
async def test_the_sut_gets_the_arrival_check_for_one_server_series_only(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = CheckingSUT(complete_after(clock, 0))
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    await _run(tmp_path, settings, [0, MS], sut, clock)
    assert sut.attached == [True, False]  # given for the series, taken back at its end
    coalesced = CheckingSUT(complete_after(clock, 0))
    settings = TestSettings(scenario=TestScenario.Server, server_coalesce_queries=True)
    await _run(tmp_path, settings, [0, MS], coalesced, clock)
    assert coalesced.attached == []  # coalesced calls are issued by the shaper's task alone


@pytest.mark.asyncio
async def test_a_due_arrival_goes_out_from_the_sut_callback_while_the_shaper_sleeps(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    issued_asleep: list[bool] = []
    sut = CheckingSUT(lambda samples: issued_asleep.append(clock.asleep()))
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    run = asyncio.ensure_future(_run(tmp_path, settings, [0, MS, 2 * MS], sut, clock))
    await _until(clock.asleep)  # query 0 went out; the shaper sleeps until 1 ms
    assert sut.check is not None
    clock.t = MS - 1
    sut.check()  # a callback before the arrival: nothing
    clock.t = MS + 40_000
    sut.check()  # a callback 40 us after it: the query goes out from here
    sut.check()  # and only once
    assert len(sut.calls) == 2 and clock.asleep()
    clock.move_to(2 * MS)  # the shaper wakes and issues the last one itself
    series, _, _ = await run
    assert _issued(series, 3) == [0, MS + 40_000, 2 * MS]
    assert issued_asleep == [False, True, False]


@pytest.mark.asyncio
async def test_an_issue_query_that_suspends_is_finished_before_the_next_goes_out(
    tmp_path: Path,
) -> None:
    clock = FakeClock(0)
    gate = asyncio.get_running_loop().create_future()

    class GatedSUT(CheckingSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            await super().issue_query(samples)
            if samples[0].index == 1:
                await gate  # the SUT does not accept query 1 until the gate opens

    sut = GatedSUT(complete_after(clock, 0))
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    run = asyncio.ensure_future(_run(tmp_path, settings, [0, MS, 2 * MS, 3 * MS], sut, clock))
    await _until(lambda: len(sut.calls) == 2)
    clock.advance(5 * MS)  # everything is due now...
    assert sut.check is not None
    sut.check()  # ...but nothing goes out while query 1 is not accepted
    assert len(sut.calls) == 2
    gate.set_result(None)
    series, _, _ = await run
    assert sut.calls == [[0], [1], [2], [3]]
    assert _issued(series, 4) == [0, MS, 6 * MS, 6 * MS]  # late, on their own schedule


@pytest.mark.asyncio
async def test_an_exception_raised_in_a_callback_issue_is_raised_by_the_shaper(
    tmp_path: Path,
) -> None:
    clock = ManualClock()

    def fail_on_second(samples: Sequence[QuerySample]) -> None:
        if samples[0].index == 1:
            raise RuntimeError("the SUT refused query 1")

    sut = CheckingSUT(fail_on_second)
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    run = asyncio.ensure_future(_run(tmp_path, settings, [0, MS, 2 * MS], sut, clock))
    await _until(clock.asleep)
    assert sut.check is not None
    clock.t = MS
    sut.check()  # the callback itself does not raise: its caller is the SUT's I/O
    assert not run.done()
    clock.move_to(MS)
    with pytest.raises(RuntimeError, match="refused query 1"):
        await run
    assert len(sut.calls) == 2 and sut.attached == [True, False]


@pytest.mark.asyncio
async def test_an_issue_query_that_suspends_then_raises_stops_the_run(tmp_path: Path) -> None:
    clock = FakeClock(0)

    class RefusingSUT(CheckingSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            await super().issue_query(samples)
            await asyncio.sleep(0)
            if samples[0].index == 1:
                raise RuntimeError("the SUT refused query 1 after a while")

    sut = RefusingSUT(complete_after(clock, 0))
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    with pytest.raises(RuntimeError, match="after a while"):
        await _run(tmp_path, settings, [0, MS, 2 * MS], sut, clock)
    assert sut.calls == [[0], [1]] and sut.attached == [True, False]


@pytest.mark.asyncio
async def test_a_check_from_inside_issue_query_issues_nothing_more(tmp_path: Path) -> None:
    clock = FakeClock(0)

    def check_while_issuing(samples: Sequence[QuerySample]) -> None:
        clock.advance(MS)  # the next arrival is due by now...
        assert sut.check is not None
        sut.check()  # ...but the call issuing this one goes on with it, in order
        for sample in samples:
            sample.complete()

    sut = CheckingSUT(check_while_issuing)
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    series, _, _ = await _run(tmp_path, settings, [0, MS, 2 * MS], sut, clock)
    assert sut.calls == [[0], [1], [2]]
    assert _issued(series, 3) == [0, MS, 2 * MS]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "when", ["before-its-task-ran", "while-it-waits", "issued-from-a-callback"]
)
async def test_cancelling_the_shaper_cancels_an_issue_query_it_waits_for(
    tmp_path: Path, when: str
) -> None:
    clock = FakeClock(0)
    cancelled: list[bool] = []

    class StuckSUT(CheckingSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            await super().issue_query(samples)
            try:
                await asyncio.get_running_loop().create_future()  # never accepts
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    sut = StuckSUT()
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    if when == "issued-from-a-callback":  # the shaper sleeps while the query waits
        manual = ManualClock()
        run = asyncio.ensure_future(_run(tmp_path, settings, [MS, 2 * MS], sut, manual))
        await _until(manual.asleep)
        assert sut.check is not None
        manual.t = MS
        sut.check()
    else:
        run = asyncio.ensure_future(_run(tmp_path, settings, [0, MS], sut, clock))
    await _until(lambda: len(sut.calls) == 1)
    for _ in range(0 if when == "before-its-task-ran" else 5):
        await asyncio.sleep(0)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await _until(lambda: bool(cancelled))  # a task the shaper did not wait for ends soon after
    assert cancelled == [True] and sut.attached == [True, False]


@pytest.mark.asyncio
async def test_issue_query_called_from_a_callback_runs_in_the_shapers_context(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []
    sut = CheckingSUT(lambda samples: seen.append(var.get()))
    settings = TestSettings(scenario=TestScenario.Server, min_query_count=1)
    var.set("the run's")  # the shaper's task starts with a copy of this context
    run = asyncio.ensure_future(_run(tmp_path, settings, [0, MS], sut, clock))
    await _until(clock.asleep)
    assert sut.check is not None
    clock.t = MS
    loop = asyncio.get_running_loop()
    loop.call_soon(sut.check, context=contextvars.Context())  # a callback with no context
    await _until(lambda: len(seen) == 2)
    clock.move_to(MS)
    await run
    assert seen == ["the run's", "the run's"]


@pytest.mark.asyncio
async def test_the_rest_of_a_stepped_issue_query_closes_with_it() -> None:
    closed: list[bool] = []

    async def issue() -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            closed.append(True)

    coro = issue()
    rest = arrivals._Rest(coro, coro.send(None))
    rest.close()  # what a task does not do, but a coroutine's owner may
    assert closed == [True] and coro.cr_frame is None
