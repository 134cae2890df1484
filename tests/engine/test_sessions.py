"""The session shaper against a fake clock: concurrency slots and their waits, closed-loop
users, multi-turn ordering, think time and history, and growing a closed loop's slots."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from asyncgen._config.effective import effective_settings
from asyncgen._engine.clock import FakeClock
from asyncgen._engine.sessions import SessionSeries, SessionSpec
from asyncgen._engine.shapers import SCHEDULES, SHAPERS, IssueOutcome, ShaperContext
from asyncgen._plan.queries import QueryPlan
from asyncgen._plan.sequence import SequenceGen
from asyncgen._plan.sessions import query_slots
from asyncgen._run.runner import run_test
from asyncgen.settings import LogOutputSettings, LogSettings, TestScenario, TestSettings
from asyncgen.simulated import SimulatedQSL
from asyncgen.sut import QuerySample, TurnSample
from tests.helpers import make_plan, open_writer

MS = 1_000_000


class HoldingSUT:
    """Keeps every sample until the test completes it; records what it got and when."""

    name = "holding"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.held: list[QuerySample] = []
        self.issued: list[tuple[int, int]] = []  # (QSL index, fake time)
        self.samples: list[QuerySample] = []
        self.peak = 0

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            self.issued.append((sample.index, self.clock.now_ns()))
        self.held.extend(samples)
        self.samples.extend(samples)
        self.peak = max(self.peak, len(self.held))

    async def flush_queries(self) -> None:
        pass

    def complete_oldest(self, data: bytes = b"") -> QuerySample:
        sample = self.held.pop(0)
        sample.complete(data)
        return sample


class ServiceSUT:
    """Answers each sample inside issue_query after ``service_ns`` of fake time, with
    ``answer(sample)`` as its bytes."""

    name = "service"

    def __init__(self, clock: FakeClock, service_ns: int) -> None:
        self.clock, self.service_ns = clock, service_ns
        self.samples: list[QuerySample] = []
        self.issued_at: list[int] = []

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            self.samples.append(sample)
            self.issued_at.append(self.clock.now_ns())
            self.clock.advance(self.service_ns)
            sample.complete(self.answer(sample))

    @staticmethod
    def answer(sample: QuerySample) -> bytes:
        turn = sample.turn if isinstance(sample, TurnSample) else 0
        return f"answer {sample.index}.{turn}".encode()

    async def flush_queries(self) -> None:
        pass


def _series(tmp_path: Path, plan: QueryPlan, spec: SessionSpec, clock: FakeClock) -> SessionSeries:
    writer = open_writer(tmp_path)
    return SessionSeries(
        plan,
        queue_waits=spec.max_in_flight > 0,
        turns=spec.multi_turn,
        keep_answers=spec.multi_turn,
        clock=clock,
        events=writer,
        log_all_responses=False,
        log_mask=np.zeros(0, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
        server=True,
        schedule=SCHEDULES[TestScenario.Server],
    )


def _ctx(series: SessionSeries, sut: object, clock: FakeClock, spec: SessionSpec, **fields: object):
    settings = TestSettings(scenario=TestScenario.Server, **fields)  # type: ignore[arg-type]
    eff, _ = effective_settings(settings, 16, 16)
    return ShaperContext(
        series=series,
        sut=sut,  # type: ignore[arg-type]
        settings=eff,
        accuracy=False,
        clock=clock,
        events=series.events,  # type: ignore[arg-type]
        sessions=spec,
    )


def _at(clock: FakeClock, t: int) -> None:
    clock.advance(t - clock.now_ns())


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_arrivals_beyond_the_limit_wait_in_order_for_a_slot(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = HoldingSUT(clock)
    plan = make_plan([0, 1 * MS, 2 * MS, 3 * MS, 4 * MS])
    spec = SessionSpec(max_in_flight=2, starts=plan)
    series = _series(tmp_path, plan, spec, clock)
    task = asyncio.ensure_future(SHAPERS[TestScenario.Server](_ctx(series, sut, clock, spec)))
    await _settle()
    assert sut.issued == [(0, 0), (1, 1 * MS)]  # the third found two in flight
    _at(clock, 10 * MS)
    sut.complete_oldest()
    await _settle()
    assert sut.issued[2:] == [(2, 10 * MS)]
    _at(clock, 11 * MS)  # one completion frees one slot, for the next in line
    sut.complete_oldest()
    await _settle()
    assert sut.issued[3:] == [(3, 11 * MS)] and sut.peak == 2
    _at(clock, 12 * MS)
    sut.complete_oldest()
    sut.complete_oldest()  # two at once: the last arrival takes the first freed slot
    await _settle()
    while sut.held:
        sut.complete_oldest()
    assert await task == IssueOutcome(ran_out=False)
    assert sut.issued[4:] == [(4, 12 * MS)]
    # latency counts from the schedule; the slot wait is kept apart from asyncgen's own lag
    assert series.scheduled(np.arange(5)).tolist() == [0, 1 * MS, 2 * MS, 3 * MS, 4 * MS]
    assert series.queue_waits().tolist() == [0, 0, 8 * MS, 8 * MS, 8 * MS]
    assert series.issue_lags(0, 5).tolist() == [0, 0, 0, 0, 0]
    assert series.released_at(4) == 12 * MS


@pytest.mark.asyncio
async def test_a_limit_never_reached_changes_nothing(tmp_path: Path) -> None:
    clock = FakeClock(5 * MS)
    sut = ServiceSUT(clock, 1 * MS)
    offsets = [0, 3 * MS, 3 * MS, 7 * MS]
    plan = make_plan(offsets, indices=[4, 3, 2, 1])
    spec = SessionSpec(max_in_flight=8, starts=plan)
    series = _series(tmp_path, plan, spec, clock)
    await SHAPERS[TestScenario.Server](_ctx(series, sut, clock, spec))
    start = series.start_ns
    assert sut.issued_at == [start, start + 3 * MS, start + 4 * MS, start + 7 * MS]
    assert [s.index for s in sut.samples] == [4, 3, 2, 1]
    assert series.queue_waits().tolist() == [0, 0, 0, 0]
    assert series.issue_lags(0, 4).tolist() == [0, 0, 1 * MS, 0]  # the SUT held the loop


@pytest.mark.asyncio
async def test_a_closed_loop_keeps_every_user_busy(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = HoldingSUT(clock)
    samples = iter(range(100))
    seq, eff = SequenceGen(), _eff()
    spec = SessionSpec(
        users=3,
        next_sample=lambda: next(samples),
        more_slots=lambda n: query_slots(n, seq=seq, eff=eff, index_dtype=np.dtype(np.int64)),
    )
    series = _series(tmp_path, spec.more_slots(2), spec, clock)  # type: ignore[misc]
    ctx = _ctx(series, sut, clock, spec, min_query_count=8, min_duration_ms=0)
    task = asyncio.ensure_future(SHAPERS[TestScenario.Server](ctx))
    await _settle()
    assert [i for i, _ in sut.issued] == [0, 1, 2]  # one request per user, at once
    for step in range(1, 6):
        clock.advance(2 * MS)
        sut.complete_oldest()
        await _settle()
        assert len(sut.held) == 3  # the user that finished sent its next request at once
        assert sut.issued[-1] == (2 + step, 2 * MS * step)
    await task  # ended naturally at 8 queries: min_query_count, no min duration
    assert series.queries_issued == 8 and series.plan.query_count >= 8  # grown from 2 slots
    # each request is scheduled when its user became free: the previous completion
    assert series.scheduled(np.arange(8)).tolist() == [0, 0, 0, *(2 * MS * k for k in range(1, 6))]
    assert series.plan.sample_indices[:8].tolist() == list(range(8))
    while sut.held:
        sut.complete_oldest()
    assert series.samples_completed == 8


@pytest.mark.asyncio
async def test_turns_follow_answers_plus_think_time_with_the_real_history(tmp_path: Path) -> None:
    clock = FakeClock(0)
    sut = ServiceSUT(clock, service_ns=10 * MS)
    starts = make_plan([0, 5 * MS], indices=[7, 9])  # two conversations
    turns = {7: 3, 9: 2}
    seq, eff = SequenceGen(), _eff()
    slots = query_slots(5, seq=seq, eff=eff, index_dtype=np.dtype(np.int64))  # 3 + 2 turns
    spec = SessionSpec(starts=starts, turns=turns.__getitem__, think_ns=20 * MS)
    series = _series(tmp_path, slots, spec, clock)
    await SHAPERS[TestScenario.Server](_ctx(series, sut, clock, spec))
    got = [(s.index, s.turn, s.answers) for s in sut.samples]  # type: ignore[attr-defined]
    assert got == [
        (7, 0, ()),
        (9, 0, ()),  # due at 5 ms, sent at 10 ms: the first answer held the loop
        (7, 1, (b"answer 7.0",)),
        (9, 1, (b"answer 9.0",)),
        (7, 2, (b"answer 7.0", b"answer 7.1")),
    ]
    # each later turn is due at the previous answer plus the think time
    scheduled = series.scheduled(np.arange(5)).tolist()
    assert scheduled == [0, 5 * MS, 10 * MS + 20 * MS, 20 * MS + 20 * MS, 40 * MS + 20 * MS]
    assert sut.issued_at == [0, 10 * MS, 30 * MS, 40 * MS, 60 * MS]
    assert series.turns().tolist() == [0, 0, 1, 1, 2]
    assert series.plan.sample_indices.tolist() == [7, 9, 7, 9, 7]


@pytest.mark.asyncio
async def test_a_failed_turn_ends_its_conversation(tmp_path: Path) -> None:
    clock = FakeClock(0)

    class FailsFirst(ServiceSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            for sample in samples:
                self.samples.append(sample)
                sample.fail("http_status: 500") if sample.index == 1 else sample.complete(b"ok")

    sut = FailsFirst(clock, 0)
    series = await _two_conversations(tmp_path, sut, clock, turns=3)
    assert [(s.index, s.turn) for s in sut.samples] == [(1, 0), (2, 0), (2, 1), (2, 2)]  # type: ignore[attr-defined]
    assert series.queries_issued == 4 and series.queries_completed == 4


@pytest.mark.asyncio
async def test_a_str_answer_is_history_and_a_bad_one_ends_its_conversation(tmp_path: Path) -> None:
    """A completion is recorded whole or not at all in a conversation too: a ``str`` answer
    is the next turn's history (as UTF-8); data of another type fails its turn, once."""
    clock = FakeClock(0)

    class OddAnswers(ServiceSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            for sample in samples:
                self.samples.append(sample)
                sample.complete(12345 if sample.index == 1 else "é")  # type: ignore[arg-type]

    sut = OddAnswers(clock, 0)
    series = await _two_conversations(tmp_path, sut, clock, turns=2)
    got = [(s.index, s.turn, s.answers) for s in sut.samples]  # type: ignore[attr-defined]
    assert got == [(1, 0, ()), (2, 0, ()), (2, 1, ("é".encode(),))]
    assert series.failures == {
        0: "invalid_completion: response data must be bytes-like or str, not int"
    }
    assert series.queries_issued == 3 and series.queries_completed == 3


async def _two_conversations(
    tmp_path: Path, sut: ServiceSUT, clock: FakeClock, *, turns: int
) -> SessionSeries:
    """Paces two conversations of ``turns`` turns (QSL samples 1 and 2, from 0 and 1 ms)."""
    spec = SessionSpec(starts=make_plan([0, 1 * MS], indices=[1, 2]), turns=lambda i: turns)
    slots = query_slots(2 * turns, seq=SequenceGen(), eff=_eff(), index_dtype=np.dtype(np.int64))
    series = _series(tmp_path, slots, spec, clock)
    await SHAPERS[TestScenario.Server](_ctx(series, sut, clock, spec))
    return series


def _eff():  # type: ignore[no-untyped-def]
    eff, _ = effective_settings(TestSettings(scenario=TestScenario.Server), 16, 16)
    return eff


class NeverAnswers:
    """Answers every sample at once, except those of QSL index 0, which it keeps forever."""

    name = "never-answers"

    def __init__(self) -> None:
        self.kept: list[QuerySample] = []

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            if sample.index == 0:
                self.kept.append(sample)
            else:
                sample.complete(b"ok")

    async def flush_queries(self) -> None:
        pass


class Chats(SimulatedQSL):
    def turn_count(self, index: int) -> int:
        return 3


@pytest.mark.realtime
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "options",
    [
        {"server_max_concurrency": 1},
        {"server_concurrency": 1},
        {"server_multi_turn": True, "performance_issue_unique": True},
    ],
)
async def test_a_query_that_never_completes_ends_the_wait_at_the_drain_deadline(
    tmp_path: Path, options: dict[str, object]
) -> None:
    settings = TestSettings(
        scenario=TestScenario.Server,
        server_target_qps=1000,
        min_duration_ms=50,
        min_query_count=20,
        drain_timeout_ms=200,
        **options,  # type: ignore[arg-type]
    )
    qsl = Chats(total_sample_count=4, performance_sample_count=4)
    log = LogSettings(log_output=LogOutputSettings(outdir=str(tmp_path)))
    async with asyncio.timeout(30):  # the point: it must not hang
        result = await run_test(NeverAnswers(), qsl, settings, log_settings=log, audit_config=None)
    assert not result.valid
    assert result.missing_samples and all(index == 0 for _, index in result.missing_samples)
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "did not complete within the drain deadline" in detail
