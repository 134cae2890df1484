"""MultiStream: queries of ``samples_per_query`` contiguous samples, closed loop."""

from __future__ import annotations

from asyncgen.scenarios._common import IssueOutcome, ShaperContext
from asyncgen.scenarios.single_stream import run_closed_loop


async def run_multi_stream(ctx: ShaperContext) -> IssueOutcome:
    # The pacing is SingleStream's; what differs (windows of samples, per-query latency) is in
    # the plan and the statistics.
    return await run_closed_loop(ctx)
