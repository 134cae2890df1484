"""Server with dependent queries: a concurrency limit, closed-loop users, multi-turn sessions.

Arrivals come from two places. The plan, made before the first issue, holds when each session
starts (the arrival process) and which sample it uses. Completions add the rest, at run time:
a conversation's next turn is due when the answer to the previous one arrives plus the think
time; a closed-loop user's next request when its previous one ends. A *session* is one
conversation (a single query without ``multi_turn``); a closed loop runs one session per user
at a time.

Due arrivals are issued in the order they fell due. With a concurrency limit, an arrival that
finds the limit reached waits, in that order, for a completion to free a slot; its latency still
counts from when it was due, and the wait — due time to the completion that freed its slot —
is recorded apart (``SessionSeries.queue_wait_ns``), so asyncgen's own issue lag stays the time
it took to send the query once it was free to go.

Queries are numbered in issue order; each one's scheduled time and sample are written into
the series just before it goes (``SessionSeries.assign``). The shaper waits on the clock for
the next due arrival, and, while a completion can bring an earlier one or free a slot, also on
the completion itself.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from typing import Any

import attrs

from asyncgen._engine.sessions import FIRST_SLOTS, SessionSeries
from asyncgen._engine.shapers.common import (
    TURN_EVERY_NS,
    IssueOutcome,
    ShaperContext,
    closed_or_offline_stop,
)
from asyncgen._engine.shapers.server import server_should_stop

YIELD_EVERY = 16  # queries issued back to back between loop turns
_NEVER = 1 << 62


@attrs.define(eq=False)
class _Session:
    """One conversation in progress (or one single query)."""

    index: int  # its sample
    turns: int
    turn: int = 0  # the turn sent last (or next, before the first)
    answers: list[bytes] = attrs.field(factory=list)


@attrs.define(eq=False)
class _Arrival:
    """A query that is due (or will be): a new session's first turn, or a session's next."""

    due: int
    session: _Session | None  # None: a new session, whose sample is chosen when it goes


async def run_sessions(ctx: ShaperContext) -> IssueOutcome:
    """Pace a Server series whose queries depend on completions (``ctx.sessions``)."""
    return await _SessionPacer(ctx).run()


class _SessionPacer:
    def __init__(self, ctx: ShaperContext) -> None:
        assert ctx.sessions is not None and isinstance(ctx.series, SessionSeries)
        self.ctx, self.spec, self.series, self.clock = ctx, ctx.sessions, ctx.series, ctx.clock
        self.limit = self.spec.max_in_flight or self.spec.users
        self.closed = self.spec.users > 0
        starts = self.spec.starts
        self.starts = starts.scheduled_offsets_ns if starts is not None else None
        self.planned = 0 if starts is None else starts.query_count  # sessions the plan starts
        self.next_start = 0  # the plan's next session start
        self.sessions_started = 0
        self.later: list[tuple[int, int, _Arrival]] = []  # heap: (due, tie-break, arrival)
        self.tie = 0
        self.ready: deque[_Arrival] = deque()  # due, in order, the head waiting for a slot
        self.blocked = 0  # how many at the head of ``ready`` found the limit reached
        self.freed: deque[int] = deque()  # completions that freed a slot for a blocked one
        self.in_progress: dict[int, _Session] = {}  # query -> its session, while it may go on
        self.wake: asyncio.Future[None] | None = None
        self.samples_left = True  # closed loop: False once an accuracy run has sent every sample
        self.oldest = 0  # no query before this one is in flight

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> IssueOutcome:
        series = self.series
        start = series.start_ns = self.clock.now_ns()
        series.on_done = self._done
        try:
            for _ in range(self.spec.users):
                self._push(_Arrival(start, None))
            in_a_row, turned = 0, start
            while True:
                now = self.clock.now_ns()
                self._collect(now)
                if self.ready and (not self.limit or self._in_flight() < self.limit):
                    if in_a_row >= YIELD_EVERY or now - turned >= TURN_EVERY_NS:
                        await asyncio.sleep(0)  # completions, the SUT's tasks, signals run
                        in_a_row, turned = 0, now
                        continue
                    in_a_row += 1
                    if await self._issue(self.ready.popleft()):
                        return IssueOutcome(ran_out=False)
                    continue
                self.blocked = len(self.ready)  # each waits for a completion to free a slot
                if not self.ready:
                    self.freed.clear()
                if self._finished():
                    return IssueOutcome(ran_out=False)
                await self._wait()
                in_a_row, turned = 0, self.clock.now_ns()
        finally:
            series.on_done = None

    def _in_flight(self) -> int:
        return self.series.queries_issued - self.series.queries_completed

    def _finished(self) -> bool:
        """Nothing due, nothing planned, and nothing in flight that could lead to more."""
        return (
            not self.ready
            and not self.later
            and self.next_start >= self.planned
            and not self.in_progress
        )

    def _next_planned(self) -> int:
        if self.next_start >= self.planned:
            return _NEVER
        assert self.starts is not None
        return self.series.start_ns + int(self.starts[self.next_start])

    def _collect(self, now: int) -> None:
        """Move every arrival due by ``now`` into ``ready``, in due order."""
        later = self.later
        while True:
            planned = self._next_planned()
            follow = later[0][0] if later else _NEVER
            if min(planned, follow) > now:
                return
            if planned <= follow:
                self.ready.append(_Arrival(planned, None))
                self.next_start += 1
            else:
                self.ready.append(heapq.heappop(later)[2])

    def _push(self, arrival: _Arrival) -> None:
        self.tie += 1
        heapq.heappush(self.later, (arrival.due, self.tie, arrival))

    async def _wait(self) -> None:
        """Until the next arrival is due, or a completion frees a slot or brings one sooner."""
        due = None  # with arrivals waiting for a slot, only a completion changes anything
        if not self.ready:
            due = min(self._next_planned(), self.later[0][0] if self.later else _NEVER)
            if due <= self.clock.now_ns():
                return
            self.series.next_due_ns = due  # sleeping on the schedule, not stuck (the watchdog)
            if not self.in_progress:  # no completion can bring anything sooner
                await self.clock.sleep_until(due)
                return
        wake = self.wake = asyncio.get_running_loop().create_future()
        try:
            if due is None or due == _NEVER:  # only a completion: watched like a closed loop
                await self.series.wait_for_any(wake, self._oldest_in_flight())
            else:
                await _first_of(self.clock.sleep_until(due), wake)
        finally:
            self.wake = None

    def _oldest_in_flight(self) -> int:
        """The oldest query not done yet (what a wait on completions is named after)."""
        series = self.series
        while self.oldest < series.queries_issued - 1 and series.query_done(self.oldest):
            self.oldest += 1
        return self.oldest

    # -- issuing -----------------------------------------------------------------------------

    async def _issue(self, arrival: _Arrival) -> bool:
        """Send one query; True when a stop rule ends the series."""
        session = arrival.session
        if session is None:
            session = self._new_session()
            if session is None:
                return False  # an accuracy closed loop has sent every sample
        series = self.series
        q = series.queries_issued
        if q >= series.plan.query_count:
            self._grow()
        waited = 0
        if self.blocked:  # it found the limit reached: it waited until a completion freed a slot
            self.blocked -= 1
            freed = self.freed.popleft() if self.freed else self.clock.now_ns()
            waited = max(0, freed - arrival.due)
        series.assign(q, arrival.due, session.index, turn=session.turn, waited=waited)
        if session.turn + 1 < session.turns or self.closed:
            self.in_progress[q] = session
        if self.spec.multi_turn:
            answers = tuple(session.answers)
            samples = series.start_turn(q, session.index, arrival.due, session.turn, answers)
        else:
            samples = series.start_query(q, session.index, arrival.due)
        try:
            await self.ctx.sut.issue_query(samples)
        except BaseException:  # whatever it is, this call may not have reached the SUT
            series.note_failed_call(q, q)
            raise
        return self._should_stop()

    def _new_session(self) -> _Session | None:
        spec = self.spec
        if spec.starts is not None:
            index = int(spec.starts.sample_indices[self.sessions_started])
        else:
            assert spec.next_sample is not None
            next_index = spec.next_sample()
            if next_index is None:
                self.samples_left = False
                return None
            index = next_index
        self.sessions_started += 1
        turns = 1 if spec.turns is None else max(1, spec.turns(index))
        return _Session(index=index, turns=turns)

    def _grow(self) -> None:
        more = self.spec.more_slots
        if more is None:
            raise RuntimeError("a session series ran out of query slots")  # planned exactly
        self.series.grow(more(max(FIRST_SLOTS, self.series.plan.query_count)))

    def _should_stop(self) -> bool:
        ctx = self.ctx
        if ctx.accuracy:
            return False
        now = self.series.issued_at(self.series.queries_issued - 1)
        if self.closed:
            return closed_or_offline_stop(ctx, now)
        return server_should_stop(ctx, now)

    # -- completions (loop thread, inside the SUT's complete call: must not raise) -----------

    def _done(self, q: int, now: int, answer: bytes | None) -> None:
        if len(self.freed) < self.blocked:
            self.freed.append(now)  # the slot it frees goes to the next blocked arrival
        session = self.in_progress.pop(q, None)
        if session is not None:
            if answer is not None and session.turn + 1 < session.turns:
                session.answers.append(answer)
                session.turn += 1
                self._push(_Arrival(now + self.spec.think_ns, session))
            elif self.closed and self.samples_left:  # the user starts a new session
                self._push(_Arrival(now, None))
        wake = self.wake
        if wake is not None and not wake.done():
            wake.set_result(None)


async def _first_of(sleep: Any, wake: asyncio.Future[None]) -> None:
    """Await the ``sleep`` coroutine or ``wake``, whichever ends first; cancel the other."""
    sleeper = asyncio.ensure_future(sleep)
    try:
        await asyncio.wait((sleeper, wake), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not sleeper.done():
            sleeper.cancel()
            await asyncio.wait((sleeper,))  # let it clean up (a kernel timer's reader)
