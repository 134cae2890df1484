"""The Server shaper sends each arrival process on its plan, against a fake clock: every query
at its scheduled time, so the sent gaps follow the process asked for (KS, seeded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from asyncgen._config.effective import effective_settings
from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from asyncgen._engine.shapers import SCHEDULES, SHAPERS, ShaperContext
from asyncgen._plan.arrivals import arrival_process
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen._plan.trace import read_trace
from asyncgen.settings import TestScenario, TestSettings
from tests.helpers import RecordingSUT, complete_after, open_writer

S = 1e9
LOADED = LoadableSet(indices=tuple(range(32)), distribution_end=32)


def _trace(tmp_path: Path) -> str:
    stamps = np.cumsum(np.random.default_rng(4).gamma(0.5, 4.0, 1500))  # ms
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps({"timestamp": round(float(t), 3)}) + "\n" for t in stamps))
    return str(path)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"server_arrival": "gamma", "server_burstiness": 0.5},
        {"server_arrival": "gamma", "server_burstiness": 4.0},
        {"server_arrival": "constant"},
        {"server_ramp_up_ms": 1000},
        {"server_arrival": "gamma", "server_burstiness": 0.5, "server_ramp_up_ms": 1000},
        {"server_arrival": "trace"},
    ],
)
async def test_sent_gaps_follow_the_process(tmp_path: Path, fields: dict[str, object]) -> None:
    if fields.get("server_arrival") == "trace":
        fields = {**fields, "server_trace_path": _trace(tmp_path)}
    settings = TestSettings(
        scenario=TestScenario.Server,
        server_target_qps=500,
        min_duration_ms=3000,
        min_query_count=100,
        schedule_rng_seed=17,
        **fields,  # type: ignore[arg-type]
    )
    eff, _ = effective_settings(settings, 32, 32)
    trace = read_trace(settings.server_trace_path) if settings.server_trace_path else None
    process = arrival_process(eff, trace)
    plan = generate_queries(eff, LOADED, accuracy=False, seq=SequenceGen(), arrivals=process)
    clock = FakeClock(10**12)
    sut = RecordingSUT(complete_after(clock, 0))
    series = Series(
        plan,
        clock=clock,
        events=open_writer(tmp_path),
        log_all_responses=False,
        log_mask=np.zeros(0, dtype=bool),
        use_tokens=False,
        needs_first_token=True,
        server=True,
        schedule=SCHEDULES[TestScenario.Server],
    )
    ctx = ShaperContext(
        series=series, sut=sut, settings=eff, accuracy=False, clock=clock, events=series.events
    )
    await SHAPERS[TestScenario.Server](ctx)
    n = plan.query_count
    issued = series.issued(np.arange(n))
    assert np.array_equal(issued, series.scheduled(np.arange(n)))  # each at its planned time
    assert len(sut.calls) == n
    sent = np.diff(process.operational_ns(issued - series.start_ns)) / S
    if process.kind == "constant":
        assert np.allclose(sent, 1 / 500, atol=1e-9)
    else:
        assert stats.kstest(sent, process.gap_cdf).pvalue > 0.01
