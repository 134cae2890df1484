"""SingleStream and MultiStream: each query is issued when the previous one has completed.

MultiStream queries hold ``samples_per_query`` contiguous samples; what differs from
SingleStream (windows of samples, per-query latency) is in the plan and the statistics, so the
pacing is one closed loop.

A SUT that answers inside ``issue_query`` never makes the loop wait, so on its own the closed
loop would never give the event loop a turn: no log writing, progress, stall watchdog or
signal handling (Ctrl-C) until the run ended. Every ``YIELD_EVERY`` queries answered that way
it yields one turn, and sooner once ``TURN_EVERY_NS`` has passed since the last turn (a SUT
that blocks the loop in each call). The pause falls between a completion and the next issue,
where the closed loop schedules the next query, so no latency includes it.
"""

from __future__ import annotations

import asyncio

from asyncgen._engine.series import UNSET
from asyncgen._engine.shapers.common import (
    TURN_EVERY_NS,
    IssueOutcome,
    ShaperContext,
    closed_or_offline_stop,
    issue,
)

YIELD_EVERY = 64  # queries answered without the loop waiting, between loop turns


async def run_closed_loop(ctx: ShaperContext) -> IssueOutcome:
    """The closed loop of SingleStream and MultiStream: latency counts from the issue."""
    series = ctx.series
    done_ns = series.done_ns  # when each query completed (UNSET: not yet)
    turned = series.start_ns = ctx.clock.now_ns()
    answered_at_once = 0
    for q in range(series.plan.query_count):
        done = done_ns[q - 1] if q else turned
        if done == UNSET:
            await series.wait_query(q - 1)  # the loop turns while it waits
            answered_at_once, turned = 0, done_ns[q - 1]
        elif answered_at_once >= YIELD_EVERY or done - turned >= TURN_EVERY_NS:
            await asyncio.sleep(0)
            answered_at_once, turned = 0, done
        answered_at_once += 1
        now = await issue(ctx, q, q)  # scheduled when issued (Schedule.ISSUE)
        if closed_or_offline_stop(ctx, now):
            return IssueOutcome(ran_out=False)
    return IssueOutcome(ran_out=not ctx.accuracy)
