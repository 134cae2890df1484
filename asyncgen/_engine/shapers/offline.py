"""Offline: every sample in one query, scheduled at the start."""

from __future__ import annotations

from asyncgen._engine.shapers.common import (
    IssueOutcome,
    ShaperContext,
    closed_or_offline_stop,
    issue,
)


async def run_offline(ctx: ShaperContext) -> IssueOutcome:
    series = ctx.series
    series.start_ns = ctx.clock.now_ns()
    for q in range(series.plan.query_count):
        now = await issue(ctx, q, q)  # scheduled at the start (Schedule.START)
        if closed_or_offline_stop(ctx, now):
            return IssueOutcome(ran_out=False)
    return IssueOutcome(ran_out=not ctx.accuracy)
