"""SingleStream: one sample per query, each issued when the previous one has completed."""

from __future__ import annotations

from asyncgen.scenarios._common import IssueOutcome, ShaperContext, closed_or_offline_stop, issue


async def run_closed_loop(ctx: ShaperContext) -> IssueOutcome:
    """Closed loop shared by SingleStream and MultiStream: latency counts from the issue."""
    series = ctx.series
    series.start_ns = ctx.clock.now_ns()
    for q in range(series.plan.query_count):
        if q:
            await series.wait_query(q - 1)
        now = await issue(ctx, q, q)  # scheduled when issued (Schedule.ISSUE)
        if closed_or_offline_stop(ctx, now):
            return IssueOutcome(ran_out=False)
    return IssueOutcome(ran_out=not ctx.accuracy)


async def run_single_stream(ctx: ShaperContext) -> IssueOutcome:
    return await run_closed_loop(ctx)
