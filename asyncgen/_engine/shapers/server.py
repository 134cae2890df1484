"""Server: Poisson arrivals, open loop.

The shaper waits for each arrival with ``clock.sleep_until`` — by default a loop timer until
shortly before it, then polling the loop; or a kernel high-resolution timer and a short poll, or
loop timers alone (the pacing modes of ``asyncgen._engine.clock``) — and issues every arrival
already due when it wakes: one ``issue_query`` per query, or all of them in one call with
``server_coalesce_queries``. A late arrival is issued at once and keeps its scheduled time, so
lateness counts against latency (no coordinated omission), and issue lag is recorded per query.

The loop is the hottest code of a run, so it reads the plan in chunks of plain ints, stamps
one-sample queries through ``Series.start_query``, checks stop rules only when a limit is set,
and, when it has fallen behind, still yields to the loop every ``YIELD_EVERY`` queries, and
whenever ``TURN_EVERY_NS`` has passed since the loop last turned (a SUT that blocks the loop in
each call), so that completions, the SUT's own tasks and signal handling keep running.

A SUT with ``set_arrival_check`` (the HTTP adapters) gets the one-sample queries from
``Arrivals`` instead: they go out from whatever notices first that they are due — the clock's
wake-up, the SUT's own I/O callbacks, or this task (see ``asyncgen._engine.shapers.arrivals``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator

import numpy as np

from asyncgen._engine.clock import FakeClock, MonotonicClock
from asyncgen._engine.shapers.arrivals import YIELD_EVERY, Arrivals
from asyncgen._engine.shapers.common import (
    TURN_EVERY_NS,
    IssueOutcome,
    ShaperContext,
    issue,
    max_limits_reached,
    series_start,
)

CHUNK = 4096  # plan entries turned into Python ints at a time: bounded memory, fast loops

ArrivalHook = Callable[[Callable[[], None] | None], None]


async def run_server(ctx: ShaperContext) -> IssueOutcome:
    start = await series_start(ctx)
    hook: ArrivalHook | None = getattr(ctx.sut, "set_arrival_check", None)
    if ctx.settings.requested.server_coalesce_queries or ctx.series.spq != 1:
        await _run_batched(ctx, start)
    elif hook is not None:
        await _run_with_check(ctx, start, hook)
    else:
        await _run_single(ctx, start)
    return IssueOutcome(ran_out=False)  # Server issues its whole plan unless stopped


async def _run_single(ctx: ShaperContext, start: int) -> None:
    """One query per arrival, one sample per query: the fast path."""
    series, clock, issue_query = ctx.series, ctx.clock, ctx.sut.issue_query
    now_ns, sleep_until, start_query = clock.now_ns, clock.sleep_until, series.start_query
    checks = _has_stop_rules(ctx)
    in_a_row, turned, turn_ns = 0, start, TURN_EVERY_NS
    for q, offset, index in _plan_rows(ctx):
        due = start + offset
        now = now_ns()
        if now < due:
            await sleep_until(due)
            in_a_row, turned = 0, due
        elif in_a_row >= YIELD_EVERY or now - turned >= turn_ns:
            await asyncio.sleep(0)  # behind schedule: one loop turn for completions, signals
            in_a_row, turned = 0, now
        in_a_row += 1
        try:  # free unless it raises (zero-cost exceptions): nothing per query on this path
            await issue_query(start_query(q, index, due))
        except BaseException:  # whatever it is, this call may not have reached the SUT
            series.note_failed_call(q, q)
            raise
        if checks and server_should_stop(ctx, series.issued_at(q)):
            return


async def _run_with_check(ctx: ShaperContext, start: int, hook: ArrivalHook) -> None:
    """One query per arrival, issued by ``Arrivals`` from wherever it is noticed due first:
    the SUT's callbacks, the clock's wake-up, or this task."""
    stop = functools.partial(server_should_stop, ctx) if _has_stop_rules(ctx) else None
    arrivals = Arrivals(ctx, start, _plan_rows(ctx), stop)
    clock = ctx.clock
    now_ns, sleep_until = clock.now_ns, clock.sleep_until
    if isinstance(clock, MonotonicClock | FakeClock):  # the clocks that take on_due
        sleep_until = functools.partial(clock.sleep_until, on_due=arrivals.check)
    hook(arrivals.check)
    try:
        while True:
            arrivals.issue_due()
            if arrivals.pending is not None:  # the SUT suspended in issue_query: wait for it
                await arrivals.finish_pending()
            elif arrivals.done:
                arrivals.raise_failure()
                return
            elif now_ns() < arrivals.next_ns:
                await sleep_until(arrivals.next_ns)
            else:
                await asyncio.sleep(0)  # behind schedule: one loop turn for completions
    finally:
        hook(None)
        arrivals.close()


async def _run_batched(ctx: ShaperContext, start: int) -> None:
    """Coalesced arrivals (or multi-sample queries): one call per wake-up or per query."""
    series, clock = ctx.series, ctx.clock
    offsets = series.plan.scheduled_offsets_ns
    coalesce = ctx.settings.requested.server_coalesce_queries
    n, q, turned = series.plan.query_count, 0, start
    while q < n:
        due = start + int(offsets[q])
        now = clock.now_ns()
        if now < due:
            await clock.sleep_until(due)
            turned = due
        elif now - turned >= TURN_EVERY_NS:  # behind, and the SUT's calls never yield
            await asyncio.sleep(0)
            turned = now
        last = q
        if coalesce:  # every arrival already due joins this call
            due_now = clock.now_ns() - start
            last = max(q, int(np.searchsorted(offsets, due_now, side="right")) - 1)
        now = await issue(ctx, q, last)
        q = last + 1
        if not ctx.accuracy and server_should_stop(ctx, now):
            return


def _plan_rows(ctx: ShaperContext) -> Iterator[tuple[int, int, int]]:
    """(query, scheduled offset, QSL index) for every query, converted a chunk at a time."""
    plan = ctx.series.plan
    offsets, indices = plan.scheduled_offsets_ns, plan.sample_indices
    for first in range(0, plan.query_count, CHUNK):
        last = min(first + CHUNK, plan.query_count)
        yield from zip(
            range(first, last),
            offsets[first:last].tolist(),
            indices[first:last].tolist(),
            strict=True,
        )


def _has_stop_rules(ctx: ShaperContext) -> bool:
    """Whether any rule can end issuing early (never in accuracy mode)."""
    eff = ctx.settings
    return not ctx.accuracy and bool(
        eff.max_async_queries or eff.max_query_count or eff.max_duration_ms
    )


def server_should_stop(ctx: ShaperContext, now: int) -> bool:
    """Server's stop rules: too many outstanding queries, the max query count or duration."""
    limit = ctx.settings.max_async_queries
    series = ctx.series
    if limit:
        outstanding = series.queries_issued - series.queries_completed
        if outstanding > limit:
            ctx.events.error(
                "error_runtime",
                "IssueQueryThread 0 Ending early: Too many outstanding queries. "
                f"issued {series.queries_issued} outstanding {outstanding}",
            )
            return True
    return max_limits_reached(ctx, now)
