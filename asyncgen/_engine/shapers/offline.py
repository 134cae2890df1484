"""Offline: every sample in one query, scheduled at the start."""

from __future__ import annotations

from asyncgen._engine.shapers.common import (
    IssueOutcome,
    ShaperContext,
    closed_or_offline_stop,
    issue,
    series_start,
)


async def run_offline(ctx: ShaperContext) -> IssueOutcome:
    series = ctx.series
    await series_start(ctx)
    for q in range(series.plan.query_count):
        now = await issue(ctx, q, q)  # scheduled at the start (Schedule.START)
        if closed_or_offline_stop(ctx, now):
            return IssueOutcome(ran_out=False)
    return IssueOutcome(ran_out=not ctx.accuracy)
