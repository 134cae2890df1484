"""The drain after a SUT raised: it waits for what the SUT accepted, not for the failed call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from asyncgen._config.effective import effective_settings
from asyncgen._engine.clock import FakeClock
from asyncgen._engine.drain import Drain, pace_and_drain
from asyncgen._engine.sample import QuerySample
from asyncgen._engine.series import Schedule, Series
from asyncgen._engine.shapers import ShaperContext
from asyncgen.settings import TestScenario, TestSettings
from tests.helpers import make_plan, open_writer


class _RaisesOnThirdCall:
    """Accepts two queries and answers them 20 ms later; raises on the third."""

    name = "raises-on-third-call"

    def __init__(self) -> None:
        self.calls = 0

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("third call")
        for sample in samples:
            asyncio.get_running_loop().call_later(0.02, sample.complete, b"")

    async def flush_queries(self) -> None:
        pass


@pytest.mark.asyncio
async def test_the_drain_skips_only_the_call_that_raised(tmp_path: Path) -> None:
    # A fake clock that never moves stamps every query at the same time, so the calls
    # cannot be told apart by their issue times: the shaper has to say which one raised.
    clock = FakeClock()
    offsets = [0, 0, 0, 0]
    settings = TestSettings(scenario=TestScenario.Server)
    eff, _ = effective_settings(settings, 16, 64)
    writer = open_writer(tmp_path)
    series = Series(
        make_plan(offsets),
        clock=clock,
        events=writer,
        log_all_responses=False,
        log_mask=np.zeros(len(offsets), dtype=bool),
        use_tokens=False,
        needs_first_token=True,
        schedule=Schedule.PLAN,
    )
    sut = _RaisesOnThirdCall()
    ctx = ShaperContext(
        series=series, sut=sut, settings=eff, accuracy=False, clock=clock, events=writer
    )
    drain = Drain(writer, 5_000, [])
    with pytest.raises(RuntimeError, match="third call"):
        await pace_and_drain(ctx, drain)
    assert series.failed_call == range(2, 3)
    assert drain.missing == [(2, 2)]  # (seq_id, qsl_idx): the accepted samples completed
