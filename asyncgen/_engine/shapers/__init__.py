"""Traffic shapers, one per scenario: each paces one series of pre-generated queries.

SingleStream and MultiStream share the closed loop (``closed_loop``), Server paces its planned
arrivals on an open loop (``server``) — or, with a concurrency limit, closed-loop users or
multi-turn sessions, queries that depend on completions (``sessions``) — and Offline issues one
query of every sample (``offline``); ``common`` holds what they share. ``SCHEDULES`` says when
each scenario's queries are scheduled, which is what the reference stamps as their start and
latency counts from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asyncgen._config.enums import TestScenario
from asyncgen._engine.series import Schedule
from asyncgen._engine.shapers.closed_loop import run_closed_loop
from asyncgen._engine.shapers.common import IssueOutcome, ShaperContext
from asyncgen._engine.shapers.offline import run_offline
from asyncgen._engine.shapers.server import run_server
from asyncgen._engine.shapers.sessions import run_sessions

Shaper = Callable[[ShaperContext], Awaitable[IssueOutcome]]


async def _server(ctx: ShaperContext) -> IssueOutcome:
    if ctx.sessions is not None:
        return await run_sessions(ctx)
    return await run_server(ctx)


SHAPERS: dict[TestScenario, Shaper] = {
    TestScenario.SingleStream: run_closed_loop,
    TestScenario.MultiStream: run_closed_loop,
    TestScenario.Server: _server,
    TestScenario.Offline: run_offline,
}

# When each scenario's queries are scheduled (what the reference stamps as their start).
SCHEDULES: dict[TestScenario, Schedule] = {
    TestScenario.SingleStream: Schedule.ISSUE,
    TestScenario.MultiStream: Schedule.ISSUE,
    TestScenario.Server: Schedule.PLAN,
    TestScenario.Offline: Schedule.START,
}

__all__ = ["SCHEDULES", "SHAPERS", "IssueOutcome", "Shaper", "ShaperContext"]
