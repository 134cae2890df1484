"""The simulated SUT: service-time distributions and its worker queue."""

from __future__ import annotations

import heapq
import random
import statistics

import pytest

import asyncgen
from asyncgen import ServiceTime, SimulatedSUT


@pytest.mark.parametrize("distribution", ["constant", "exponential", "lognormal", "uniform"])
def test_service_time_means_match_the_setting(distribution: str) -> None:
    st = ServiceTime(distribution=distribution, mean_ms=4.0, spread_ms=1.0)  # type: ignore[arg-type]
    rng = random.Random(1)
    draws = [st.sample_s(rng) for _ in range(20_000)]
    assert statistics.fmean(draws) == pytest.approx(0.004, rel=0.03)
    assert min(draws) >= 0


def test_bad_service_times_are_rejected() -> None:
    with pytest.raises(ValueError):
        ServiceTime(mean_ms=0)
    with pytest.raises(ValueError):
        SimulatedSUT(concurrency=0)


def test_workers_serve_in_arrival_order() -> None:
    sut = SimulatedSUT(concurrency=2)
    # Two free workers start at once; the third sample waits for the first to free up.
    assert sut._start_time(0.0) == 0.0
    heapq.heappush(sut._free_at, 5.0)
    assert sut._start_time(0.0) == 0.0
    heapq.heappush(sut._free_at, 3.0)
    assert sut._start_time(1.0) == 3.0
    assert sut._start_time(6.0) == 6.0  # everything done by then


def test_the_demo_scenario_runs_valid(tmp_path: object) -> None:
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        server_target_qps=1000,
        min_duration_ms=300,
        min_query_count=500,
        server_target_latency_ns=10_000_000_000,  # far above a busy machine's stalls
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)), enable_trace=False
    )
    result = asyncgen.run(
        SimulatedSUT(ServiceTime(mean_ms=1.0), concurrency=4),
        asyncgen.SimulatedQSL(),
        settings,
        log_settings=log,
        audit_config=None,
    )
    assert result.valid, result.reasons
    assert result.latencies_ns.min() >= 0
