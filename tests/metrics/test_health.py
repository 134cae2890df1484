"""The run's own health: backlog and burst warnings, in TestResult and the detail log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import asyncgen
from asyncgen._engine.clock import FakeClock
from asyncgen._metrics.health import BURSTS_REMEDY, LAG_GAPS, MIN_QUERIES, RunHealth, assess
from asyncgen._run.advice import Entry
from asyncgen.sut import QuerySample
from tests.helpers import ListQSL, read_detail

US = 1_000


def _columns(n: int, gap: int, lags: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    scheduled = np.arange(n, dtype=np.int64) * gap
    return scheduled, scheduled + np.asarray(lags, dtype=np.int64)


def _assess(scheduled: np.ndarray, issued: np.ndarray) -> RunHealth | None:
    """``assess`` as the runner calls it: on the sorted lags and the last query's times."""
    return assess(
        np.sort(issued - scheduled),
        last_scheduled_ns=int(scheduled[-1]),
        last_issued_ns=int(issued[-1]),
        start_ns=0,
    )


def test_on_schedule_is_healthy() -> None:
    scheduled, issued = _columns(2000, 100 * US, [5 * US] * 2000)
    health = _assess(scheduled, issued)
    assert health is not None
    assert not health.fell_behind and health.warnings == ()
    assert health.issue_lag_p99_ns == 5 * US
    assert health.scheduled_qps == pytest.approx(2000 / (1999 * 100e-6))
    assert health.achieved_fraction == pytest.approx(1.0, abs=1e-4)


def test_a_growing_backlog_is_reported() -> None:
    n = 2000
    scheduled, issued = _columns(n, 100 * US, [k * 10 * US for k in range(n)])  # +10% per gap
    health = _assess(scheduled, issued)
    assert health is not None and health.fell_behind
    assert health.achieved_fraction == pytest.approx(1 / 1.1, rel=1e-3)
    assert health.warnings[0].startswith("asyncgen fell behind its schedule: issued ")
    assert "(90.9%)" in health.warnings[0]
    assert health.reasons[0] == "issued 90.9% of the scheduled rate, the last query 19.990 ms late"


def test_bursts_are_reported_only_above_a_millisecond() -> None:
    n = 2000
    lags = [0] * (n - 40) + [3_000 * US] * 40  # the last 2% went out 3 ms late
    scheduled, issued = _columns(n, 100 * US, lags)
    health = _assess(scheduled, issued)
    assert health is not None and health.fell_behind
    assert any(
        w.startswith("asyncgen issued in bursts: p99 issue lag 3.000 ms") for w in health.warnings
    )
    assert health.reasons[-1] == "issued in bursts (p99 issue lag 3.000 ms)"
    # At 1 µs gaps, 500 µs of lag is many gaps, but below the millisecond floor.
    scheduled, issued = _columns(n, 1 * US, [0] * (n - 40) + [500 * US] * 40)
    health = _assess(scheduled, issued)
    assert health is not None
    assert not any("bursts" in w for w in health.warnings)
    assert health.issue_lag_p99_ns > LAG_GAPS * health.mean_interarrival_ns


def test_the_bursts_warning_ends_with_the_remedy_it_is_given() -> None:
    n = 2000
    scheduled, issued = _columns(n, 100 * US, [0] * (n - 40) + [3_000 * US] * 40)
    lags = np.sort(issued - scheduled)
    ends = dict(last_scheduled_ns=int(scheduled[-1]), last_issued_ns=int(issued[-1]), start_ns=0)
    default = assess(lags, **ends)
    assert default is not None and default.warnings[-1].endswith(BURSTS_REMEDY)
    worded = assess(lags, **ends, bursts_remedy="Try --pacing precise.")
    assert worded is not None
    assert worded.warnings[-1].endswith("rather than on schedule. Try --pacing precise.")
    assert worded.to_dict()["reasons"] == list(worded.reasons)


def test_short_runs_are_not_judged() -> None:
    n = MIN_QUERIES - 1
    scheduled, issued = _columns(n, 100 * US, [k * 50 * US for k in range(n)])
    health = _assess(scheduled, issued)
    assert health is not None and not health.fell_behind
    assert _assess(*_columns(1, 100 * US, [0])) is None


class _SlowSUT:
    """Takes 200 µs of (fake) time per query at 10k QPS: the generator must fall behind."""

    name = "slow"

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self._clock.advance(200 * US)
        for sample in samples:
            sample.complete()

    async def flush_queries(self) -> None:
        pass


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("entry", "spelling"),
    [("api", 'clock=asyncgen.MonotonicClock("precise")'), ("cli", "--pacing precise")],
)
async def test_a_run_that_fell_behind_warns_in_the_detail_log(
    tmp_path: Path, entry: Entry, spelling: str
) -> None:
    clock = FakeClock(10**12)
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        server_target_qps=10_000,
        min_duration_ms=200,
        min_query_count=MIN_QUERIES,
        server_target_latency_ns=10**12,  # latency is not what this test is about
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)), enable_trace=False
    )
    result = await asyncgen.run_test(
        _SlowSUT(clock),
        ListQSL(),
        settings,
        log_settings=log,
        audit_config=None,
        clock=clock,
        _entry=entry,
    )
    assert result.health is not None and result.health.fell_behind
    assert result.health.achieved_fraction == pytest.approx(0.5, rel=0.01)
    warnings = [
        e["value"] for e in read_detail(result.files["detail"]) if e["metadata"]["is_warning"]
    ]
    assert warnings == list(result.health.warnings)
    assert result.warning_messages == tuple(warnings)
    assert result.to_dict()["warning_messages"] == warnings
    bursts = next(w for w in warnings if w.startswith("asyncgen issued in bursts"))
    assert f"Use precise pacing ({spelling})" in bursts  # worded for how the run was started
    assert result.warnings == len(warnings) >= 1
    assert result.to_dict()["health"]["fell_behind"] is True
    summary = result.files["summary"].read_text()
    assert f"\n{len(warnings)} warnings encountered. See detailed log.\n" in summary
