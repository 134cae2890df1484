"""Time as integer nanoseconds from a monotonic clock, injected so tests can fake it.

A clock tells the time (``now_ns``) and waits until a deadline on the running event loop
(``sleep_until``). Loop timers are coarse: uvloop rounds them to whole milliseconds and may
fire half a millisecond early or several late on a busy machine. The real clock therefore
has two pacing modes:

* **precise** (the default): sleep on a loop timer until ``wake_ahead_ns`` before the
  deadline, then poll — ``await asyncio.sleep(0)`` in a loop, which lets every ready callback
  (completions, the SUT's own tasks) run in between — until the deadline has passed. Arrivals
  go out a few microseconds late, at the price of a busy core while polling.
* **low CPU** (``precise=False``): timers only. The loop sleeps until the deadline, and when a
  timer fires early it sleeps again for at least a timer tick. Arrivals go out up to about a
  millisecond (one tick) late, and an idle run costs almost no CPU.

Either way ``sleep_until`` never returns before the deadline: callers re-read ``now_ns`` after
waking and issue every arrival already due.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

TIMER_GRANULARITY_NS = 1_000_000  # loop timers wake on millisecond boundaries
DEFAULT_WAKE_AHEAD_NS = 5_000_000  # covers early and (most) late timer wakes on a busy host

_now = time.perf_counter_ns  # what the waits below read (tests substitute a fake)


class Clock(Protocol):
    """A monotonic nanosecond clock that can also wait on the event loop."""

    def now_ns(self) -> int:
        """Nanoseconds since an arbitrary fixed origin."""
        ...

    async def sleep_until(self, deadline_ns: int) -> None:
        """Return at or after ``deadline_ns`` (at once if it has passed)."""
        ...


class MonotonicClock:
    """The real clock: ``time.perf_counter_ns`` (CLOCK_MONOTONIC on Linux) and loop timers.

    ``precise`` selects the pacing mode (see the module docstring); ``wake_ahead_ns`` is how
    long before a deadline the precise mode stops sleeping on a timer and starts polling.
    """

    __slots__ = ("precise", "wake_ahead_ns")

    # A builtin, not a method: reading the time is the hottest call of a run.
    now_ns = staticmethod(time.perf_counter_ns)

    def __init__(self, *, precise: bool = True, wake_ahead_ns: int = DEFAULT_WAKE_AHEAD_NS) -> None:
        if wake_ahead_ns < 0:
            raise ValueError("wake_ahead_ns must not be negative")
        self.precise = precise
        self.wake_ahead_ns = wake_ahead_ns

    def __repr__(self) -> str:
        return f"MonotonicClock(precise={self.precise}, wake_ahead_ns={self.wake_ahead_ns})"

    async def sleep_until(self, deadline_ns: int) -> None:
        if self.precise:
            await _sleep_then_poll(deadline_ns, self.wake_ahead_ns)
        else:
            await _sleep_on_timers(deadline_ns)


async def _sleep_then_poll(deadline_ns: int, wake_ahead_ns: int) -> None:
    if deadline_ns - _now() > wake_ahead_ns:
        await _timer(deadline_ns - wake_ahead_ns)
    while _now() < deadline_ns:  # noqa: ASYNC110 - polling is the point: no event to wait on
        await asyncio.sleep(0)  # one loop turn: completions and other tasks run here


async def _sleep_on_timers(deadline_ns: int) -> None:
    # A timer may fire up to a tick early; sleeping again for at least one tick (rather
    # than re-arming for the sub-tick remainder, which fires on the next turn) avoids spinning.
    while (remaining_ns := deadline_ns - _now()) > 0:
        await _timer(_now() + max(remaining_ns, TIMER_GRANULARITY_NS))


async def _timer(deadline_ns: int) -> None:
    """One loop timer for ``deadline_ns`` (may fire early or late by the loop's granularity)."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    delay_s = (deadline_ns - _now()) / 1e9
    handle = loop.call_at(loop.time() + delay_s, _wake, waiter)
    try:
        await waiter
    finally:
        handle.cancel()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class FakeClock:
    """A clock that moves only when told to, for deterministic scheduling tests.

    ``sleep_until`` jumps the clock to the deadline and yields once to the loop, so a test
    sees exactly the timestamps the schedule asks for.
    """

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    async def sleep_until(self, deadline_ns: int) -> None:
        self._now = max(self._now, deadline_ns)
        await asyncio.sleep(0)

    def advance(self, delta_ns: int) -> None:
        if delta_ns < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._now += delta_ns
