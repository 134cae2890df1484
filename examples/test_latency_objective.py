"""A latency objective in your own test suite (pytest + pytest-asyncio + asyncgen's plugin).

The test starts the service under test (here the digits model server) on 127.0.0.1 and hands
it to the ``asyncgen_run`` fixture (asyncgen's pytest plugin, loaded by pytest by itself),
which runs a short Server-scenario test and returns the ``TestResult``. ``assert_slos`` fails
the test with the table of the objectives that missed; the run's folder is kept when the test
fails and removed when it passes. Run it with

    pytest examples/test_latency_objective.py
"""

from __future__ import annotations

import pytest

import asyncgen
from asyncgen.http import HttpSUT
from asyncgen.testing import LoadTest, assert_slos
from examples.digits_model import DigitsQSL, load_split, train
from examples.digits_server import start

# A prediction takes well under a millisecond; the limit leaves room for a busy CI machine
# (at p90: a one-second run has too few queries for a steady p99).
OBJECTIVE = asyncgen.ServiceLevelObjectives(e2e_ms=500, percentile=0.9)


@pytest.mark.asyncio
async def test_predict_meets_its_latency_objective(asyncgen_run: LoadTest) -> None:
    split = load_split()
    runner, url = await start(train(split))
    try:
        qsl = DigitsQSL(split)
        async with HttpSUT(f"{url}/predict", qsl) as sut:
            result = await asyncgen_run(sut, qsl, qps=100, duration_ms=1_000, slos=OBJECTIVE)
    finally:
        await runner.cleanup()
    assert_slos(result)
    assert result.failures == {}
