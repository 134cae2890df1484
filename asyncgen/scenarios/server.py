"""Server: Poisson arrivals, open loop.

The shaper sleeps on a loop timer (``loop.call_at``) until the next arrival is due, then issues
every arrival already due — one ``issue_query`` per query, or all of them in one call with
``server_coalesce_queries``. A late arrival is issued at once and keeps its scheduled time, so
lateness counts against latency (no coordinated omission), and issue lag is recorded per query.
"""

from __future__ import annotations

from asyncgen.scenarios._common import IssueOutcome, ShaperContext, issue, max_limits_reached


async def run_server(ctx: ShaperContext) -> IssueOutcome:
    series, clock = ctx.series, ctx.clock
    offsets = series.plan.scheduled_offsets_ns.tolist()
    coalesce = ctx.settings.requested.server_coalesce_queries
    start = series.start_ns = clock.now_ns()
    n, q = len(offsets), 0
    while q < n:
        due = start + offsets[q]
        if clock.now_ns() < due:
            await clock.sleep_until(due)
        if coalesce:
            now = clock.now_ns()
            last = q
            while last + 1 < n and start + offsets[last + 1] <= now:
                last += 1
            scheduled = [start + offsets[k] for k in range(q, last + 1)]
            now = await issue(ctx, q, last, scheduled)
            q = last + 1
        else:
            now = await issue(ctx, q, q, (due,))
            q += 1
        if not ctx.accuracy and _should_stop(ctx, now):
            break
    return IssueOutcome(ran_out=False)  # Server issues its whole plan unless stopped


def _should_stop(ctx: ShaperContext, now: int) -> bool:
    limit = ctx.settings.max_async_queries
    series = ctx.series
    if limit:
        outstanding = series.queries_issued - series.queries_completed
        if outstanding > limit:
            ctx.writer.error(
                "error_runtime",
                "IssueQueryThread 0 Ending early: Too many outstanding queries. "
                f"issued {series.queries_issued} outstanding {outstanding}",
            )
            return True
    return max_limits_reached(ctx, now)
