"""Completion bookkeeping: duplicates, strangers, other threads, tokens, late arrivals."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import UNSET, Schedule, Series
from asyncgen._output.writer import LogWriter
from asyncgen.sut import QuerySampleResponse, first_token_complete, query_samples_complete
from tests.helpers import make_plan, open_writer, read_detail


def _series(
    tmp_path: Path,
    n: int = 4,
    *,
    tokens: bool = False,
    log_all: bool = False,
    trace: bool = True,
    schedule: Schedule = Schedule.ISSUE,  # scheduled when issued (at 100, by mark_issued)
) -> tuple[Series, LogWriter, FakeClock]:
    clock = FakeClock(100)
    writer = open_writer(tmp_path, trace=trace)
    series = Series(
        make_plan(list(range(n))),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=log_all,
        log_mask=np.zeros(n, dtype=bool),
        use_tokens=tokens,
        needs_first_token=True,
        schedule=schedule,
    )
    writer.follow(series)
    series.mark_issued(0, n - 1, 100)
    return series, writer, clock


def _errors(writer: LogWriter) -> list[str]:
    writer.close()
    return [e["value"] for e in read_detail(writer.paths["detail"]) if e["metadata"]["is_error"]]


@pytest.mark.asyncio
async def test_a_duplicate_completion_is_an_error_and_keeps_the_first(tmp_path: Path) -> None:
    series, writer, clock = _series(tmp_path)
    sample = series.samples_for(0, 0)[0]
    clock.advance(5)
    sample.complete(b"a")
    clock.advance(5)
    sample.complete(b"b")
    assert series.completed_ns[0] == 105
    assert series.samples_completed == 1
    assert _errors(writer) == ["Attempted to complete a sample twice."]


@pytest.mark.asyncio
async def test_unknown_ids_never_raise(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path)
    first = series.samples_for(0, 0)[0]
    query_samples_complete([QuerySampleResponse(first.id + 1000, b"")])  # not issued
    query_samples_complete([QuerySampleResponse(12345, b"")])  # no such series
    assert series.samples_completed == 0
    # an id no series owns is reported in the newest running series' detail log (issue 6)
    assert _errors(writer) == [
        "Completion for a sample that was never issued. sample: 1000",
        "Completion for an unknown response id: 12345",
    ]


@pytest.mark.asyncio
async def test_batch_completion_by_id(tmp_path: Path) -> None:
    series, _, _ = _series(tmp_path)
    samples = series.samples_for(0, 3)
    query_samples_complete([QuerySampleResponse(s.id, b"") for s in samples])
    assert series.samples_completed == 4
    await series.wait_all()


@pytest.mark.asyncio
async def test_completion_from_another_thread_is_stamped_there(tmp_path: Path) -> None:
    series, _, clock = _series(tmp_path)
    sample = series.samples_for(0, 0)[0]
    clock.advance(7)
    worker = threading.Thread(target=sample.complete, args=(b"t",))
    worker.start()
    worker.join()
    assert series.completed_ns[0] == UNSET  # handed to the loop, not yet recorded
    await asyncio.sleep(0)
    assert series.completed_ns[0] == 107


@pytest.mark.asyncio
async def test_completion_after_the_series_closed_is_reported(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path)
    series.closed = True
    series.samples_for(1, 1)[0].complete(b"")
    assert series.tally.late_completions == 1
    assert _errors(writer) == ["Completion after the end of its series. sample: 1"]


@pytest.mark.asyncio
async def test_token_misuse_is_reported_per_kind(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path, tokens=True)
    a, b, c, d = series.samples_for(0, 3)
    a.complete(b"", 3)  # no first token
    b.first_token(b"")
    b.complete(b"", 1)  # too few tokens
    c.first_token(b"")
    c.complete(b"", -2)  # negative
    d.first_token(b"")
    d.complete(b"", 4)
    d.first_token(b"")  # after completion
    assert _errors(writer) == [
        "Attempted to record a sample latency before it's first token latency",
        "Number of tokens need to be greater than 1",
        "Attempted to record a negative number of tokens",
        "Attempted to record token latency after sample was completed",
    ]
    assert list(series.n_tokens) == [3, 0, 0, 4]


@pytest.mark.asyncio
async def test_a_failed_sample_completes_without_a_latency(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path)
    series.samples_for(2, 2)[0].fail(ValueError("boom"))
    assert series.samples_completed == 1
    assert series.failures == {2: "ValueError('boom')"}
    assert _errors(writer) == ["Sample failed. seq_id: 2 reason: ValueError('boom')"]


@pytest.mark.asyncio
async def test_accuracy_entries_carry_upper_case_hex_and_tokens(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path, tokens=True, log_all=True)
    sample = series.samples_for(0, 0)[0]
    sample.first_token(b"\x0a")
    sample.complete(b"\xab\x01", 2)
    first_token_complete([])
    writer.close()
    text = writer.paths["accuracy"].read_text()
    assert text == (
        '[\n{ "seq_id" : 0, "qsl_idx" : 0, "data" : "AB01", "token_data" : "0A", '
        '"token_count" : 2 }\n]\n'
    )


@pytest.mark.asyncio
async def test_start_query_stamps_a_one_sample_query_when_it_is_called(tmp_path: Path) -> None:
    series, _, clock = _series(tmp_path)
    series.queries_issued = series.samples_issued = 0  # undo the fixture's mark_issued
    clock.advance(50)
    (sample,) = series.start_query(0, 7)
    assert (sample.index, sample.id) == (7, series.samples_for(0, 0)[0].id)
    assert series.issued_at(0) == 150
    (closed_loop,) = series.start_query(1, 3)
    assert (series.queries_issued, series.samples_issued) == (2, 2)
    clock.advance(5)
    closed_loop.complete(b"")
    assert series.done_ns[1] == series.completed_ns[1] == 155  # one column for both
    assert list(series.completion_order) == [1]
    await series.wait_query(1)


@pytest.mark.asyncio
async def test_only_sampled_responses_are_kept_for_the_accuracy_log(tmp_path: Path) -> None:
    clock = FakeClock(0)
    writer = open_writer(tmp_path)
    mask = np.array([False, True, False, True])
    series = Series(
        make_plan([0, 1, 2, 3]),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=mask,
        use_tokens=False,
        needs_first_token=True,
    )
    writer.follow(series)
    series.mark_issued(0, 3, 0)
    samples = series.samples_for(0, 3)
    for k in (3, 0, 1, 2):
        samples[k].complete(bytes([k]))
    assert list(series.logged) == [3, 1]  # sampled ones, in completion order
    assert [series.logs_response(s) for s in range(4)] == [False, True, False, True]
    writer.close()
    entries = writer.paths["accuracy"].read_text().splitlines()[1:-1]
    assert entries == [
        '{ "seq_id" : 3, "qsl_idx" : 3, "data" : "03" },',
        '{ "seq_id" : 1, "qsl_idx" : 1, "data" : "01" }',
    ]


def _three_queries(tmp_path: Path, schedule: Schedule, clock: FakeClock) -> Series:
    """A series started at 1000 whose plan puts its three queries at offsets 0, 7 and 9."""
    writer = open_writer(tmp_path)
    series = Series(
        make_plan([0, 7, 9]),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=np.zeros(3, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
        schedule=schedule,
    )
    series.start_ns = 1000
    return series


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (Schedule.PLAN, [1000 + 0, 1000 + 7, 1000 + 9]),  # start + the plan's offsets
        (Schedule.START, [1000, 1000, 1000]),
        (Schedule.ISSUE, [1010, 1020, 1030]),  # when each was issued
    ],
)
async def test_scheduled_times_follow_the_series_schedule(
    tmp_path: Path, schedule: Schedule, expected: list[int]
) -> None:
    series = _three_queries(tmp_path, schedule, FakeClock(0))
    for q in range(3):
        series.mark_issued(q, q, 1010 + 10 * q)
    assert series.scheduled(np.arange(3)).tolist() == expected
    assert series.scheduled(np.array([2, 0])).tolist() == [expected[2], expected[0]]
    assert [series.scheduled_at(q) for q in range(3)] == expected


@pytest.mark.asyncio
async def test_the_completion_order_is_kept_only_for_a_trace(tmp_path: Path) -> None:
    traced, _, _ = _series(tmp_path / "traced")
    untraced, _, _ = _series(tmp_path / "untraced", trace=False)
    for series in (traced, untraced):
        for sample in reversed(series.samples_for(0, 3)):
            sample.complete(b"")
        assert series.samples_completed == 4
    assert list(traced.completion_order) == [3, 2, 1, 0]
    assert list(untraced.completion_order) == []  # four bytes a sample saved


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("schedule", "lags"),
    [(Schedule.PLAN, [10, 13, 1]), (Schedule.START, [10, 20, 10]), (Schedule.ISSUE, [0, 0, 0])],
)
async def test_issue_times_and_lags_read_back_for_every_schedule(
    tmp_path: Path, schedule: Schedule, lags: list[int]
) -> None:
    series = _three_queries(tmp_path, schedule, FakeClock(1010))
    series.start_query(0, 0)  # the clock reads 1010
    series.mark_issued(1, 1, 1020)
    series.start_query(2, 2, scheduled_ns=1009 if schedule is Schedule.PLAN else None)
    assert [series.issued_at(q) for q in range(3)] == [1010, 1020, 1010]
    assert series.issued(np.array([2, 0, 1])).tolist() == [1010, 1010, 1020]
    assert series.issue_lags(0, 3).tolist() == lags
    assert series.issue_lags(1, 3).tolist() == lags[1:]
    assert series.issue_lags(0, 3).itemsize == 4


@pytest.mark.asyncio
async def test_a_lag_beyond_two_seconds_widens_the_issue_column(tmp_path: Path) -> None:
    series, _, clock = _series(tmp_path, schedule=Schedule.PLAN)
    series.queries_issued = series.samples_issued = 0  # undo the fixture's mark_issued
    series.start_query(0, 0)
    clock.advance(3 * 10**9)  # three seconds late: more than four bytes hold
    series.start_query(1, 1)
    assert [series.issued_at(q) for q in range(2)] == [100, 100 + 3 * 10**9]
    assert series.issue_lags(0, 2).tolist() == [100, 3 * 10**9 + 99]
    assert series.issue_lags(0, 2).itemsize == 8


def _on_thread(fn: object, *args: object) -> None:
    """Call ``fn(*args)`` on another thread and wait for it, without a loop turn."""
    worker = threading.Thread(target=fn, args=args)  # type: ignore[arg-type]
    worker.start()
    worker.join()


async def _go_threaded(series: Series, sample_number: int) -> None:
    """The first completion from another thread goes through the loop, which then lets
    other threads record by themselves."""
    _on_thread(series.samples_for(sample_number, sample_number)[0].complete, b"")
    await asyncio.sleep(0)
    assert series.completed_ns[sample_number] != UNSET


@pytest.mark.asyncio
async def test_later_completions_from_threads_are_recorded_there(tmp_path: Path) -> None:
    series, writer, clock = _series(tmp_path, log_all=True)
    await _go_threaded(series, 0)
    clock.advance(9)
    _on_thread(series.samples_for(1, 1)[0].complete, b"direct")
    assert series.completed_ns[1] == 109  # no loop turn: recorded on the worker thread
    assert (series.samples_completed, series.queries_completed) == (2, 2)
    assert list(series.completion_order) == [0, 1]
    assert series.take_logged_response(1) == (b"direct", b"")
    series.samples_for(2, 2)[0].complete(b"")  # the loop's own completions take the lock too
    assert series.samples_completed == 3
    assert _errors(writer) == []


@pytest.mark.asyncio
async def test_a_waiting_closed_loop_is_woken_by_a_completion_on_a_thread(tmp_path: Path) -> None:
    series, _, _ = _series(tmp_path)
    await _go_threaded(series, 0)
    waiting = asyncio.ensure_future(series.wait_query(1))
    await asyncio.sleep(0)
    assert series.awaited_query == 1
    _on_thread(series.samples_for(1, 1)[0].complete, b"")
    assert series.query_done(1) and not waiting.done()  # recorded; the loop still has to wake
    await asyncio.wait_for(waiting, 5)
    drain = asyncio.ensure_future(series.wait_all())
    await asyncio.sleep(0)
    _on_thread(
        query_samples_complete, [QuerySampleResponse(s.id) for s in series.samples_for(2, 3)]
    )
    assert await asyncio.wait_for(drain, 5)


@pytest.mark.asyncio
async def test_what_a_thread_cannot_record_is_reported_by_the_loop(tmp_path: Path) -> None:
    series, writer, _ = _series(tmp_path)
    await _go_threaded(series, 0)
    _on_thread(series.samples_for(0, 0)[0].complete, b"")  # twice
    series.closed = True
    _on_thread(series.samples_for(1, 1)[0].complete, b"")  # after the end
    assert series.samples_completed == 1
    await asyncio.sleep(0)
    assert series.tally.late_completions == 1
    assert _errors(writer) == [
        "Attempted to complete a sample twice.",
        "Completion after the end of its series. sample: 1",
    ]


@pytest.mark.asyncio
async def test_a_multi_sample_query_completes_when_its_last_sample_does(tmp_path: Path) -> None:
    clock = FakeClock(0)
    writer = open_writer(tmp_path)
    series = Series(
        make_plan([0, 0], samples_per_query=2),
        clock=clock,
        events=writer,
        log_all_responses=False,
        log_mask=np.zeros(4, dtype=bool),
        use_tokens=False,
        needs_first_token=False,
    )
    series.mark_issued(0, 1, 0)
    a, b, c, d = series.samples_for(0, 1)
    _on_thread(a.complete, b"")
    await asyncio.sleep(0)  # the loop records the first one
    clock.advance(3)
    _on_thread(c.complete, b"")
    assert not series.query_done(1) and series.samples_completed == 2
    clock.advance(4)
    _on_thread(d.complete, b"")
    assert series.done_ns[1] == 7 and series.queries_completed == 1
    b.complete(b"")
    assert series.queries_completed == 2
    writer.close()


@pytest.mark.asyncio
async def test_token_series_record_every_completion_on_the_loop(tmp_path: Path) -> None:
    """A first token and its completion must be recorded in the order they were made."""
    series, writer, _ = _series(tmp_path, tokens=True)
    for s in range(2):
        sample = series.samples_for(s, s)[0]
        _on_thread(sample.first_token, b"f")
        _on_thread(sample.complete, b"", 3)
        assert series.completed_ns[s] == UNSET  # handed to the loop, every time
        await asyncio.sleep(0)
    assert list(series.n_tokens[:2]) == [3, 3]
    assert _errors(writer) == []


@pytest.mark.asyncio
async def test_racing_threads_and_the_loop_record_each_sample_once(tmp_path: Path) -> None:
    """Four threads complete every sample (each twice) while the loop completes some too:
    whatever the interleaving, each sample is recorded once and every extra is reported."""
    n = 4000
    series, writer, _ = _series(tmp_path, n=n, trace=False)
    await _go_threaded(series, 0)
    samples = series.samples_for(0, n - 1)
    start = threading.Barrier(4)

    def complete_all(order: range) -> None:
        start.wait()
        for s in order:
            samples[s].complete(b"")

    workers = [
        threading.Thread(target=complete_all, args=(order,))
        for order in (range(1, n), range(n - 1, 0, -1), range(1, n), range(n - 1, 0, -1))
    ]
    for worker in workers:
        worker.start()
    for s in range(1, n, 7):  # the loop thread joins in
        samples[s].complete(b"")
    for worker in workers:
        worker.join()
    await asyncio.sleep(0)  # the extras handed to the loop are reported there
    await asyncio.sleep(0)
    assert series.samples_completed == series.queries_completed == n
    assert series.missing_samples() == []
    errors = _errors(writer)
    assert errors == ["Attempted to complete a sample twice."] * len(errors)
    assert len(errors) == 3 * (n - 1) + len(range(1, n, 7))
