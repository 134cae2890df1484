"""What every shaper shares: issuing a run of queries and the reference's stop rules."""

from __future__ import annotations

import attrs

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._engine.clock import Clock
from asyncgen._engine.events import EventLog
from asyncgen._engine.protocols import SystemUnderTest
from asyncgen._engine.series import Series
from asyncgen._engine.sessions import SessionSpec

# Behind schedule, a shaper still gives the loop a turn at least this often (as well as every
# few queries): a SUT that blocks the loop in each call (a synchronous model call) must not
# hold off Ctrl-C, cancellation, the writer and the watchdog for a whole batch of blocking calls.
TURN_EVERY_NS = 10_000_000


@attrs.define(kw_only=True)
class ShaperContext:
    """Everything a shaper needs to pace one series."""

    series: Series
    sut: SystemUnderTest
    settings: EffectiveSettings
    accuracy: bool
    clock: Clock
    events: EventLog
    # Server queries that depend on completions (asyncgen._engine.sessions); None: plain
    sessions: SessionSpec | None = None
    # When the series starts, on ``clock``: None starts it at once. A scale-out shard gets
    # the run's common start, so every shard's queries keep their global scheduled times.
    start_at_ns: int | None = None


async def series_start(ctx: ShaperContext) -> int:
    """Start the series (at ``ctx.start_at_ns`` if given, waiting for it) and return the start."""
    at = ctx.start_at_ns
    if at is None:
        at = ctx.clock.now_ns()
    elif ctx.clock.now_ns() < at:
        await ctx.clock.sleep_until(at)
    ctx.series.start_ns = at
    return at


@attrs.frozen
class IssueOutcome:
    """How issuing ended: ``ran_out`` is the reference's "ran out of generated queries"."""

    ran_out: bool


async def issue(ctx: ShaperContext, first: int, last: int) -> int:
    """Issue queries ``first..last`` as one ``issue_query`` call; returns the issue time.

    The clock is read after the samples are built, right before the SUT is called. (When
    the queries were scheduled follows from the series' ``Schedule``.)
    """
    series = ctx.series
    if first == last and series.spq == 1:  # the common single-sample query: the fast path
        index = int(series.plan.sample_indices[first])
        samples = series.start_query(first, index)
        now = series.issued_at(first)
    else:
        samples = series.samples_for(first, last)
        now = ctx.clock.now_ns()
        series.mark_issued(first, last, now)
    try:
        await ctx.sut.issue_query(samples)
    except BaseException:  # whatever it is, this call may not have reached the SUT
        series.note_failed_call(first, last)
        raise
    return now


def ending_naturally(ctx: ShaperContext, now: int) -> bool:
    """The closed-loop and Offline stop rule: enough queries and enough time."""
    eff = ctx.settings
    elapsed = now - ctx.series.start_ns
    if (
        ctx.series.queries_issued >= eff.min_query_count
        and elapsed >= eff.target_duration_ms * NS_PER_MS
    ):
        ctx.events.detail(
            "generic_message", "Ending naturally: Minimum query count and test duration met."
        )
        return True
    return False


def max_limits_reached(ctx: ShaperContext, now: int) -> bool:
    """``max_query_count`` and ``max_duration_ms``, checked after every issue."""
    eff, series = ctx.settings, ctx.series
    if eff.max_query_count and series.queries_issued >= eff.max_query_count:
        ctx.events.error(
            "error_runtime",
            "IssueQueryThread 0 Ending early: Max query count reached. "
            f"query_count {series.queries_issued}",
        )
        return True
    elapsed = now - series.start_ns
    if eff.max_duration_ms and elapsed > eff.max_duration_ms * NS_PER_MS:
        ctx.events.error(
            "error_runtime",
            f"IssueQueryThread 0 Ending early: Max test duration reached. duration_ns {elapsed}",
        )
        return True
    return False


def closed_or_offline_stop(ctx: ShaperContext, now: int) -> bool:
    """After each issue outside Server: accuracy runs issue everything; performance runs end
    naturally or at the max limits (the reference checks in this order)."""
    return not ctx.accuracy and (ending_naturally(ctx, now) or max_limits_reached(ctx, now))
