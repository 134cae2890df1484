"""Offline: every sample in one query, scheduled at the start."""

from __future__ import annotations

from asyncgen.scenarios._common import (
    IssueOutcome,
    ShaperContext,
    ending_naturally,
    issue,
    max_limits_reached,
)


async def run_offline(ctx: ShaperContext) -> IssueOutcome:
    series = ctx.series
    start = series.start_ns = ctx.clock.now_ns()
    for q in range(series.plan.query_count):
        now = await issue(ctx, q, q, (start,))
        if ctx.accuracy:
            continue
        if ending_naturally(ctx, now) or max_limits_reached(ctx, now):
            return IssueOutcome(ran_out=False)
    return IssueOutcome(ran_out=not ctx.accuracy)
