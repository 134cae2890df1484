"""A latency objective in your own test suite (pytest + pytest-asyncio).

The test starts the service under test (here the digits model server) on 127.0.0.1, drives it
with a short Server-scenario run and asserts on the returned ``TestResult``: the verdict, the
p99 latency and that no request failed. Run it with

    pytest examples/test_latency_objective.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

import asyncgen
from asyncgen.http import HttpSUT
from examples.digits_model import DigitsQSL, load_split, train
from examples.digits_server import start

OBJECTIVE_P99_MS = 100


@pytest.mark.asyncio
async def test_predict_meets_its_p99_objective(tmp_path: Path) -> None:
    split = load_split()
    runner, url = await start(train(split))
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        server_target_qps=100,
        server_target_latency_ns=OBJECTIVE_P99_MS * 1_000_000,
        min_duration_ms=1_000,
        min_query_count=50,
        server_target_latency_percentile=0.9,  # few queries: judge at p90, check p99 below
    )
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)))
    try:
        qsl = DigitsQSL(split)
        async with HttpSUT(f"{url}/predict", qsl) as sut:
            result = await asyncgen.run_test(
                sut, qsl, settings, log_settings=log, audit_config=None
            )
    finally:
        await runner.cleanup()
    assert result.valid, result.reasons
    assert result.failures == {}
    assert result.summary is not None
    assert result.summary.sample_latency.percentiles_ns[0.99] < OBJECTIVE_P99_MS * 1_000_000
