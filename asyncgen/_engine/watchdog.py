"""The run's watchdog: event-loop stalls, and closed loops waiting on a query that never ends.

A SUT that blocks the event loop (a synchronous ``time.sleep`` in ``issue_query``, a CPU-bound
model call on the loop thread) delays every timer and every completion: latencies grow and
issue lag piles up, yet nothing in the SUT's own numbers shows why. The watchdog wakes every
``TICK_S`` and measures how late it woke; a wake-up later than ``STALL_THRESHOLD_NS`` is a stall,
counted with the lag it caused. Only the hot window of each series (pacing, flush, drain) is
watched, so the generator's own between-series work is never blamed on the SUT.

The closed-loop scenarios (SingleStream, MultiStream) issue each query when the previous one
has completed. A sample that never completes would stop them forever; the watchdog ends such a
wait once it has lasted the drain deadline, by failing the waiter with ``QueryWaitExpired``.
Doing it here costs the closed loop nothing per query (no timer per wait).

A SUT call that never returns (``issue_query`` or ``flush_queries``) would stop any scenario
forever. While the shaper and the flush run inside ``bounding_calls``, the watchdog tracks
progress — a query issued, a sample completed — and cancels the calls' scope once there has
been none for the call deadline while the pacing was not waiting on its own schedule (the next
Server arrival still to come, or a closed loop's wait, bounded above). It reads counters the
series keeps anyway: nothing is added per query.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import anyio
import attrs

from asyncgen._engine.series import Series

STALL_THRESHOLD_NS = 250_000_000  # a loop blocked this long is the SUT's doing, not jitter
TICK_S = 0.01
STALL_ADVICE = (
    "Something blocked the loop thread, most likely a synchronous call in the SUT: run "
    "blocking work in a thread (asyncio.to_thread) or a process."
)


class QueryWaitExpired(Exception):  # noqa: N818 - an event, not a program error
    """A closed loop waited the whole drain deadline on query ``query``."""

    def __init__(self, query: int) -> None:
        super().__init__(f"query {query} did not complete within the drain deadline")
        self.query = query


@attrs.frozen(kw_only=True)
class LoopStalls:
    """Event-loop stalls seen while queries were paced and drained."""

    count: int
    total_ns: int
    max_ns: int
    threshold_ns: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "count": self.count,
            "total_ns": self.total_ns,
            "max_ns": self.max_ns,
            "threshold_ns": self.threshold_ns,
        }

    def warning(self, advice: str | None = None) -> str:
        """The detail-log warning that says the loop stalled; ``advice`` says what blocks it
        and what to do about it (default: advice for an asyncio SUT)."""
        return (
            f"The event loop stalled {self.count} times for {self.total_ns / 1e6:.1f} ms in "
            f"all (longest {self.max_ns / 1e6:.1f} ms). Latencies and issue lag include it. "
            + (advice or STALL_ADVICE)
        )


class Watchdog:
    """Measures loop lag while ``active``; expires closed-loop waits on ``series``."""

    def __init__(self, *, threshold_ns: int = STALL_THRESHOLD_NS, tick_s: float = TICK_S) -> None:
        self.threshold_ns, self.tick_s = threshold_ns, tick_s
        self.active = False
        self.series: Series | None = None
        self.wait_limit_ns: int | None = None  # None: closed-loop waits are not bounded
        self.call_limit_ns: int | None = None  # None: SUT calls are not bounded
        self.count = self.total_ns = self.max_ns = 0
        self._waiting: tuple[int, int] | None = None  # (query, since) of the watched wait
        self._calls: anyio.CancelScope | None = None  # the SUT calls being bounded
        self._progress: tuple[tuple[int, int], int] | None = None  # (counters, since)

    def stalls(self) -> LoopStalls:
        return LoopStalls(
            count=self.count,
            total_ns=self.total_ns,
            max_ns=self.max_ns,
            threshold_ns=self.threshold_ns,
        )

    async def run(self) -> None:
        tick_ns = int(self.tick_s * 1e9)
        while True:
            before = time.perf_counter_ns()
            await anyio.sleep(self.tick_s)
            now = time.perf_counter_ns()
            lag = now - before - tick_ns
            if self.active and lag > self.threshold_ns:
                self.count += 1
                self.total_ns += lag
                self.max_ns = max(self.max_ns, lag)
            self._check_wait(now)
            self._check_calls(now)

    @contextlib.contextmanager
    def bounding_calls(self) -> Iterator[anyio.CancelScope]:
        """A scope for the SUT calls of the watched series, cancelled if they stop making
        progress for ``call_limit_ns`` (see the module's docstring)."""
        with anyio.CancelScope() as scope:
            self._calls, self._progress = scope, None
            try:
                yield scope
            finally:
                self._calls = self._progress = None

    def _check_calls(self, now: int) -> None:
        series, scope, limit = self.series, self._calls, self.call_limit_ns
        if series is None or scope is None or limit is None or not self.active:
            return
        counters = (series.queries_issued, series.samples_completed)
        if (
            self._progress is None
            or self._progress[0] != counters
            or series.awaited_query is not None  # a closed loop's wait: bounded above
            or series.next_arrival_pending()  # Server, ahead of schedule: sleeping
        ):
            self._progress = (counters, now)
        elif now - self._progress[1] >= limit:
            scope.cancel()

    def _check_wait(self, now: int) -> None:
        series, limit = self.series, self.wait_limit_ns
        query = None if series is None else series.awaited_query
        if series is None or query is None or limit is None or not self.active:
            self._waiting = None
            return
        if self._waiting is None or self._waiting[0] != query:
            self._waiting = (query, now)
        elif now - self._waiting[1] >= limit:
            series.fail_wait(QueryWaitExpired(query))
            self._waiting = None
