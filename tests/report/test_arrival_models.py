"""The report tests a run's arrivals against the process it asked for: gamma, constant, a ramp-up
undone, a trace's own gaps; runs whose arrivals follow completions have none to test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import asyncgen
from asyncgen.report._arrivals import arrival_model, ks_against
from asyncgen.report._figures import ArrivalFidelity, figures, missing_figures
from asyncgen.report._load import load_run


async def _answer(sample: asyncgen.QuerySample) -> bytes:
    return b""


async def _run(outdir: Path, **fields: object) -> asyncgen.TestResult:
    values: dict[str, object] = {
        "scenario": asyncgen.TestScenario.Server,
        "server_target_qps": 1000,
        "min_duration_ms": 400,
        "min_query_count": 300,
        "schedule_rng_seed": 5,
    }
    values.update(fields)
    settings = asyncgen.TestSettings(**values)  # type: ignore[arg-type]
    qsl = asyncgen.SimulatedQSL(total_sample_count=64, performance_sample_count=64)
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(outdir)))
    return await asyncgen.run_test(
        asyncgen.FunctionSUT(_answer), qsl, settings, log_settings=log, audit_config=None
    )


def _fidelity(outdir: Path) -> ArrivalFidelity:
    fig = figures(load_run(outdir))["arrival_fidelity"]
    assert isinstance(fig, ArrivalFidelity)
    return fig


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_gamma_arrivals_are_tested_against_the_gamma(tmp_path: Path) -> None:
    await _run(tmp_path, server_arrival="gamma", server_burstiness=0.5)
    fig = _fidelity(tmp_path)
    assert fig.model == "Gamma(shape 0.5) at 1000/s"
    assert fig.scheduled.pvalue > 1e-3  # seeded: the plan is drawn from this very gamma
    # the exponential would reject the same plan: the test is not a formality
    poisson = arrival_model(None, None, 1000.0, np.zeros(0, dtype=np.int64))
    assert not isinstance(poisson, str)
    assert np.all(np.diff(fig.scheduled_qq.expected_ms) >= 0)
    samples = load_run(tmp_path).samples
    assert samples is not None
    gaps = np.diff(np.sort(samples.scheduled_ns)) / 1e9
    assert ks_against(gaps, poisson).pvalue < 0.01  # seeded, so fixed (here 0.0008)


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_a_ramp_up_is_undone_before_the_test(tmp_path: Path) -> None:
    await _run(tmp_path, server_ramp_up_ms=300)
    fig = _fidelity(tmp_path)
    assert fig.model == "Exp(1000/s), ramp-up 0.3 s undone"
    assert fig.scheduled.pvalue > 1e-3


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_a_trace_is_tested_against_its_own_gaps(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    stamps = np.cumsum(rng.exponential(2.0, 200))  # ms
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps({"timestamp": float(t)}) + "\n" for t in stamps))
    await _run(tmp_path / "out", server_arrival="trace", server_trace_path=str(trace))
    fig = _fidelity(tmp_path / "out")
    assert fig.model == "the trace's own gaps"
    assert fig.scheduled.statistic < 0.01  # the schedule is the trace


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_a_closed_loop_has_no_arrival_process_to_test(tmp_path: Path) -> None:
    await _run(tmp_path, server_concurrency=2, min_query_count=50, min_duration_ms=50)
    run = load_run(tmp_path)
    present = figures(run)
    assert "arrival_fidelity" not in present
    assert "closed loop" in missing_figures(run, present)["arrival_fidelity"]
