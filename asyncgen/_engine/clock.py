"""Time as integer nanoseconds from a monotonic clock, injected so tests can fake it.

A clock tells the time (``now_ns``) and waits until a deadline on the running event loop
(``sleep_until``). Loop timers are coarse: uvloop rounds them to whole milliseconds and may
fire half a millisecond early or several late on a busy machine. The real clock therefore
has three pacing modes:

* **precise**: sleep on a loop timer until ``wake_ahead_ns`` (5 ms) before the deadline, then
  poll — ``await asyncio.sleep(0)`` in a loop, which lets every ready callback (completions,
  the SUT's own tasks) run in between — until the deadline has passed. Arrivals go out a few
  microseconds late, at the price of a busy core while polling.
* **timer**: loop timers only. The loop sleeps until the deadline, and when a timer fires
  early it sleeps again for at least a timer tick. Arrivals go out up to about a millisecond
  (one tick) late, and an idle run costs almost no CPU.
* **hrtimer**: a kernel high-resolution timer (a Linux ``timerfd``, watched by the loop like a
  socket) wakes the loop ``wake_ahead_ns`` (30 µs) before the deadline, to the microsecond
  rather than the millisecond, and the timer's own callback spins the rest: the loop runs
  nothing else for those microseconds, so no burst of other callbacks can come between the
  wake-up and the deadline. A wait shorter than that polls the loop. Nearly as precise as
  polling, at a small fraction of its CPU. There is no thread: the loop's own ``epoll`` wakes
  when the timer expires. Where ``timerfd`` is missing (not Linux) it paces as **precise** does.

Whatever the mode, ``sleep_until`` never returns before the deadline: callers re-read
``now_ns`` after waking and issue every arrival already due. ``sleep_until(deadline,
on_due)`` also calls ``on_due`` once the deadline has passed, as early as the mode can: from the
kernel timer's callback itself in hrtimer mode, before the waiting task gets its turn (which
comes only after the rest of the loop's callbacks of that turn), else just before returning.

``MonotonicClock()`` paces **precise**ly: the default of ``run_test``, ``run`` and
``asyncgen.compat``. ``asyncgen run --pacing auto`` picks **hrtimer** for URL SUTs where the
kernel has it (``asyncgen._cli.run``).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import sys
import time
import weakref
from collections.abc import Callable
from typing import Literal, Protocol

PacingMode = Literal["precise", "timer", "hrtimer"]
"""How ``MonotonicClock`` waits for a deadline: ``"precise"``, ``"timer"`` or ``"hrtimer"``."""

PACING_MODES: tuple[PacingMode, ...] = ("precise", "timer", "hrtimer")
DEFAULT_MODE: PacingMode = "precise"

TIMER_GRANULARITY_NS = 1_000_000  # loop timers wake on millisecond boundaries
DEFAULT_WAKE_AHEAD_NS = 5_000_000  # covers early and (most) late timer wakes on a busy host
# A kernel timer's callback runs some microseconds after the timer expires (on this project's
# virtual machine: 8 us at the median, 14 at p90, 30-50 at p99): waking this much early and
# spinning the rest keeps nearly every arrival on time for a few microseconds of CPU each.
HRTIMER_WAKE_AHEAD_NS = 30_000

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

    ``mode`` selects the pacing (see the module docstring): ``"precise"``, ``"timer"`` or
    ``"hrtimer"``. ``precise=True``/``False`` is the older spelling of ``"precise"``/``"timer"``.
    ``wake_ahead_ns`` is how long before a deadline the precise mode stops sleeping and starts
    polling the loop (default 5 ms), and how long before it the hrtimer mode wakes and spins
    (default 30 µs; the loop runs nothing else while it spins). A clock serves one event loop at a
    time; in hrtimer mode it holds one timer file descriptor, closed with the clock (or by
    ``close()``), and a second concurrent wait on the same clock paces as precise does.
    """

    __slots__ = ("_kernel_timer", "mode", "wake_ahead_ns")

    # A builtin, not a method: reading the time is the hottest call of a run.
    now_ns = staticmethod(time.perf_counter_ns)

    def __init__(
        self,
        mode: PacingMode | None = None,
        *,
        precise: bool | None = None,
        wake_ahead_ns: int | None = None,
    ) -> None:
        self.mode = _resolve_mode(mode, precise)
        if wake_ahead_ns is None:
            wake_ahead_ns = (
                HRTIMER_WAKE_AHEAD_NS if self.mode == "hrtimer" else DEFAULT_WAKE_AHEAD_NS
            )
        if wake_ahead_ns < 0:
            raise ValueError("wake_ahead_ns must not be negative")
        self.wake_ahead_ns = wake_ahead_ns
        self._kernel_timer: KernelTimer | None = None

    @property
    def precise(self) -> bool:
        """Whether arrivals go out within microseconds (precise and hrtimer modes)."""
        return self.mode != "timer"

    def __repr__(self) -> str:
        return f"MonotonicClock(mode={self.mode!r}, wake_ahead_ns={self.wake_ahead_ns})"

    async def sleep_until(
        self, deadline_ns: int, on_due: Callable[[], object] | None = None
    ) -> None:
        """Return at or after ``deadline_ns``, paced as ``mode`` says; call ``on_due`` (if
        given) once the deadline has passed, from the wake-up itself in hrtimer mode."""
        if self.mode == "hrtimer" and (timer := self._free_timer()) is not None and not timer.busy:
            await _sleep_on_kernel_timer(timer, deadline_ns, self.wake_ahead_ns, on_due)
            return
        if self.mode == "timer":
            await _sleep_on_timers(deadline_ns)
        else:  # precise, or hrtimer without a free kernel timer: its wake-ahead is too short
            ahead = self.wake_ahead_ns if self.mode == "precise" else DEFAULT_WAKE_AHEAD_NS
            await _sleep_then_poll(deadline_ns, ahead)
        if on_due is not None:
            on_due()

    def close(self) -> None:
        """Release the kernel timer now rather than when the clock is collected."""
        if self._kernel_timer is not None:
            self._kernel_timer.close()
            self._kernel_timer = None

    def _free_timer(self) -> KernelTimer | None:
        if self._kernel_timer is None and kernel_timers_available():
            self._kernel_timer = KernelTimer()
        return self._kernel_timer


def pacing_mode(clock: Clock) -> PacingMode | None:
    """The pacing ``clock`` actually uses: its mode, except that hrtimer without a kernel
    timer paces as precise does; None for a clock that is not a ``MonotonicClock``."""
    if not isinstance(clock, MonotonicClock):
        return None
    if clock.mode == "hrtimer" and not kernel_timers_available():
        return "precise"
    return clock.mode


def _resolve_mode(mode: PacingMode | None, precise: bool | None) -> PacingMode:
    if mode is not None and mode not in PACING_MODES:
        raise ValueError(f"mode must be one of {', '.join(PACING_MODES)}, not {mode!r}")
    if precise is None:
        return mode or DEFAULT_MODE
    legacy: PacingMode = "precise" if precise else "timer"
    if mode is not None and mode != legacy:
        raise ValueError(f"precise={precise} contradicts mode={mode!r}; give only mode")
    return mode or legacy


async def _sleep_then_poll(deadline_ns: int, wake_ahead_ns: int) -> None:
    if deadline_ns - _now() > wake_ahead_ns:
        await _timer(deadline_ns - wake_ahead_ns)
    await _poll_until(deadline_ns)


async def _sleep_on_kernel_timer(
    timer: KernelTimer, deadline_ns: int, wake_ahead_ns: int, on_due: Callable[[], object] | None
) -> None:
    if deadline_ns - _now() > wake_ahead_ns:
        # The timer's callback spins to the deadline and calls on_due before this task resumes.
        await timer.wait(deadline_ns - wake_ahead_ns, functools.partial(_spin, deadline_ns, on_due))
        return
    await _poll_until(deadline_ns)
    if on_due is not None:
        on_due()


def _spin(deadline_ns: int, on_due: Callable[[], object] | None) -> None:
    """Busy-wait until ``deadline_ns`` without running the loop, then call ``on_due``."""
    while _now() < deadline_ns:
        pass
    if on_due is not None:
        on_due()


async def _poll_until(deadline_ns: int) -> None:
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


# -- the kernel timer (Linux timerfd, through ctypes: os.timerfd_* arrive in Python 3.13) ---

_CLOCK_MONOTONIC = 1  # what perf_counter_ns reads on Linux, so deadlines carry over as they are
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def kernel_timers_available() -> bool:
    """Whether hrtimer mode has its kernel timer here (Linux with a timerfd that works)."""
    if _libc() is None or time.get_clock_info("perf_counter").implementation != (
        "clock_gettime(CLOCK_MONOTONIC)"
    ):
        return False
    try:
        KernelTimer().close()
    except OSError:  # e.g. a sandbox that forbids the system call
        return False
    return True


class KernelTimer:
    """A one-shot kernel timer the event loop can wait on: a timerfd armed for an absolute
    CLOCK_MONOTONIC time, readable once it expires. No thread: the loop's poller wakes up.

    One waiter at a time (``busy``). The descriptor is registered with the loop for a wait and
    stays registered only until the loop's next turn, unless another wait has begun by then (a
    paced series waits again as soon as it has issued: two system calls an arrival saved), so
    nothing of it outlives a run's loop; it is closed by ``close()`` or when the timer is
    collected.
    """

    __slots__ = ("__weakref__", "_finalizer", "_loop", "_spec", "_then", "_waiter", "fd")

    def __init__(self) -> None:
        libc = _libc()
        if libc is None:
            raise OSError("no timerfd on this platform")
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_create: {os.strerror(errno)}")
        self.fd: int = fd
        self._spec = _ITimerspec()
        self._waiter: asyncio.Future[None] | None = None
        self._then: Callable[[], object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where the descriptor is registered
        self._finalizer = weakref.finalize(self, os.close, fd)

    @property
    def busy(self) -> bool:
        return self._waiter is not None

    async def wait(self, when_ns: int, then: Callable[[], object] | None = None) -> None:
        """Return once ``perf_counter_ns()`` has reached ``when_ns`` (a late wake is possible).

        ``then``, if given, is called from the loop's callback for the expiry itself, before
        this coroutine resumes (which takes a turn of the loop's ready queue).
        """
        loop = asyncio.get_running_loop()
        self._arm(when_ns)
        waiter = self._waiter = loop.create_future()
        self._then = then
        if self._loop is not loop:
            loop.add_reader(self.fd, self._expired)
            self._loop = loop
        try:
            await waiter
        finally:
            self._waiter = self._then = None
            if not loop.is_closed():
                loop.call_soon(self._release)

    def _release(self) -> None:
        """Unregister the descriptor, unless another wait has begun since the last ended."""
        loop, self._loop = self._loop, None
        if self._waiter is not None:
            self._loop = loop
        elif loop is not None and not loop.is_closed():
            loop.remove_reader(self.fd)

    def close(self) -> None:
        self._finalizer()

    def _arm(self, when_ns: int) -> None:
        # Re-arming also clears an expiry nobody read (a cancelled wait's), so the next wait
        # cannot wake early on it.
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = divmod(max(when_ns, 1), 1_000_000_000)
        libc = _libc()
        assert libc is not None  # a KernelTimer exists only where it loaded
        if libc.timerfd_settime(self.fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None):
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_settime: {os.strerror(errno)}")

    def _expired(self) -> None:
        try:
            os.read(self.fd, 8)  # the expiry count; reading makes the descriptor quiet again
        except BlockingIOError:
            return
        waiter, then = self._waiter, self._then
        if waiter is None or waiter.done():
            return
        self._then = None
        try:
            if then is not None:
                then()
        finally:
            waiter.set_result(None)


class FakeClock:
    """A clock that moves only when told to, for deterministic scheduling tests.

    ``sleep_until`` jumps the clock to the deadline, calls ``on_due`` if given, and yields
    once to the loop, so a test sees exactly the timestamps the schedule asks for.
    """

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        """The fake time: ``start_ns`` plus every advance and sleep so far."""
        return self._now

    async def sleep_until(
        self, deadline_ns: int, on_due: Callable[[], object] | None = None
    ) -> None:
        """Jump to ``deadline_ns`` (unless the time is past it), call ``on_due``, and yield to
        the loop once."""
        self._now = max(self._now, deadline_ns)
        if on_due is not None:
            on_due()
        await asyncio.sleep(0)

    def advance(self, delta_ns: int) -> None:
        """Move the time forward by ``delta_ns``."""
        if delta_ns < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._now += delta_ns
