"""Server arrivals issued the moment anything on the loop notices they are due.

A SUT that does its own I/O in callbacks — the HTTP adapters parse every streamed token in
``data_received`` — keeps the loop busy in bursts: one turn of the loop runs the callbacks of
every socket that became readable, and only then the tasks that were woken, the shaper among
them. An arrival that falls due during such a burst waits for its end (hundreds of
microseconds at a few thousand streamed requests a second), and the arrivals of a burst leave
together, which is no longer a Poisson process. ``Arrivals`` lets the arrival go out from
inside the burst: its ``check()`` costs one clock read when nothing is due, and issues what is
due when something is. The Server shaper hands it to a SUT that asks for it
(``set_arrival_check``, see ``asyncgen._engine.protocols``) and to the clock's wake-up
(``sleep_until``'s ``on_due``), and issues from its own task too.

Issuing outside the shaper's task means stepping ``issue_query`` eagerly: its coroutine runs
up to its first suspension right there (a SUT that only writes a request never suspends). If it
does suspend, the rest runs in a task of its own, and nothing more is issued until that task
is done, so queries still reach the SUT one call at a time and in order. An exception is kept
and raised by the shaper's task when it next wakes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

from asyncgen._engine.shapers.common import TURN_EVERY_NS, ShaperContext

NEVER = 2**63 - 1  # a due time that never comes: nothing may be issued now
YIELD_EVERY = 16  # queries issued back to back, when behind schedule, between loop turns

Rows = Iterator[tuple[int, int, int]]  # (query, scheduled offset, QSL index)
StopRule = Callable[[int], bool]  # given the issue time of the last query: stop issuing?


class Arrivals:
    """The one-sample queries of a Server series, issued synchronously once due."""

    __slots__ = (
        "_busy",
        "_context",
        "_index",
        "_issue_query",
        "_now",
        "_pending_q",
        "_q",
        "_rows",
        "_start",
        "_start_query",
        "_stop",
        "done",
        "due_ns",
        "failure",
        "next_ns",
        "pending",
        "series",
    )

    def __init__(
        self, ctx: ShaperContext, start_ns: int, rows: Rows, stop: StopRule | None
    ) -> None:
        self.series = ctx.series
        self._issue_query = ctx.sut.issue_query
        self._start_query = ctx.series.start_query
        self._now = ctx.clock.now_ns
        self._context = contextvars.copy_context()  # the shaper's: the SUT runs in it
        self._rows, self._start, self._stop = rows, start_ns, stop
        self._busy = False
        self._q = self._index = self._pending_q = 0
        self.next_ns = NEVER  # the next arrival's scheduled time
        self.due_ns = NEVER  # the same, or NEVER while nothing may be issued
        self.pending: asyncio.Task[None] | None = None  # an issue_query that suspended
        self.failure: BaseException | None = None
        self.done = False
        self._advance()

    def check(self) -> None:
        """Issue what is due, if anything: one clock read when nothing is."""
        if self._now() >= self.due_ns:
            self.issue_due()

    def issue_due(self) -> None:
        """Issue the arrivals already due, up to ``YIELD_EVERY`` of them."""
        if self._busy:  # called again from inside issue_query: the outer call goes on
            return
        self._busy = True
        try:
            started = self._now()
            for _ in range(YIELD_EVERY):
                now = self._now()
                if self.due_ns > now or now - started >= TURN_EVERY_NS:
                    return  # nothing due, or calls that block the loop: the loop gets a turn
                self._issue_next()
        finally:
            self._busy = False

    async def finish_pending(self) -> None:
        """Wait for the suspended ``issue_query`` (``pending``) to return; raise what it raised."""
        task = self.pending
        assert task is not None
        try:
            await task
        except BaseException:  # whatever it is, this call may not have been accepted
            self.series.note_failed_call(self._pending_q, self._pending_q)
            raise
        finally:
            self.pending = None
            if not self.done:
                self.due_ns = self.next_ns

    def raise_failure(self) -> None:
        """Raise the exception an eager ``issue_query`` raised, if one did."""
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure

    def close(self) -> None:
        """Issue nothing more; a suspended ``issue_query`` is cancelled."""
        self.done = True
        self.next_ns = self.due_ns = NEVER
        if self.pending is not None:
            self.pending.cancel()

    def _issue_next(self) -> None:
        q, due = self._q, self.next_ns
        samples = self._start_query(q, self._index, due)
        try:
            self.pending = self._context.run(_step, self._issue_query(samples))
        except BaseException as exc:  # kept for the shaper's task, which raises it
            self.series.note_failed_call(q, q)
            self.failure = exc
            self.close()
            return
        self._advance()
        if self.pending is not None:
            self._pending_q = q
            self.due_ns = NEVER  # the SUT has not accepted this query yet
        if self._stop is not None and self._stop(self.series.issued_at(q)):
            self.done = True
            self.next_ns = self.due_ns = NEVER

    def _advance(self) -> None:
        row = next(self._rows, None)
        if row is None:
            self.done = True
            self.next_ns = self.due_ns = NEVER
            return
        self._q, offset, self._index = row
        self.next_ns = self.due_ns = self._start + offset


def _step(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` to its first suspension; None if it finished, else the task finishing it."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_Rest(coro, yielded))


class _Rest(Coroutine[Any, Any, None]):
    """The rest of a coroutine that ran to its first suspension and yielded ``yielded`` (what
    it awaits): a task driving this picks it up there. A task cancelled before its first step
    throws the cancellation into the coroutine at that point, as if it had been waiting."""

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: object) -> None:
        self._coro = coro
        self._first: tuple[object] | None = (yielded,)

    def send(self, value: Any) -> Any:
        if self._first is not None:  # the task's first step: hand it what the coroutine awaits
            (first,), self._first = self._first, None
            return first
        return self._coro.send(value)

    def throw(self, *exc: Any) -> Any:
        if self._first is not None:  # cancelled before the first step: as a task would,
            (first,), self._first = self._first, None  # cancel what the coroutine awaits
            if isinstance(first, asyncio.Future):
                first.cancel()
        return self._coro.throw(*exc)

    def close(self) -> None:
        self._first = None
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, None]:
        raise TypeError("_Rest is driven by a task, not awaited")
