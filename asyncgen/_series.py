"""One issue series: its queries, its samples, and every timestamp they collect.

A series is what the reference calls one ``IssueQueries`` call: one performance run, one
loadable set in accuracy mode, or one FindPeakPerformance probe. Per-sample state lives in flat
``array('q')`` columns indexed by the sample's number in the series, so completing a sample
costs a few list stores: no per-sample object, task, dict or log call beyond the
``QuerySample`` handed to the SUT.

Completions may arrive from any thread. On the loop thread they are recorded at once; from
another thread the timestamp is taken there and the record is handed to the loop.
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from collections.abc import Iterator, Sequence

import numpy as np

from asyncgen._clock import Clock
from asyncgen._completion import register
from asyncgen._plan import QueryPlan
from asyncgen._writer import LogWriter
from asyncgen.sut import QuerySample, ResponseData

UNSET = -1


class Series:
    """Timestamps and completion bookkeeping for the queries of one plan."""

    def __init__(
        self,
        plan: QueryPlan,
        *,
        clock: Clock,
        writer: LogWriter,
        log_all_responses: bool,
        log_mask: np.ndarray,
        use_tokens: bool,
        needs_first_token: bool,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.writer = writer
        self.spq = plan.samples_per_query
        n_queries, n_samples = plan.query_count, plan.query_count * plan.samples_per_query
        self.start_ns = 0
        self.scheduled_ns = array("q", bytes(8 * n_queries))
        self.issued_ns = array("q", bytes(8 * n_queries))
        self.done_ns = array("q", [UNSET]) * n_queries
        self.completed_ns = array("q", [UNSET]) * n_samples
        self._remaining = array("q", [self.spq]) * n_queries if self.spq > 1 else None
        self.use_tokens = use_tokens
        self.needs_first_token = needs_first_token
        self.first_token_ns = array("q", [UNSET]) * (n_samples if use_tokens else 0)
        self.n_tokens = array("q", [0]) * (n_samples if use_tokens else 0)
        self.completion_order: list[int] = []
        self.failures: dict[int, str] = {}
        self._log_all = log_all_responses
        self._log_set = (
            frozenset(np.flatnonzero(log_mask).tolist()) if not log_all_responses else None
        )
        self._response_data: dict[int, bytes] = {}
        self._token_data: dict[int, bytes] = {}
        self.queries_issued = 0
        self.samples_issued = 0
        self.queries_completed = 0
        self.samples_completed = 0
        self.late_completions = 0
        self.closed = False
        self._base_id = register(self)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._query_waiter: tuple[int, asyncio.Future[None]] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # -- issuing ---------------------------------------------------------------------------

    def samples_for(self, first_query: int, last_query: int) -> list[QuerySample]:
        """The ``QuerySample`` objects of queries ``first_query..last_query`` (inclusive)."""
        spq, indices, base = self.spq, self.plan.sample_indices, self._base_id
        lo, hi = first_query * spq, (last_query + 1) * spq
        return [
            QuerySample(self, s, base + s, index)
            for s, index in zip(range(lo, hi), indices[lo:hi].tolist(), strict=True)
        ]

    def mark_issued(
        self, first_query: int, last_query: int, scheduled: Sequence[int], now: int
    ) -> None:
        """Stamp queries as issued at ``now``; ``scheduled`` holds their scheduled times."""
        for q, sched in zip(range(first_query, last_query + 1), scheduled, strict=True):
            self.scheduled_ns[q] = sched
            self.issued_ns[q] = now
        count = last_query - first_query + 1
        self.queries_issued += count
        self.samples_issued += count * self.spq

    # -- completion (any thread) -----------------------------------------------------------

    def complete(
        self, s: int, data: ResponseData, n_tokens: int | None, now: int | None = None
    ) -> None:
        if now is None:
            now = self.clock.now_ns()
        if threading.get_ident() == self._loop_thread:
            self._record(s, now, data, n_tokens)
        else:
            self._from_thread(self._record, s, now, _copy(data), n_tokens)

    def first_token(self, s: int, data: ResponseData, now: int | None = None) -> None:
        if now is None:
            now = self.clock.now_ns()
        if threading.get_ident() == self._loop_thread:
            self._record_first_token(s, now, data)
        else:
            self._from_thread(self._record_first_token, s, now, _copy(data))

    def fail(self, s: int, reason: str, now: int | None = None) -> None:
        """Count sample ``s`` as answered but failed: it leaves the latency statistics."""
        if now is None:
            now = self.clock.now_ns()
        if threading.get_ident() == self._loop_thread:
            self._record_failure(s, now, reason)
        else:
            self._from_thread(self._record_failure, s, now, reason)

    def _record_failure(self, s: int, now: int, reason: str) -> None:
        if 0 <= s < self.samples_issued and self.completed_ns[s] == UNSET and not self.closed:
            self.failures[s] = reason
            self.writer.error(
                "error_runtime",
                f"Sample failed. seq_id: {self.plan.first_sample_id + s} reason: {reason}",
            )
        self._record(s, now, b"", None, failed=True)

    def _from_thread(self, record: object, *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(record, *args)  # type: ignore[arg-type]
        except RuntimeError:  # the loop has closed: the run is long over
            self.late_completions += 1

    def _record(
        self, s: int, now: int, data: ResponseData, n_tokens: int | None, *, failed: bool = False
    ) -> None:
        if not 0 <= s < self.samples_issued:
            self.writer.error(
                "error_runtime", f"Completion for a sample that was never issued. sample: {s}"
            )
            return
        if self.completed_ns[s] != UNSET:
            self.writer.error("error_runtime", "Attempted to complete a sample twice.")
            return
        if self.closed:
            self.late_completions += 1
            self.writer.error(
                "error_runtime", f"Completion after the end of its series. sample: {s}"
            )
            return
        self.completed_ns[s] = now
        if self.use_tokens and not failed:
            self._record_tokens(s, now, n_tokens)
        if not failed and self._logs(s):
            self._response_data[s] = _copy(data)
        self.completion_order.append(s)
        self.samples_completed += 1
        if self._remaining is None:
            self._query_done(s, now)
        else:
            q = s // self.spq
            self._remaining[q] -= 1
            if self._remaining[q] == 0:
                self._query_done(q, now)
        if self.samples_completed == self.samples_issued and self._drain_waiter is not None:
            _resolve(self._drain_waiter)

    def _query_done(self, q: int, now: int) -> None:
        self.done_ns[q] = now
        self.queries_completed += 1
        waiter = self._query_waiter
        if waiter is not None and waiter[0] == q:
            _resolve(waiter[1])

    def _record_tokens(self, s: int, now: int, n_tokens: int | None) -> None:
        error = self.writer.error
        if self.needs_first_token and self.first_token_ns[s] == UNSET:
            error(
                "error_runtime",
                "Attempted to record a sample latency before it's first token latency",
            )
            # asyncgen counts the first token as arriving with the completion (the reference
            # computes with an uninitialised value here).
            self.first_token_ns[s] = now
        n = 0 if n_tokens is None else n_tokens
        if n == 0:
            error(
                "error_runtime",
                "n_tokens argument missing or attempted to record 0 as number of tokens",
            )
        elif n < 0:
            error("error_runtime", "Attempted to record a negative number of tokens")
            n = 0
        elif n == 1:
            error("error_runtime", "Number of tokens need to be greater than 1")
            n = 0
        self.n_tokens[s] = n

    def _record_first_token(self, s: int, now: int, data: ResponseData) -> None:
        if not 0 <= s < self.samples_issued:
            self.writer.error(
                "error_runtime", f"First token for a sample that was never issued. sample: {s}"
            )
            return
        if self.completed_ns[s] != UNSET:
            self.writer.error(
                "error_runtime", "Attempted to record token latency after sample was completed"
            )
            return
        if not self.use_tokens:
            return
        if self.first_token_ns[s] != UNSET:
            self.writer.error("error_runtime", "Attempted to complete a sample twice.")
            return
        self.first_token_ns[s] = now
        if self._logs(s):
            self._token_data[s] = _copy(data)

    def _logs(self, s: int) -> bool:
        """Whether sample ``s``'s response goes to the accuracy log."""
        return self._log_all or (self._log_set is not None and s in self._log_set)

    # -- waiting (loop thread) -------------------------------------------------------------

    async def wait_query(self, q: int) -> None:
        """Wait until every sample of query ``q`` has completed."""
        if self.done_ns[q] != UNSET:
            return
        future = self._loop.create_future()
        self._query_waiter = (q, future)
        try:
            await future
        finally:
            self._query_waiter = None

    async def wait_all(self) -> None:
        """Wait until every issued sample has completed."""
        if self.samples_completed >= self.samples_issued:
            return
        self._drain_waiter = self._loop.create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    def missing_samples(self) -> list[int]:
        """Local numbers of issued samples that never completed."""
        done = np.frombuffer(self.completed_ns, dtype=np.int64)[: self.samples_issued]
        return np.flatnonzero(done == UNSET).tolist()

    # -- records for the writer --------------------------------------------------------------

    def accuracy_entries(self, batch: list[int]) -> Iterator[str]:
        """Accuracy-log entries (without braces) for the logged samples among ``batch``."""
        first_id, indices = self.plan.first_sample_id, self.plan.sample_indices
        with_token_data = self.use_tokens and self.needs_first_token
        for s in batch:
            data = self._response_data.pop(s, None)
            if data is None:
                continue
            entry = (
                f'"seq_id" : {first_id + s}, "qsl_idx" : {int(indices[s])}, '
                f'"data" : "{data.hex().upper()}"'
            )
            if with_token_data:
                token = self._token_data.pop(s, b"")
                entry += (
                    f', "token_data" : "{token.hex().upper()}", "token_count" : {self.n_tokens[s]}'
                )
            elif self.use_tokens:
                entry += f', "token_count" : {self.n_tokens[s]}'
            yield entry

    def trace_events(self, batch: list[int], origin: int, pid: int) -> Iterator[dict[str, object]]:
        """Chrome-trace async events (begin at scheduled time, end at completion) per sample."""
        first_id, first_q, spq = self.plan.first_sample_id, self.plan.first_query_id, self.spq
        indices = self.plan.sample_indices
        for s in batch:
            q = s // spq
            sched, issued, done = self.scheduled_ns[q], self.issued_ns[q], self.completed_ns[s]
            seq = first_id + s
            yield {
                "name": "Sample",
                "cat": "default",
                "ph": "b",
                "pid": pid,
                "id": seq,
                "ts": round((sched - origin) / 1000, 3),
                "args": {
                    "sample_seq": seq,
                    "query_seq": first_q + q,
                    "sample_idx": int(indices[s]),
                    "issue_start_ns": issued - sched,
                    "complete_ns": done - sched,
                },
            }
            yield {
                "name": "Sample",
                "cat": "default",
                "ph": "e",
                "pid": pid,
                "id": seq,
                "ts": round((done - origin) / 1000, 3),
            }


def _copy(data: ResponseData) -> bytes:
    if data is None:
        return b""
    return bytes(data)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
