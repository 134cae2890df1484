"""What pacing dependent Server queries needs: multi-turn sessions, closed-loop users and a
concurrency limit (asyncgen's workload options; the shaper is ``shapers.sessions``).

``SessionSpec`` says how a series' queries depend on each other. ``SessionSeries`` is a
``Series`` that also

* tells the shaper when each query is done (``on_done``), so it can schedule what follows;
* has each query's scheduled offset and sample written just before it is issued (``assign``):
  queries made at run time — later turns, a user's next request — are numbered in issue order;
* keeps, under a concurrency limit, how long each query waited for a slot (``queue_wait_ns``).
  The wait is part of the query's latency (it was scheduled before it) but not of asyncgen's
  own issue lag, so ``issue_lags`` and ``released_at`` leave it out;
* keeps each query's turn number (multi-turn), for statistics by turn;
* grows when a closed loop needs more queries than it has slots (``grow``).

The plain ``Series`` does none of this, so a run without these options pays nothing for it.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._engine.sample import QuerySample, TurnSample
from asyncgen._engine.series import UNSET, Series, response_bytes
from asyncgen._engine.sink import ResponseData
from asyncgen._plan.queries import QueryPlan
from asyncgen._plan.sessions import joined

FIRST_SLOTS = 4096  # a closed loop's query slots at first; doubled whenever they run out

# Called on the loop thread when query ``q`` is done: (q, completion time, the response bytes
# when answers are kept, b"" when not, None when the query failed).
DoneHook = Callable[[int, int, bytes | None], None]


@attrs.frozen(kw_only=True)
class SessionSpec:
    """How the queries of a Server series depend on each other."""

    max_in_flight: int = 0  # a concurrency limit; 0: none
    users: int = 0  # a closed loop of this many users; 0: sessions start by ``starts``
    starts: QueryPlan | None = None  # open loop: each session's start offset and sample
    next_sample: Callable[[], int | None] | None = None  # closed loop: a new session's sample
    turns: Callable[[int], int] | None = None  # multi-turn: a conversation's user turns
    think_ns: int = 0  # multi-turn: from an answer to the next turn
    more_slots: Callable[[int], QueryPlan] | None = None  # closed loop: n more query slots

    @property
    def multi_turn(self) -> bool:
        return self.turns is not None


class SessionSeries(Series):
    """A ``Series`` whose queries are paced by completions (see the module docstring)."""

    def __init__(
        self,
        plan: QueryPlan,
        *,
        queue_waits: bool = False,
        turns: bool = False,
        keep_answers: bool = False,
        **series: Any,
    ) -> None:
        super().__init__(plan, **series)
        n = plan.query_count
        self.on_done: DoneHook | None = None
        self.next_due_ns = 0  # the arrival the shaper sleeps until (0: it is not sleeping)
        self.keep_answers = keep_answers
        self.queue_wait_ns: array[int] | None = array("q", [0]) * n if queue_waits else None
        self.turn: array[int] | None = array("i", [0]) * n if turns else None

    def next_arrival_pending(self) -> bool:
        """Whether the shaper sleeps until an arrival still to come (queries are assigned their
        times as they go, so the plan cannot say)."""
        return self.next_due_ns > self.now_ns()

    # -- completion: the shaper hears of every query done ------------------------------------

    def record_completion(self, s: int, now: int, data: ResponseData, n_tokens: int | None) -> None:
        done = self.queries_completed
        super().record_completion(s, now, data, n_tokens)
        # a completion with data that cannot be recorded failed the sample: _record_failure
        # has told the shaper already
        if self.queries_completed != done and self.on_done is not None and s not in self.failures:
            answer = response_bytes(data) if self.keep_answers else b""
            self.on_done(s, now, answer)

    def _record_failure(self, s: int, now: int, reason: str) -> None:
        done = self.queries_completed
        super()._record_failure(s, now, reason)
        if self.queries_completed != done and self.on_done is not None:
            self.on_done(s, now, None)

    # -- issuing queries made at run time -----------------------------------------------------

    def assign(
        self, q: int, scheduled_ns: int, index: int, *, turn: int = 0, waited: int = 0
    ) -> None:
        """Write query ``q``'s scheduled time, sample, turn and slot wait before it is issued."""
        self.plan.scheduled_offsets_ns[q] = scheduled_ns - self.start_ns
        self.plan.sample_indices[q] = index
        if self.turn is not None:
            self.turn[q] = turn
        if self.queue_wait_ns is not None:
            self.queue_wait_ns[q] = waited

    def start_turn(
        self, q: int, index: int, scheduled_ns: int, turn: int, answers: tuple[bytes, ...]
    ) -> list[QuerySample]:
        """``start_query`` for a turn of a conversation: its sample is a ``TurnSample``."""
        samples: list[QuerySample] = [
            TurnSample(self, q, self._base_id + q, index, turn=turn, answers=answers)
        ]
        self.queries_issued += 1
        self.samples_issued += 1
        self._stamp(q, self.now_ns(), scheduled_ns)
        return samples

    def grow(self, more: QueryPlan) -> None:
        """Append the query slots of ``more`` (ids continuing this series')."""
        n = more.query_count
        self.plan = joined(self.plan, more)
        self._issue.extend(array(self._issue.typecode, [0]) * n)
        self.completed_ns.extend(array("q", [UNSET]) * n)  # also done_ns: one sample a query
        if self.use_tokens:
            self.first_token_ns.extend(array("q", [UNSET]) * n)
            self.n_tokens.extend(array("q", [0]) * n)
        for column in (self.queue_wait_ns, self.turn):
            if column is not None:
                column.extend(array(column.typecode, [0]) * n)
        mask = self.plan.accuracy_log_mask
        if not self._log_all and mask.any():
            self._log_mask = np.asarray(mask, dtype=np.uint8).tobytes()

    async def wait_for_any(self, wake: asyncio.Future[None], watched: int) -> None:
        """Await ``wake`` (the shaper's: any completion resolves it) as a closed loop awaits a
        query: the run's watchdog ends a wait on ``watched`` that lasts the drain deadline by
        raising ``QueryWaitExpired`` here, so a query that never completes cannot hang a
        shaper with nothing else to do."""
        self._query_waiter = (watched, wake)
        try:
            await wake
        finally:
            self._query_waiter = None

    # -- the generator's own lag, without the slot waits --------------------------------------

    def issue_lags(self, first: int, last: int) -> npt.NDArray[np.signedinteger[Any]]:
        lags = super().issue_lags(first, last)
        if self.queue_wait_ns is None:
            return lags
        waits = np.frombuffer(self.queue_wait_ns, dtype=np.int64)[first:last]
        own: npt.NDArray[np.signedinteger[Any]] = lags - waits
        return own

    def released_at(self, q: int) -> int:
        """When query ``q`` was free to go: scheduled, plus any wait for a slot."""
        waited = 0 if self.queue_wait_ns is None else self.queue_wait_ns[q]
        return self.scheduled_at(q) + waited

    def queue_waits(self) -> npt.NDArray[np.int64]:
        """Every issued query's wait for a slot (a fresh array; empty without a limit)."""
        if self.queue_wait_ns is None:
            return np.zeros(0, dtype=np.int64)
        return np.frombuffer(self.queue_wait_ns, dtype=np.int64)[: self.queries_issued].copy()

    def turns(self) -> npt.NDArray[np.int32]:
        """Every issued query's turn number (a fresh array; empty unless multi-turn)."""
        if self.turn is None:
            return np.zeros(0, dtype=np.int32)
        return np.frombuffer(self.turn, dtype=np.int32)[: self.queries_issued].copy()
