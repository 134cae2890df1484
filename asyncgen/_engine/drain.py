"""Issue, flush and drain one series, and name the samples that never completed.

A series ends one of four ways: the shaper issues its plan, the SUT is flushed and every
sample completes within the drain deadline (or the ones that did not are named); the SUT
raises, so issuing stops, what is in flight is drained within the deadline and the error goes
on; a closed loop's query never completes, so issuing stops and the sample is named; or a SUT
call (``issue_query``, ``flush_queries``) never returns, so the watchdog abandons it after the
drain deadline, issuing stops and the call and the samples in flight are named.
"""

from __future__ import annotations

import contextlib
import time

import anyio
import attrs

from asyncgen._config.effective import NS_PER_MS
from asyncgen._engine.events import EventLog
from asyncgen._engine.interrupt import being_cancelled, is_interrupt
from asyncgen._engine.series import Series
from asyncgen._engine.shapers import SHAPERS, ShaperContext
from asyncgen._engine.watchdog import QueryWaitExpired, Watchdog

_NAMED_AT_MOST = 50  # samples listed by name in one error entry; the rest are counted

_RAN_OUT_MESSAGE = (
    "Ending early: Ran out of generated queries to issue before the minimum "
    "query count and test duration were reached. Please update the relevant "
    "expected latency or target qps in the TestSettings so they are more "
    "accurate."
)


@attrs.define
class Drain:
    """Waits for a series' outstanding samples until the drain deadline and names the ones
    that never came, in the detail log and in ``missing``."""

    events: EventLog
    timeout_ms: int
    missing: list[tuple[int, int]]  # the run's (seq_id, qsl_idx) of samples never completed

    async def wait(self, series: Series, timeout_s: float | None = None) -> list[int]:
        """Wait for outstanding samples until the drain deadline; name the ones that never came."""
        if timeout_s is None:
            timeout_s = self.timeout_ms / 1000
        if await series.wait_all(timeout_s):
            return []
        missing = series.missing_samples()
        self.name_missing(series, missing)
        return missing

    async def after_failure(self, series: Series, exc: BaseException, *, skip: range) -> None:
        """Stop issuing; wait (polling: a failure path) until every sample in flight but those
        in ``skip`` has completed or the drain deadline passed, and name the missing ones."""
        self.events.error(
            "error_runtime",
            f"Stopped issuing: the SUT raised {exc!r}; draining the samples in flight",
        )
        deadline = time.perf_counter_ns() + self.timeout_ms * NS_PER_MS
        while time.perf_counter_ns() < deadline:
            if all(s in skip for s in series.missing_samples()):
                break
            await anyio.sleep(0.005)
        self.name_missing(series, series.missing_samples())

    def name_missing(self, series: Series, missing: list[int], why: str | None = None) -> None:
        """Log the samples that never completed (by seq_id:qsl_idx) and keep them for the result."""
        if not missing:
            return
        if why is None:
            why = f"Drain deadline of {self.timeout_ms} ms passed"
        plan = series.plan
        listed = [(series.seq_id(s), int(plan.sample_indices[s])) for s in missing]
        shown = ", ".join(f"{seq}:{idx}" for seq, idx in listed[:_NAMED_AT_MOST])
        extra = len(listed) - _NAMED_AT_MOST
        more = f" (and {extra} more)" if extra > 0 else ""
        self.events.error(
            "error_runtime",
            f"{why} with {len(listed)} samples never completed (seq_id:qsl_idx) {shown}{more}",
        )
        self.missing.extend(listed)


@attrs.frozen
class Drained:
    """How a series ended: the samples that never completed, and why issuing stopped early
    when it was for a reason that makes the run INVALID (None otherwise)."""

    missing: list[int]
    stopped: str | None = None


async def pace_and_drain(
    ctx: ShaperContext, drain: Drain, watchdog: Watchdog | None = None
) -> Drained:
    """Shaper, flush and drain. If the SUT raises, issuing stops, what is in flight is drained
    within the deadline, and the error goes on; a closed loop whose query never completed, or
    a SUT call that never returns (bounded by ``watchdog``), stops issuing and the run ends
    INVALID with the call and the samples named."""
    series, events = ctx.series, ctx.events
    calling, outcome = "issue_query", None
    try:
        with _bounded(watchdog) as calls:
            try:
                outcome = await SHAPERS[ctx.settings.scenario](ctx)
            except QueryWaitExpired as exc:
                events.error(
                    "error_runtime", f"Closed loop stopped: {exc}; no further queries were issued"
                )
            calling = "flush_queries"
            await ctx.sut.flush_queries()
    except BaseException as exc:
        if is_interrupt(exc) or being_cancelled():  # the cancellation wins: no drain
            raise
        # the samples of the issue_query call that raised may never have reached the SUT
        await drain.after_failure(series, exc, skip=series.failed_call)
        raise
    if calls.cancelled_caught:  # no progress for the drain deadline: nor will there be
        stopped = _stuck_call(series, calling, drain.timeout_ms)
        events.error("error_runtime", f"{stopped}; no further queries were issued")
        return Drained(await drain.wait(series, timeout_s=0.0), stopped)
    if outcome is None:  # the closed loop's wait already lasted the drain deadline
        return Drained(await drain.wait(series, timeout_s=0.0))
    if outcome.ran_out and not ctx.accuracy:
        events.error("error_runtime", _RAN_OUT_MESSAGE)
    return Drained(await drain.wait(series))


def _bounded(watchdog: Watchdog | None) -> contextlib.AbstractContextManager[anyio.CancelScope]:
    return anyio.CancelScope() if watchdog is None else watchdog.bounding_calls()


def _stuck_call(series: Series, calling: str, timeout_ms: int) -> str:
    """Names the SUT call that never returned."""
    if calling == "issue_query":
        queries = series.last_call()
        spq, first = series.spq, series.plan.first_sample_id
        samples = range(first + queries.start * spq, first + queries.stop * spq)
        calling = (
            f"issue_query call of queries {queries.start}..{queries.stop - 1} "
            f"(sample seq_id {samples.start}..{samples.stop - 1})"
        )
    return f"The SUT's {calling} did not return within the drain deadline of {timeout_ms} ms"
