"""Traffic shapers, one per scenario: each paces one series of pre-generated queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asyncgen._config.enums import TestScenario
from asyncgen.scenarios._common import IssueOutcome, ShaperContext
from asyncgen.scenarios.multi_stream import run_multi_stream
from asyncgen.scenarios.offline import run_offline
from asyncgen.scenarios.server import run_server
from asyncgen.scenarios.single_stream import run_single_stream

Shaper = Callable[[ShaperContext], Awaitable[IssueOutcome]]

SHAPERS: dict[TestScenario, Shaper] = {
    TestScenario.SingleStream: run_single_stream,
    TestScenario.MultiStream: run_multi_stream,
    TestScenario.Server: run_server,
    TestScenario.Offline: run_offline,
}

__all__ = ["SHAPERS", "IssueOutcome", "Shaper", "ShaperContext"]
