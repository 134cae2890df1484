"""The real clock's three pacing modes, against a scripted time source and then for real."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Iterator

import pytest
import uvloop

from asyncgen._engine import clock as _clock
from asyncgen._engine.clock import (
    DEFAULT_MODE,
    DEFAULT_WAKE_AHEAD_NS,
    HRTIMER_WAKE_AHEAD_NS,
    TIMER_GRANULARITY_NS,
    Clock,
    FakeClock,
    KernelTimer,
    MonotonicClock,
    PacingMode,
    kernel_timers_available,
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


def test_the_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [MonotonicClock(), MonotonicClock("hrtimer"), FakeClock()]
    assert all(isinstance(c.now_ns(), int) for c in clocks)


def test_modes_by_name_and_by_the_precise_switch() -> None:
    assert MonotonicClock().mode == DEFAULT_MODE
    assert MonotonicClock(precise=True).mode == "precise"
    assert MonotonicClock(precise=False).mode == "timer"
    assert MonotonicClock(mode="timer", precise=False).mode == "timer"
    assert MonotonicClock("precise").precise and MonotonicClock("hrtimer").precise
    assert not MonotonicClock("timer").precise
    assert MonotonicClock("precise").wake_ahead_ns == DEFAULT_WAKE_AHEAD_NS
    assert MonotonicClock("hrtimer").wake_ahead_ns == HRTIMER_WAKE_AHEAD_NS
    assert repr(MonotonicClock("hrtimer", wake_ahead_ns=7)) == (
        "MonotonicClock(mode='hrtimer', wake_ahead_ns=7)"
    )


def test_an_unknown_or_contradicted_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of precise, timer, hrtimer"):
        MonotonicClock("spin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contradicts"):
        MonotonicClock("hrtimer", precise=True)
    with pytest.raises(ValueError, match="contradicts"):
        MonotonicClock("precise", precise=False)


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
    for clock in (MonotonicClock(), MonotonicClock(precise=False), MonotonicClock("hrtimer")):
        await clock.sleep_until(10 * MS)
    assert scripted.timers == []


@pytest.mark.realtime
@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["precise", "timer", "hrtimer"])
async def test_real_waits_end_at_or_after_the_deadline(mode: PacingMode) -> None:
    clock = MonotonicClock(mode, wake_ahead_ns=1 * MS if mode == "precise" else None)
    for delay in (0, 50_000, 300_000, 3 * MS):
        deadline = clock.now_ns() + delay
        await clock.sleep_until(deadline)
        assert time.perf_counter_ns() >= deadline
    clock.close()


# -- hrtimer mode: a kernel timer, then spinning ------------------------------------------


class FakeKernelTimer:
    """Stands in for ``KernelTimer``: a wait jumps the scripted time to the armed moment."""

    def __init__(self, scripted: ScriptedTime, late_by: int = 0) -> None:
        self.scripted = scripted
        self.late_by = late_by  # the loop wakes this long after the timer expires
        self.armed: list[int] = []
        self.busy = False

    async def wait(self, when_ns: int, then: Callable[[], object] | None = None) -> None:
        self.armed.append(when_ns)
        self.scripted.now = max(self.scripted.now, when_ns + self.late_by)
        if then is not None:  # the real timer calls it from its callback, before resuming
            then()
        await asyncio.sleep(0)


def _hrtimer_clock(timer: FakeKernelTimer, wake_ahead_ns: int = 100_000) -> MonotonicClock:
    clock = MonotonicClock("hrtimer", wake_ahead_ns=wake_ahead_ns)
    clock._kernel_timer = timer  # type: ignore[assignment]
    return clock


@pytest.mark.asyncio
async def test_hrtimer_wakes_on_the_kernel_timer_ahead_then_spins(scripted: ScriptedTime) -> None:
    scripted.step = 10_000  # every read of the time moves it on by 10 us
    timer = FakeKernelTimer(scripted)
    turns = 0

    def count_turns() -> None:
        nonlocal turns
        turns += 1

    asyncio.get_running_loop().call_soon(count_turns)
    await _hrtimer_clock(timer).sleep_until(20 * MS)
    assert timer.armed == [20 * MS - 100_000]  # the kernel timer, 100 us ahead
    assert scripted.timers == []  # no loop timer at all
    assert 20 * MS <= scripted.now <= 20 * MS + 20_000  # spun up to the deadline, no further
    assert turns == 1  # the loop turned for the wait itself, not while spinning


@pytest.mark.asyncio
async def test_hrtimer_calls_on_due_from_the_wake_up_before_the_task_resumes(
    scripted: ScriptedTime,
) -> None:
    scripted.step = 10_000
    timer = FakeKernelTimer(scripted)
    seen: list[int] = []
    await _hrtimer_clock(timer).sleep_until(20 * MS, on_due=lambda: seen.append(scripted.now))
    assert len(seen) == 1 and 20 * MS <= seen[0] <= 20 * MS + 10_000  # at the deadline, once
    assert timer.armed == [20 * MS - 100_000]


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["precise", "timer", "hrtimer"])
async def test_every_mode_calls_on_due_once_after_the_deadline(
    scripted: ScriptedTime, mode: PacingMode
) -> None:
    scripted.step = 50_000
    clock = _hrtimer_clock(FakeKernelTimer(scripted)) if mode == "hrtimer" else MonotonicClock(mode)
    for deadline in (10 * MS, 1 * MS):  # a wait, then a deadline already passed
        seen: list[int] = []
        await clock.sleep_until(deadline, on_due=lambda seen=seen: seen.append(scripted.now))
        assert len(seen) == 1 and seen[0] >= deadline


@pytest.mark.asyncio
async def test_hrtimer_polls_a_wait_shorter_than_its_wake_ahead(scripted: ScriptedTime) -> None:
    scripted.step = 5_000
    timer = FakeKernelTimer(scripted)
    await _hrtimer_clock(timer).sleep_until(80_000)
    assert timer.armed == [] and scripted.timers == []
    assert scripted.now >= 80_000


@pytest.mark.asyncio
async def test_hrtimer_returns_at_once_after_a_late_wake(scripted: ScriptedTime) -> None:
    scripted.step = 1_000
    timer = FakeKernelTimer(scripted, late_by=300_000)  # the loop woke 0.3 ms after the timer
    await _hrtimer_clock(timer).sleep_until(10 * MS)
    assert timer.armed == [10 * MS - 100_000]
    assert scripted.now == 10 * MS + 200_000 + 1_000  # one read after waking, no polling


@pytest.mark.asyncio
async def test_hrtimer_with_its_timer_busy_paces_as_precise(scripted: ScriptedTime) -> None:
    scripted.step = 100_000
    timer = FakeKernelTimer(scripted)
    timer.busy = True  # another task of the same loop is waiting on this clock
    await _hrtimer_clock(timer).sleep_until(20 * MS)
    assert timer.armed == []
    assert scripted.timers == [20 * MS - DEFAULT_WAKE_AHEAD_NS]  # not 100 us: a loop timer
    assert scripted.now >= 20 * MS


@pytest.mark.asyncio
async def test_hrtimer_without_kernel_timers_paces_as_precise(
    scripted: ScriptedTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_clock, "kernel_timers_available", lambda: False)
    scripted.step = 100_000
    clock = MonotonicClock("hrtimer")
    await clock.sleep_until(20 * MS)
    assert scripted.timers == [20 * MS - DEFAULT_WAKE_AHEAD_NS]
    assert clock._kernel_timer is None


needs_timerfd = pytest.mark.skipif(not kernel_timers_available(), reason="no timerfd here")


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@needs_timerfd
@pytest.mark.realtime
@pytest.mark.asyncio
async def test_kernel_timer_wakes_at_or_after_its_time_and_leaves_the_loop_clean() -> None:
    loop = asyncio.get_running_loop()
    timer = KernelTimer()
    for _ in range(2):  # back to back, as a paced series waits
        when = time.perf_counter_ns() + 2 * MS
        await timer.wait(when)
        assert time.perf_counter_ns() >= when
        assert not timer.busy
        assert timer._loop is loop  # still registered: the next wait may begin at once
    await asyncio.sleep(0)  # no wait began meanwhile: the next turn unregisters it
    assert timer._loop is None and not loop.remove_reader(timer.fd)
    timer.close()
    assert not _fd_is_open(timer.fd)
    timer.close()  # closing twice is harmless


@needs_timerfd
@pytest.mark.realtime
@pytest.mark.asyncio
async def test_a_cancelled_kernel_wait_cannot_wake_the_next_one_early() -> None:
    timer = KernelTimer()
    stale = asyncio.ensure_future(timer.wait(time.perf_counter_ns() + 1 * MS))
    await asyncio.sleep(0)
    assert timer.busy
    stale.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stale
    assert not timer.busy
    await asyncio.sleep(0.002)  # the cancelled timer expires, unread
    when = time.perf_counter_ns() + 3 * MS
    await timer.wait(when)  # re-arming cleared the stale expiry
    assert time.perf_counter_ns() >= when
    timer.close()


@needs_timerfd
@pytest.mark.realtime
def test_the_clock_closes_its_timer_when_collected_and_works_on_uvloop() -> None:
    async def waits(clock: MonotonicClock) -> int:
        for delay in (200_000, 2 * MS):
            deadline = clock.now_ns() + delay
            await clock.sleep_until(deadline)
            assert time.perf_counter_ns() >= deadline
        assert clock._kernel_timer is not None
        return clock._kernel_timer.fd

    clock = MonotonicClock("hrtimer")
    fd = uvloop.run(waits(clock))
    assert _fd_is_open(fd)
    del clock
    gc.collect()
    assert not _fd_is_open(fd)
