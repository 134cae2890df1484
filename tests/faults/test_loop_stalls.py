"""A SUT that blocks the event loop (a synchronous sleep in ``issue_query``) is detected and
reported as event-loop stalls, with the lag it caused, in the result, results.json and the
detail log; a well-behaved SUT causes none."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import asyncgen
from asyncgen import TestScenario
from asyncgen._watchdog import STALL_THRESHOLD_NS
from asyncgen.sut import QuerySample
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    echo,
    fast_settings,
    log_to,
    results_json,
)
from tests.helpers import ListQSL, read_detail

BLOCK_S = 0.4


class BlockingSUT:
    """Blocks the loop thread for ``BLOCK_S`` on its tenth query: the mistake under test."""

    name = "blocking"

    def __init__(self) -> None:
        self.calls = 0

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self.calls == 10:
            time.sleep(BLOCK_S)  # noqa: ASYNC251 - the fault being injected
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


def test_a_sut_blocking_the_loop_is_reported_as_a_stall(tmp_path: Path) -> None:
    result = asyncgen.run(
        BlockingSUT(),
        ListQSL(),
        fast_settings(TestScenario.Server),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    stalls = result.loop_stalls
    assert stalls is not None and stalls.count >= 1
    assert stalls.max_ns >= BLOCK_S * 1e9 * 0.9 - 0.02e9
    assert stalls.max_ns > STALL_THRESHOLD_NS
    assert results_json(tmp_path)["loop_stalls"]["count"] == stalls.count
    warnings = [
        e["value"]
        for e in read_detail(tmp_path / "mlperf_log_detail.txt")
        if e["metadata"]["is_warning"]
    ]
    assert any("event loop stalled" in str(w) for w in warnings)
    assert result.issue_lag.max_ns >= BLOCK_S * 1e9 * 0.9  # the lag it caused, seen twice
    assert_consistent(tmp_path)


async def _complete(sample: QuerySample) -> None:
    sample.complete(await echo(sample))


def test_a_well_behaved_sut_causes_no_stall(tmp_path: Path) -> None:
    result = asyncgen.run(
        ScriptedSUT(_complete),
        ListQSL(),
        fast_settings(TestScenario.Server),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert result.loop_stalls is not None and result.loop_stalls.count == 0
    assert results_json(tmp_path)["loop_stalls"] == result.loop_stalls.to_dict()
