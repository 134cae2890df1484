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
from asyncgen._metrics.fidelity import ArrivalFidelity
from asyncgen._metrics.health import RunHealth
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


def _health(**changes: object) -> RunHealth:
    kept_up = RunHealth(
        queries=20_000,
        scheduled_qps=2000.0,
        achieved_qps=1999.0,
        mean_interarrival_ns=500_000.0,
        issue_lag_p99_ns=412_000,
        final_issue_lag_ns=3_000,
        fell_behind=False,
        warnings=(),
    )
    return attrs.evolve(kept_up, **changes)


def test_health_row_says_the_generator_kept_up(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    assert result.health is None and "health" not in dict(result_rows(result))  # one query
    server = attrs.evolve(result, scenario=TestScenario.Server, health=_health())
    assert (
        "health",
        "kept up: issued 1,999.0 of 2,000.0 queries/s scheduled (100.0%), p99 issue lag 0.41 ms",
    ) in result_rows(server)


def test_health_row_of_a_short_run_says_it_was_not_judged(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    behind = _health(queries=144, achieved_qps=306.8, scheduled_qps=474.8)
    server = attrs.evolve(result, scenario=TestScenario.Server, health=behind)
    row = dict(result_rows(server))["health"]
    assert row.startswith("not judged (too few queries): issued 306.8 of 474.8 queries/s")


def test_health_row_says_a_closed_loop_kept_up(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.SingleStream, TestMode.PerformanceOnly)
    assert result.health is not None and not result.health.fell_behind
    assert dict(result_rows(result))["health"].startswith("kept up (closed loop")


def test_a_generator_that_fell_behind_says_why_and_every_warning_follows(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    behind = _health(
        fell_behind=True,
        warnings=("asyncgen issued in bursts: ...",),
        reasons=("issued in bursts (p99 issue lag 4.500 ms)",),
    )
    texts = ("asyncgen issued in bursts: ...", "The event loop stalled 1 times ...")
    shown = attrs.evolve(
        result, scenario=TestScenario.Server, health=behind, warnings=2, warning_messages=texts
    )
    rows = result_rows(shown)
    labels = [label for label, _ in rows]
    at = labels.index("health")
    assert rows[at] == ("health", "fell behind: issued in bursts (p99 issue lag 4.500 ms)")
    assert rows[at + 1 : at + 3] == [("warning", texts[0]), ("warning", texts[1])]
    assert labels.index("issue lag") < at < labels.index("errors")
    assert dict(rows)["errors"] == f"{shown.errors} errors, 2 warnings"


def test_warnings_are_shown_even_when_health_was_not_judged(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    rows = result_rows(attrs.evolve(result, warning_messages=("Test05 flag detected",)))
    assert ("warning", "Test05 flag detected") in rows and "health" not in dict(rows)


def test_the_health_row_carries_the_arrival_fidelity(tmp_path: Path) -> None:
    result = _run(tmp_path, TestScenario.Offline, TestMode.PerformanceOnly)
    fidelity = ArrivalFidelity(
        process="poisson",
        gaps=19_999,
        ks_statistic=0.0123,
        planned_ks_statistic=0.004,
        noise_ks=0.013,
        threshold_ks=0.05,
        judged=True,
        poor=False,
    )
    kept = attrs.evolve(result, scenario=TestScenario.Server, health=_health(fidelity=fidelity))
    assert dict(result_rows(kept))["health"].endswith(
        ", arrivals KS D 0.012 (poisson, poor above 0.050)"
    )
    poor = attrs.evolve(fidelity, ks_statistic=0.072, poor=True)
    strayed = attrs.evolve(kept, health=_health().with_fidelity(poor))
    assert dict(result_rows(strayed))["health"] == "fell behind: arrivals bunched (KS D 0.072)"
