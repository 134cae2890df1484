"""Time as integer nanoseconds from a monotonic clock, injected so tests can fake it.

A clock tells the time (``now_ns``) and sleeps until a deadline on the running event loop
(``sleep_until``). The real clock schedules a loop timer with ``loop.call_at``; loop timers
wake with about a millisecond of granularity, so callers must re-read ``now_ns`` after waking
and treat every deadline already passed as due.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

TIMER_GRANULARITY_NS = 1_000_000  # loop timers wake on millisecond boundaries


class Clock(Protocol):
    """A monotonic nanosecond clock that can also wait on the event loop."""

    def now_ns(self) -> int:
        """Nanoseconds since an arbitrary fixed origin."""
        ...

    async def sleep_until(self, deadline_ns: int) -> None:
        """Return at or after ``deadline_ns`` (at once if it has passed)."""
        ...


class MonotonicClock:
    """The real clock: ``time.perf_counter_ns`` (CLOCK_MONOTONIC on Linux), loop timers."""

    __slots__ = ()

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    async def sleep_until(self, deadline_ns: int) -> None:
        # Loop timers may fire up to a millisecond early (uvloop rounds them and caches its
        # clock), so re-check after every wake: never return before the deadline. Inside the
        # last millisecond, yield to the loop instead of arming another timer.
        loop = asyncio.get_running_loop()
        while (remaining_ns := deadline_ns - time.perf_counter_ns()) > 0:
            if remaining_ns < TIMER_GRANULARITY_NS:
                await asyncio.sleep(0)
                continue
            waiter = loop.create_future()
            handle = loop.call_at(loop.time() + remaining_ns / 1e9, _wake, waiter)
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
