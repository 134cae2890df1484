"""The real clock's two pacing modes, against a scripted time source and then for real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from asyncgen import _clock
from asyncgen._clock import (
    DEFAULT_WAKE_AHEAD_NS,
    TIMER_GRANULARITY_NS,
    Clock,
    FakeClock,
    MonotonicClock,
)

MS = 1_000_000


class ScriptedTime:
    """A stand-in for ``perf_counter_ns``: each read advances by ``step``; timers jump it."""

    def __init__(self, start: int = 0, step: int = 0) -> None:
        self.now = start
        self.step = step
        self.timers: list[int] = []  # deadlines the code armed timers for
        self.early_by = 0  # a timer fires this long before its deadline, as uvloop's may

    def read(self) -> int:
        self.now += self.step
        return self.now

    async def timer(self, deadline_ns: int) -> None:
        self.timers.append(deadline_ns)
        self.now = max(self.now, deadline_ns - self.early_by)
        await asyncio.sleep(0)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedTime]:
    fake = ScriptedTime()
    monkeypatch.setattr(_clock, "_now", fake.read)
    monkeypatch.setattr(_clock, "_timer", fake.timer)
    yield fake


def test_both_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [MonotonicClock(), MonotonicClock(precise=False), FakeClock()]
    assert all(isinstance(c.now_ns(), int) for c in clocks)
    assert MonotonicClock().precise and not MonotonicClock(precise=False).precise
    assert MonotonicClock().wake_ahead_ns == DEFAULT_WAKE_AHEAD_NS


def test_wake_ahead_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="wake_ahead_ns"):
        MonotonicClock(wake_ahead_ns=-1)


@pytest.mark.asyncio
async def test_precise_sleeps_on_a_timer_then_polls_up_to_the_deadline(
    scripted: ScriptedTime,
) -> None:
    scripted.step = 100_000  # every read of the time moves it on by 0.1 ms
    turns = 0

    def count_turns() -> None:  # runs once per loop turn while the clock polls
        nonlocal turns
        turns += 1
        loop.call_soon(count_turns)

    loop = asyncio.get_running_loop()
    loop.call_soon(count_turns)
    clock = MonotonicClock(precise=True, wake_ahead_ns=2 * MS)
    await clock.sleep_until(20 * MS)
    assert scripted.timers == [18 * MS]  # one timer, wake_ahead before the deadline
    assert scripted.now >= 20 * MS
    assert turns >= 15  # ~2 ms of polling at 0.1 ms a read: the loop ran in between


@pytest.mark.asyncio
async def test_precise_polls_without_a_timer_when_the_deadline_is_near(
    scripted: ScriptedTime,
) -> None:
    scripted.step = 50_000
    await MonotonicClock(wake_ahead_ns=2 * MS).sleep_until(1 * MS)
    assert scripted.timers == []
    assert scripted.now >= 1 * MS


@pytest.mark.asyncio
async def test_low_cpu_uses_timers_only_and_never_returns_early(scripted: ScriptedTime) -> None:
    scripted.early_by = 400_000  # each timer fires 0.4 ms early
    await MonotonicClock(precise=False).sleep_until(10 * MS)
    # 10 ms, woken at 9.6; the 0.4 ms left is slept as a whole tick, not spun.
    assert scripted.timers == [10 * MS, 9_600_000 + TIMER_GRANULARITY_NS]
    assert scripted.now >= 10 * MS


@pytest.mark.asyncio
async def test_a_passed_deadline_returns_at_once(scripted: ScriptedTime) -> None:
    scripted.now = 50 * MS
    for clock in (MonotonicClock(), MonotonicClock(precise=False)):
        await clock.sleep_until(10 * MS)
    assert scripted.timers == []


@pytest.mark.realtime
@pytest.mark.asyncio
@pytest.mark.parametrize("precise", [True, False])
async def test_real_waits_end_at_or_after_the_deadline(precise: bool) -> None:
    clock = MonotonicClock(precise=precise, wake_ahead_ns=1 * MS)
    for delay in (0, 300_000, 3 * MS):
        deadline = clock.now_ns() + delay
        await clock.sleep_until(deadline)
        assert time.perf_counter_ns() >= deadline
