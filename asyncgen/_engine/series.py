"""One issue series: its queries, its samples, and every timestamp they collect.

A series is what the reference calls one ``IssueQueries`` call: one performance run, one
loadable set in accuracy mode, or one FindPeakPerformance probe. Per-sample state lives in flat
``array('q')`` columns indexed by the sample's number in the series (8 bytes per value, no
Python object per sample), so completing a sample costs a few array stores: no task, dict,
log call or allocation beyond the ``QuerySample`` handed to the SUT. With one sample per query
the per-query completion column is the per-sample one.

Completions may arrive from any thread. On the loop thread they are recorded at once. From
another thread the timestamp is taken there; the first such completion is handed to the loop
(``call_soon_threadsafe``), which from then on records every completion under the series'
lock, and later ones from other threads are recorded right there, under the same lock: the
loop is woken only when it waits for that sample (a closed loop's query, the drain). A
LoadGen harness that completes on a worker thread (``asyncgen.compat``) then costs the loop
no wake-up, record or task switch per query when the completion comes before the closed
loop waits for it. Token-latency series and failures always go through the loop.

A query's scheduled time is not stored: it follows from the series' ``Schedule`` (the
plan's offset from the start, the start itself, or the issue time). Its issue time is stored
as the issue lag (issued minus scheduled) in four bytes while every lag fits, about 2.1 s;
a longer one widens the column to eight. A closed loop schedules each query when it issues
it, so there the column holds the issue times themselves.

The writer reads two growing columns: ``completion_order`` (every completed sample, for the
trace, which ``asyncgen._output.trace`` formats from these columns once the series has ended)
and ``logged`` (the samples whose response bytes wait for the accuracy log; the writer takes
them with ``take_logged_response`` while the run goes on).

A series is a ``CompletionSink``: its samples report to it, and the registry of response ids
(``asyncgen._engine.ids``) holds it weakly. It reports errors to an ``EventLog``.
"""

from __future__ import annotations

import asyncio
import enum
import operator
import threading
from array import array
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from asyncgen._engine.clock import Clock
from asyncgen._engine.events import EventLog
from asyncgen._engine.ids import register
from asyncgen._engine.sample import QuerySample
from asyncgen._engine.sink import ResponseData
from asyncgen._engine.tally import RunTally
from asyncgen._plan.queries import QueryPlan

UNSET = -1
_INT32_MAX = 2**31 - 1
MAX_TOKENS = 2**32  # a token count above this is a bug in the SUT (or its server), not a reply

_get_ident = threading.get_ident


class Schedule(enum.Enum):
    """When a series' queries are scheduled, so that no per-query column has to say it."""

    PLAN = "plan"  # at the start plus the plan's offset (Server: Poisson arrivals)
    START = "start"  # all at the start of the series (Offline)
    ISSUE = "issue"  # when issued (the closed loops, as the reference stamps them)


class Series:
    """Timestamps and completion bookkeeping for the queries of one plan."""

    def __init__(
        self,
        plan: QueryPlan,
        *,
        clock: Clock,
        events: EventLog,
        log_all_responses: bool,
        log_mask: np.ndarray,
        use_tokens: bool,
        needs_first_token: bool,
        server: bool = False,
        schedule: Schedule = Schedule.PLAN,
        keep_completion_order: bool = False,
        tally: RunTally | None = None,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.now_ns = clock.now_ns  # bound once: completions read it on every sample
        self.events = events
        self.tally = RunTally() if tally is None else tally
        self.spq = spq = plan.samples_per_query
        n_queries, n_samples = plan.query_count, plan.query_count * plan.samples_per_query
        self.start_ns = 0
        self.schedule = schedule
        self._stamps_lags = schedule is not Schedule.ISSUE
        self._issue = array("i" if self._stamps_lags else "q", [0]) * n_queries
        self.completed_ns = array("q", [UNSET]) * n_samples
        # A query of one sample is done when its sample is: the two columns are one.
        self.done_ns = self.completed_ns if spq == 1 else array("q", [UNSET]) * n_queries
        self._remaining = array("q", [spq]) * n_queries if spq > 1 else None
        self.use_tokens = use_tokens
        self.needs_first_token = needs_first_token
        self.server = server  # Server traces carry latency counter events
        self.first_token_ns = array("q", [UNSET]) * (n_samples if use_tokens else 0)
        self.n_tokens = array("q", [0]) * (n_samples if use_tokens else 0)
        # Sample numbers: 4 bytes each while they fit (a column as long as the series); only
        # the trace reads them, so without one they are not kept.
        self.completion_order = array("i" if n_samples <= _INT32_MAX else "q")
        self.keeps_completion_order = keep_completion_order
        self.logged = array("q")  # samples whose responses wait for the accuracy log
        self.failures: dict[int, str] = {}
        self._log_all = log_all_responses
        self._log_mask: bytes | None = None
        if not log_all_responses and log_mask.any():
            self._log_mask = np.asarray(log_mask, dtype=np.uint8).tobytes()
        self._response_data: dict[int, bytes] = {}
        self._token_data: dict[int, bytes] = {}
        self.queries_issued = 0
        self.samples_issued = 0
        self.queries_completed = 0
        self.samples_completed = 0
        self._closed = False
        # Completions from other threads: see the module docstring. ``_threaded`` is set on
        # the loop thread, after which the loop's own records take ``_lock`` too.
        self._lock = threading.Lock()
        self._threaded = False
        self.failed_call = range(0)  # the samples of the issue_query call that raised, if one did
        # Samples inside the issued range that no record covers: a merged series (scale-out)
        # whose shard was lost, or stopped before it issued them. None: there are none.
        self.unrecorded: npt.NDArray[np.bool_] | None = None
        self._batch = range(0)  # the queries of the last call issued through mark_issued
        self._base_id = register(self)
        self._loop = asyncio.get_running_loop()
        self.loop_thread = _get_ident()
        self._query_waiter: tuple[int, asyncio.Future[None]] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # -- issuing ---------------------------------------------------------------------------

    def samples_for(self, first_query: int, last_query: int) -> list[QuerySample]:
        """The ``QuerySample`` objects of queries ``first_query..last_query`` (inclusive)."""
        spq, base = self.spq, self._base_id
        lo, hi = first_query * spq, (last_query + 1) * spq
        # map() over the class: no per-sample bytecode, which counts at a million samples.
        return list(
            map(
                QuerySample,
                repeat(self, hi - lo),
                range(lo, hi),
                range(base + lo, base + hi),
                self.plan.sample_indices[lo:hi].tolist(),
            )
        )

    def mark_issued(self, first_query: int, last_query: int, now: int) -> None:
        """Stamp queries ``first_query..last_query`` (inclusive) as issued at ``now``."""
        for q in range(first_query, last_query + 1):
            self._stamp(q, now, None)
        self._batch = range(first_query, last_query + 1)
        count = last_query - first_query + 1
        self.queries_issued += count
        self.samples_issued += count * self.spq

    def start_query(self, q: int, index: int, scheduled_ns: int | None = None) -> list[QuerySample]:
        """Issue bookkeeping for a one-sample query ``q`` whose sample has QSL ``index``.

        Reads the clock last, so the issue stamp is as close as it can be to the SUT call
        that follows. ``scheduled_ns``, when the caller has it at hand, saves looking up the
        query's scheduled time (it must be the one the schedule gives).
        """
        samples = [QuerySample(self, q, self._base_id + q, index)]
        self.queries_issued += 1
        self.samples_issued += 1
        self._stamp(q, self.now_ns(), scheduled_ns)
        return samples

    def seq_id(self, s: int) -> int:
        """The sequence id of sample ``s`` (what the logs name it by)."""
        return self.plan.first_sample_id + s

    def note_failed_call(self, first_query: int, last_query: int) -> None:
        """Record that the ``issue_query`` call of queries ``first_query..last_query`` raised:
        its samples may never have reached the SUT, so the drain does not wait for them."""
        self.failed_call = range(first_query * self.spq, (last_query + 1) * self.spq)

    def _stamp(self, q: int, now: int, scheduled_ns: int | None) -> None:
        if not self._stamps_lags:
            self._issue[q] = now
            return
        if scheduled_ns is None:
            scheduled_ns = self._scheduled_of(q)
        try:
            self._issue[q] = now - scheduled_ns
        except OverflowError:  # a lag beyond ~2.1 s: eight bytes per query from now on
            self._issue = array("q", self._issue)
            self._issue[q] = now - scheduled_ns

    # -- issue times -------------------------------------------------------------------------

    def issued_at(self, q: int) -> int:
        """When query ``q`` was issued."""
        if not self._stamps_lags:
            return self._issue[q]
        return self._scheduled_of(q) + self._issue[q]

    def issued(self, queries: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """When the queries numbered in ``queries`` were issued (a fresh array)."""
        stamps = self._issue_column()[queries].astype(np.int64)
        if self._stamps_lags:
            stamps += self.scheduled(queries)
        return stamps

    def issue_lags(self, first: int, last: int) -> npt.NDArray[np.signedinteger[Any]]:
        """Issued minus scheduled for queries ``first..last - 1`` (a fresh array, four bytes a
        value while the column has them)."""
        if not self._stamps_lags:
            return np.zeros(max(0, last - first), dtype=np.int32)  # scheduled when issued
        return self._issue_column()[first:last].copy()

    def _issue_column(self) -> npt.NDArray[np.signedinteger[Any]]:
        column: npt.NDArray[np.signedinteger[Any]] = np.frombuffer(
            self._issue, dtype=np.int32 if self._issue.typecode == "i" else np.int64
        )
        return column

    def _scheduled_of(self, q: int) -> int:
        if self.schedule is Schedule.PLAN:
            return self.start_ns + int(self.plan.scheduled_offsets_ns[q])
        return self.start_ns  # Schedule.START

    # -- the schedule ------------------------------------------------------------------------

    def schedule_parts(self, count: int) -> tuple[npt.NDArray[np.int64] | None, int]:
        """Scheduled times of the first ``count`` queries as a zero-copy per-query column
        (None: none needed) plus a constant, so callers can subtract them in place."""
        if self.schedule is Schedule.PLAN:
            return self.plan.scheduled_offsets_ns[:count], self.start_ns
        if self.schedule is Schedule.ISSUE:
            return np.frombuffer(self._issue, dtype=np.int64)[:count], 0
        return None, self.start_ns

    def scheduled(self, queries: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Scheduled times of the issued queries numbered in ``queries`` (a fresh array)."""
        column, constant = self.schedule_parts(self.queries_issued)
        if column is None:
            return np.full(queries.shape, constant, dtype=np.int64)
        times: npt.NDArray[np.int64] = column[queries] + constant
        return times

    def next_arrival_pending(self) -> bool:
        """Whether the next query to issue is scheduled in the future (Server plans only):
        a shaper ahead of its schedule is sleeping, not stuck."""
        q = self.queries_issued
        if self.schedule is not Schedule.PLAN or q >= self.plan.query_count:
            return False
        return self._scheduled_of(q) > self.now_ns()

    def last_call(self) -> range:
        """The queries of the most recent ``issue_query`` call."""
        batch = self._batch
        if batch.stop == self.queries_issued:
            return batch
        return range(self.queries_issued - 1, self.queries_issued)  # a one-sample query

    def scheduled_at(self, q: int) -> int:
        """The scheduled time of issued query ``q``."""
        if not self._stamps_lags:
            return self._issue[q]
        return self._scheduled_of(q)

    def released_at(self, q: int) -> int:
        """When issued query ``q`` was free to go: its scheduled time (a concurrency limit can
        hold it longer, see ``asyncgen._engine.sessions``)."""
        return self.scheduled_at(q)

    # -- completion (any thread) -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the series has ended: later completions are late, not recorded."""
        return self._closed

    @closed.setter
    def closed(self, value: bool) -> None:
        with self._lock:  # not while another thread records a completion
            self._closed = value

    def complete(
        self, s: int, data: ResponseData, n_tokens: int | None, now: int | None = None
    ) -> None:
        """Record sample ``s`` complete at ``now`` (default: the clock's time), any thread."""
        if now is None:
            now = self.now_ns()
        if _get_ident() == self.loop_thread:
            self.record_completion(s, now, data, n_tokens)
            return
        try:  # the bytes are copied here: the caller may reuse its buffer once this returns
            owned = response_bytes(data)
        except Exception as exc:  # data no completion can be recorded with: fails the sample
            self._from_thread(self._record_failure, s, now, _invalid_data(exc))
            return
        if self._threaded and not self.use_tokens:
            self._record_here(s, now, owned)
        else:
            self._from_thread(self._record_from_thread, s, now, owned, n_tokens)

    def _record_from_thread(
        self, s: int, now: int, data: ResponseData, n_tokens: int | None
    ) -> None:
        """On the loop: a completion handed over from another thread. From now on the loop
        records under the lock, so that other threads may record by themselves."""
        if not self._threaded:
            self._threaded = True
            self.record_completion = self._locked(self.record_completion)  # type: ignore[method-assign]
            self._record_failure = self._locked(self._record_failure)  # type: ignore[method-assign]
        self.record_completion(s, now, data, n_tokens)

    def _locked(self, record: Callable[..., None]) -> Callable[..., None]:
        lock = self._lock

        def locked(*args: Any) -> None:
            with lock:
                record(*args)

        return locked

    def _record_here(self, s: int, now: int, data: bytes) -> None:
        """Record a plain completion on this thread, not the loop's, and wake the loop only
        if it waits for this sample. One that cannot be recorded goes to the loop, which
        reports it."""
        with self._lock:
            recordable = 0 <= s < self.samples_issued and self.completed_ns[s] == UNSET
            if recordable and not self._closed:
                self.completed_ns[s] = now
                if self._log_all or (self._log_mask is not None and self._log_mask[s]):
                    self._response_data[s] = data
                    self.logged.append(s)
                waiters = self._waiters_done(self._count_completion(s, now))
            else:
                waiters = None
        if waiters is None:
            self._from_thread(self.record_completion, s, now, data, None)
        for waiter in waiters or ():
            self._from_thread(_resolve, waiter)

    def first_token(self, s: int, data: ResponseData, now: int | None = None) -> None:
        """Record sample ``s``'s first token at ``now`` (default: the clock's time), any thread."""
        if now is None:
            now = self.now_ns()
        if _get_ident() == self.loop_thread:
            self._record_first_token(s, now, data)
            return
        try:
            owned = response_bytes(data)
        except Exception as exc:
            self._from_thread(self._record_failure, s, now, _invalid_data(exc))
        else:
            self._from_thread(self._record_first_token, s, now, owned)

    def fail(self, s: int, reason: str, now: int | None = None) -> None:
        """Count sample ``s`` as answered but failed: it leaves the latency statistics."""
        if now is None:
            now = self.now_ns()
        if _get_ident() == self.loop_thread:
            self._record_failure(s, now, reason)
        else:
            self._from_thread(self._record_failure, s, now, reason)

    def _from_thread(self, record: object, *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(record, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the loop has closed: the run is long over
            self.tally.late_completions += 1
            # the writer is closed too: this goes to the framework log, not nowhere
            self.events.error("error_runtime", "Completion after the end of the run.")

    def record_completion(self, s: int, now: int, data: ResponseData, n_tokens: int | None) -> None:
        """Record a completion on the loop thread (the per-sample hot path: kept flat).

        Whole or not at all: the data and the token count are checked before anything is
        stored, so a bad completion fails its sample instead of leaving it half-recorded.
        """
        completed = self.completed_ns
        if not 0 <= s < self.samples_issued or completed[s] != UNSET or self._closed:
            self._reject(s)
            return
        if data.__class__ is not bytes and data is not None:  # bytes, the usual case: as is
            try:
                data = _checked(data)
            except Exception as exc:
                self._record_failure(s, now, _invalid_data(exc))
                return
        if self.use_tokens:
            self._record_tokens(s, now, n_tokens)  # checks the count before it stores it
        completed[s] = now
        if self._log_all or (self._log_mask is not None and self._log_mask[s]):
            self._response_data[s] = response_bytes(data)
            self.logged.append(s)
        if self._remaining is None:  # one sample per query: inline what _finish does
            if self.keeps_completion_order:
                self.completion_order.append(s)
            self.samples_completed += 1
            self.queries_completed += 1
            waiter = self._query_waiter
            if waiter is not None and waiter[0] == s:
                _resolve(waiter[1])
            if self._drain_waiter is not None and self.samples_completed == self.samples_issued:
                _resolve(self._drain_waiter)
        else:
            self._finish(s, now)

    def _record_failure(self, s: int, now: int, reason: str) -> None:
        if not 0 <= s < self.samples_issued or self.completed_ns[s] != UNSET or self._closed:
            self._reject(s)
            return
        self.failures[s] = reason
        self.tally.count_failure(reason)
        self.events.error(
            "error_runtime",
            f"Sample failed. seq_id: {self.seq_id(s)} reason: {reason}",
        )
        self.completed_ns[s] = now
        self._finish(s, now)

    def _reject(self, s: int) -> None:
        """A completion that cannot be recorded: say why in the detail log."""
        if not 0 <= s < self.samples_issued:
            self.events.error(
                "error_runtime", f"Completion for a sample that was never issued. sample: {s}"
            )
        elif self.completed_ns[s] != UNSET:
            self.events.error("error_runtime", "Attempted to complete a sample twice.")
        else:
            self.tally.late_completions += 1
            self.events.error(
                "error_runtime", f"Completion after the end of its series. sample: {s}"
            )

    def _finish(self, s: int, now: int) -> None:
        for waiter in self._waiters_done(self._count_completion(s, now)):
            _resolve(waiter)

    def _count_completion(self, s: int, now: int) -> int | None:
        """The bookkeeping of completed sample ``s``: the query it completed, if it did."""
        if self.keeps_completion_order:
            self.completion_order.append(s)
        self.samples_completed += 1
        remaining = self._remaining
        if remaining is None:
            self.queries_completed += 1
            return s
        q = s // self.spq
        remaining[q] -= 1
        if remaining[q]:
            return None
        self.done_ns[q] = now
        self.queries_completed += 1
        return q

    def _waiters_done(self, q: int | None) -> list[asyncio.Future[None]]:
        """The waits that end now that query ``q`` (None: no query) has completed."""
        done = []
        waiter = self._query_waiter
        if q is not None and waiter is not None and waiter[0] == q:
            done.append(waiter[1])
        if self._drain_waiter is not None and self.samples_completed == self.samples_issued:
            done.append(self._drain_waiter)
        return done

    def _record_tokens(self, s: int, now: int, n_tokens: int | None) -> None:
        """Store sample ``s``'s first token (if it never came) and token count; a count that
        cannot be used is an error entry and stored as 0, as the reference does. Nothing in
        here can raise: the count is checked before anything is stored."""
        n, problem = _token_count(n_tokens)
        if self.needs_first_token and self.first_token_ns[s] == UNSET:
            self.events.error(
                "error_runtime",
                "Attempted to record a sample latency before it's first token latency",
            )
            # asyncgen counts the first token as arriving with the completion (the reference
            # computes with an uninitialised value here).
            self.first_token_ns[s] = now
        if problem is _OUT_OF_RANGE:
            problem = (
                f"n_tokens of sample seq_id {self.plan.first_sample_id + s} must be an integer "
                f"from 2 to {MAX_TOKENS}; got {_short_repr(n_tokens)}"
            )
        if problem is not None:
            self.events.error("error_runtime", problem)
        self.n_tokens[s] = n

    def _record_first_token(self, s: int, now: int, data: ResponseData) -> None:
        if not 0 <= s < self.samples_issued:
            self.events.error(
                "error_runtime", f"First token for a sample that was never issued. sample: {s}"
            )
            return
        if self.completed_ns[s] != UNSET:
            self.events.error(
                "error_runtime", "Attempted to record token latency after sample was completed"
            )
            return
        if not self.use_tokens:
            return
        if self.first_token_ns[s] != UNSET:
            self.events.error("error_runtime", "Attempted to complete a sample twice.")
            return
        try:
            token = response_bytes(data) if self.logs_response(s) else _checked(data)
        except Exception as exc:  # checked before anything is stored, as a completion is
            self._record_failure(s, now, _invalid_data(exc))
            return
        self.first_token_ns[s] = now
        if self.logs_response(s):
            self._token_data[s] = token  # type: ignore[assignment]

    def logs_response(self, s: int) -> bool:
        """Whether sample ``s``'s response goes to the accuracy log (any thread may ask;
        False for a sample that was never issued)."""
        if not 0 <= s < self.samples_issued:
            return False
        return self._log_all or (self._log_mask is not None and bool(self._log_mask[s]))

    def take_logged_response(self, s: int) -> tuple[bytes, bytes] | None:
        """The response and first-token bytes kept for the accuracy log of logged sample
        ``s``, handed over once (None if they were taken already)."""
        data = self._response_data.pop(s, None)
        if data is None:
            return None
        return data, self._token_data.pop(s, b"")

    # -- waiting (loop thread) -------------------------------------------------------------

    def query_done(self, q: int) -> bool:
        """Whether every sample of query ``q`` has completed."""
        return self.done_ns[q] != UNSET

    @property
    def awaited_query(self) -> int | None:
        """The query a closed loop is waiting on (``wait_query``), if any."""
        waiter = self._query_waiter
        return None if waiter is None else waiter[0]

    def fail_wait(self, error: BaseException) -> None:
        """End the closed loop's wait on ``awaited_query`` by raising ``error`` in it (the
        run's watchdog does, once the wait has lasted the drain deadline)."""
        waiter = self._query_waiter
        if waiter is not None and not waiter[1].done():
            waiter[1].set_exception(error)

    async def wait_query(self, q: int) -> None:
        """Wait until every sample of query ``q`` has completed."""
        if self.done_ns[q] != UNSET:
            return
        future = self._loop.create_future()
        with self._lock:  # another thread may be recording it right now
            if self.done_ns[q] != UNSET:
                return
            self._query_waiter = (q, future)
        try:
            await future
        finally:
            self._query_waiter = None

    async def wait_all(self, timeout_s: float | None = None) -> bool:
        """Wait until every issued sample has completed, or ``timeout_s`` has passed; True
        if they all completed.

        The deadline resolves the wait rather than cancelling it: a cancellation would carry
        this frame, and so the series, in its traceback, which the run's reference cycles
        could keep alive long after the series has ended.
        """
        waiter = self._loop.create_future()
        with self._lock:  # another thread may be recording the last one right now
            if self.samples_completed >= self.samples_issued:
                return True
            self._drain_waiter = waiter
        deadline = None if timeout_s is None else self._loop.call_later(timeout_s, _resolve, waiter)
        try:
            await waiter
        finally:
            self._drain_waiter = None
            if deadline is not None:
                deadline.cancel()
        return self.samples_completed >= self.samples_issued

    def missing_samples(self) -> list[int]:
        """Local numbers of issued samples that never completed."""
        done = np.frombuffer(self.completed_ns, dtype=np.int64)[: self.samples_issued]
        never = done == UNSET
        if self.unrecorded is not None:
            never &= ~self.unrecorded[: self.samples_issued]
        return np.flatnonzero(never).tolist()

    # -- a merged series (scale-out) -------------------------------------------------------

    def set_issue_lags(self, lags: npt.NDArray[np.int64]) -> None:
        """Replace the issue column with ``lags`` (issued minus scheduled) of the first
        ``lags.size`` queries: how a series merged from shards' records gets its stamps."""
        assert self._stamps_lags, "a closed loop's series holds issue times, not lags"
        fits = lags.size == 0 or (
            int(lags.min()) >= -_INT32_MAX - 1 and int(lags.max()) <= _INT32_MAX
        )
        column = np.zeros(self.plan.query_count, dtype=np.int32 if fits else np.int64)
        column[: lags.size] = lags
        self._issue = array("i" if fits else "q")
        self._issue.frombytes(column.data.cast("B"))

    def keep_response(self, s: int, data: bytes, token: bytes) -> None:
        """Hold sample ``s``'s response (and first-token) bytes for the accuracy log, as a
        completion on this series would have: how a merged series gets its shards' data."""
        self._response_data[s] = data
        if token:
            self._token_data[s] = token
        self.logged.append(s)


def _checked(data: object) -> bytes | bytearray | memoryview | None:
    """Response data a sample may be completed with, as it is (no copy), a ``str`` encoded as
    UTF-8; raises for anything else (``bytes(12345)`` would log 12,345 zero bytes)."""
    if data is None or isinstance(data, bytes | bytearray):
        return data
    if isinstance(data, str):
        return data.encode()  # a lone surrogate raises UnicodeEncodeError
    try:
        with memoryview(data):  # type: ignore[arg-type]  # anything with the buffer protocol
            return data  # type: ignore[return-value]
    except TypeError:
        kind = type(data).__name__
        raise TypeError(f"response data must be bytes-like or str, not {kind}") from None


def response_bytes(data: object) -> bytes:
    """The bytes of response data, copied (``_checked``'s rules: a ``str`` is UTF-8)."""
    checked = _checked(data)
    return b"" if checked is None else bytes(checked)


def _invalid_data(exc: Exception) -> str:
    """The failure reason of a sample completed with data it cannot be recorded with."""
    if isinstance(exc, TypeError):
        return f"invalid_completion: {exc}"
    detail = f"{type(exc).__name__}: {exc}"
    return f"invalid_completion: response data cannot be read ({detail[:200]})"


_OUT_OF_RANGE = "n_tokens out of range"  # replaced by a message naming the sample


def _token_count(n_tokens: object) -> tuple[int, str | None]:
    """The count to store and, if it cannot be used as it is, why (the reference's texts)."""
    if n_tokens is None:
        return 0, "n_tokens argument missing or attempted to record 0 as number of tokens"
    try:
        n = operator.index(n_tokens)  # type: ignore[arg-type]  # ints, numpy ints; no floats
    except TypeError:
        return 0, _OUT_OF_RANGE
    if n == 0:
        return 0, "n_tokens argument missing or attempted to record 0 as number of tokens"
    if n < 0:
        return 0, "Attempted to record a negative number of tokens"
    if n == 1:
        return 0, "Number of tokens need to be greater than 1"
    if n > MAX_TOKENS:
        return 0, _OUT_OF_RANGE
    return n, None


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
