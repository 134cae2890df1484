"""The result table's rows for each scenario, from short real runs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import attrs
import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen._cli.result_table import failures_text, result_rows
from asyncgen._engine.watchdog import LoopStalls
from asyncgen.sut import QuerySample
from tests.helpers import log_to, short_settings

SERVER_QPS = 500  # below FAST's: the headline row says the target
HEADLINES = {
    TestScenario.SingleStream: ("p90 latency", r"[\d.]+ ms"),
    TestScenario.MultiStream: ("p99 query latency", r"[\d.]+ ms"),
    TestScenario.Server: ("completed samples/s", rf"[\d,.]+ \(target {SERVER_QPS} QPS\)"),
    TestScenario.Offline: ("samples/s", r"[\d,.]+"),
}


async def _echo(sample: QuerySample) -> bytes:
    await asyncio.sleep(0)
    return b"x"


def _run(tmp_path: Path, scenario: TestScenario, mode: TestMode) -> asyncgen.TestResult:
    server = {"server_target_qps": SERVER_QPS} if scenario is TestScenario.Server else {}
    settings = short_settings(scenario, mode, min_query_count=20, **server)
    log = log_to(tmp_path)
    qsl = asyncgen.SimulatedQSL(total_sample_count=64, performance_sample_count=64)
    return asyncgen.run(
        asyncgen.FunctionSUT(_echo), qsl, settings, log_settings=log, audit_config=None
    )


@pytest.mark.parametrize("scenario", list(TestScenario))
def test_headline_per_scenario(tmp_path: Path, scenario: TestScenario) -> None:
    result = _run(tmp_path, scenario, TestMode.PerformanceOnly)
    rows = dict(result_rows(result))
    label, pattern = HEADLINES[scenario]
    assert re.fullmatch(pattern, rows[label]), rows
    assert rows["result"] == ("VALID" if result.valid else "INVALID")
    assert rows["test"] == f"{scenario.name}, PerformanceOnly"
    assert re.fullmatch(r"p50 \S+ ms  p90 \S+ ms  p99 \S+ ms", rows["latency"])
    assert rows["samples"].endswith("queries")
    assert [r for r in result_rows(result) if r[0] == "reason"] == [
        ("reason", reason) for reason in result.reasons
    ]


def test_accuracy_run_has_no_performance_rows(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.AccuracyOnly)
    rows = dict(result_rows(result))
    assert rows["accuracy log"] == "64 responses"
    assert "latency" not in rows
    assert "samples/s" not in rows


def test_failures_text() -> None:
    assert failures_text({}) == "0"
    assert failures_text({"http_status": 5, "connect": 2}) == "7 (connect 2, http_status 5)"
    assert failures_text({"timeout": 0, "other": 1}) == "1 (other 1)"


def test_loop_stalls_row_only_when_the_loop_stalled(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    calm = LoopStalls(count=0, total_ns=0, max_ns=0, threshold_ns=250_000_000)
    assert "loop stalls" not in dict(result_rows(attrs.evolve(result, loop_stalls=calm)))
    assert "loop stalls" not in dict(result_rows(attrs.evolve(result, loop_stalls=None)))
    stalled = attrs.evolve(calm, count=1234, total_ns=9_000_000_000, max_ns=412_345_678)
    rows = result_rows(attrs.evolve(result, loop_stalls=stalled))
    assert ("loop stalls", "1,234 over 250 ms, longest 412 ms") in rows
    labels = [label for label, _ in rows]
    assert labels.index("issue lag") < labels.index("loop stalls") < labels.index("errors")
