"""The sweep's choice of steps, exactly, against a modelled server (no runs)."""

from __future__ import annotations

import pytest

from asyncgen._run.sweep import (
    StepSpec,
    SweepOutcome,
    SweepStep,
    best,
    bisection_bounds,
    next_bisection,
    round_rate,
    spread_rates,
    sweep_auto,
    sweep_document,
    sweep_rates,
)


def _step(
    spec: StepSpec, *, achieved: float, met: bool, scheduled: float | None = None
) -> SweepStep:
    return SweepStep(
        spec=spec,
        outdir=spec.label,
        achieved_rps=achieved,
        scheduled_rps=scheduled,
        ttft_p50_ms=None,
        ttft_p99_ms=None,
        tpot_p50_ms=None,
        tpot_p99_ms=None,
        e2e_p50_ms=10.0,
        e2e_p99_ms=20.0,
        goodput_rps=achieved if met else 0.0,
        slos_met=met,
        issue_lag_p99_ms=0.1,
        valid=True,
    )


class ModelServer:
    """Serves up to ``capacity`` requests/s; meets the SLOs up to ``slo_rate``."""

    def __init__(self, capacity: float, slo_rate: float) -> None:
        self.capacity, self.slo_rate = capacity, slo_rate
        self.ran: list[StepSpec] = []

    async def run_step(self, spec: StepSpec) -> SweepStep:
        self.ran.append(spec)
        if spec.kind == "saturation":
            return _step(spec, achieved=self.capacity, met=False)
        assert spec.value is not None
        achieved = min(spec.value, self.capacity)
        return _step(spec, achieved=achieved, met=spec.value <= self.slo_rate)


def test_spread_rates_are_even_up_to_the_saturation_rate() -> None:
    assert spread_rates(100.0, 4) == [25.0, 50.0, 75.0, 100.0]
    assert spread_rates(10.0, 3) == [3.333, 6.667, 10.0]
    assert round_rate(123.456789) == 123.5


def test_bisection_bounds_and_midpoints() -> None:
    steps = [
        _step(StepSpec("rate", 25.0), achieved=25, met=True),
        _step(StepSpec("rate", 50.0), achieved=50, met=True),
        _step(StepSpec("rate", 75.0), achieved=70, met=False),
        _step(StepSpec("rate", 100.0), achieved=70, met=False),
    ]
    assert bisection_bounds(steps) == (50.0, 75.0)
    assert next_bisection(steps, 100.0, precision=0.02) == 62.5
    assert next_bisection(steps, 100.0, precision=0.25) is None  # 25 apart is close enough
    every_rate_met = steps[:2]
    assert bisection_bounds(every_rate_met) == (50.0, None)
    assert next_bisection(every_rate_met, 100.0, 0.02) is None
    none_met = steps[2:]
    assert bisection_bounds(none_met) == (0.0, 75.0)
    assert next_bisection(none_met, 100.0, 0.02) == 37.5


def test_best_is_the_highest_rate_that_met_the_slos() -> None:
    steps = [
        _step(StepSpec("saturation"), achieved=90, met=True),
        _step(StepSpec("rate", 20.0), achieved=20, met=True),
        _step(StepSpec("rate", 60.0), achieved=55, met=False),
        _step(StepSpec("rate", 40.0), achieved=40, met=True),
    ]
    assert best(steps) == 40.0
    assert best(steps[2:3]) is None
    assert SweepOutcome(steps=tuple(steps)).best_concurrency is None


@pytest.mark.asyncio
async def test_rates_run_ascending_and_stop_past_saturation() -> None:
    server = ModelServer(capacity=50, slo_rate=40)
    outcome = await sweep_rates([80, 20, 40, 60, 100, 40], server.run_step, stop_below=0.9)
    # 60 achieves 50 < 0.9 * 60: clearly past saturation, so 80 and 100 never run
    assert [s.value for s in server.ran] == [20, 40, 60]
    assert outcome.best_rate == 40
    assert outcome.stopped is not None and "rate-60" in outcome.stopped
    document = sweep_document(outcome, slo_percentile=0.99)
    assert document["best_rate"] == 40
    assert [s["rate"] for s in document["steps"]] == [20, 40, 60]
    assert document["steps"][0]["outdir"] == "rate-20"


@pytest.mark.asyncio
async def test_stop_below_zero_never_stops_and_uses_the_scheduled_rate() -> None:
    server = ModelServer(capacity=50, slo_rate=40)
    outcome = await sweep_rates([20, 60, 100], server.run_step, stop_below=0)
    assert len(outcome.steps) == 3 and outcome.stopped is None
    # the plan's own rate, when known, is what achieved is compared with
    step = _step(StepSpec("rate", 100.0), achieved=85, met=False, scheduled=90.0)
    assert not step.past_saturation(0.9) and step.past_saturation(0.95)


@pytest.mark.asyncio
async def test_auto_spreads_then_bisects_within_a_bounded_number_of_steps() -> None:
    server = ModelServer(capacity=100, slo_rate=66)
    outcome = await sweep_auto(server.run_step, steps=4, bisect_steps=3, precision=0.02)
    ran = [(s.kind, s.value) for s in server.ran]
    # saturation, then 25, 50, 75 (missed: stop spreading), then 62.5, 68.75, 65.62
    assert ran == [
        ("saturation", None),
        ("rate", 25.0),
        ("rate", 50.0),
        ("rate", 75.0),
        ("rate", 62.5),
        ("rate", 68.75),
        ("rate", 65.62),
    ]
    assert outcome.best_rate == 65.62
    assert outcome.saturation_rps == 100
    assert len(outcome.steps) <= 1 + 4 + 3


@pytest.mark.asyncio
async def test_auto_with_every_rate_met_needs_no_bisection() -> None:
    server = ModelServer(capacity=100, slo_rate=1000)
    outcome = await sweep_auto(server.run_step, steps=2, bisect_steps=5)
    assert [s.value for s in server.ran] == [None, 50.0, 100.0]
    assert outcome.best_rate == 100.0


@pytest.mark.asyncio
async def test_auto_bisects_below_the_first_rate_when_none_met() -> None:
    server = ModelServer(capacity=100, slo_rate=10)
    outcome = await sweep_auto(server.run_step, steps=4, bisect_steps=2)
    assert [s.value for s in server.ran] == [None, 25.0, 12.5, 6.25]
    assert outcome.best_rate == 6.25


@pytest.mark.asyncio
async def test_auto_stops_when_the_saturation_step_completed_nothing() -> None:
    server = ModelServer(capacity=0, slo_rate=10)
    outcome = await sweep_auto(server.run_step)
    assert len(outcome.steps) == 1 and outcome.best_rate is None
    assert outcome.stopped == "the saturation step completed no request"
