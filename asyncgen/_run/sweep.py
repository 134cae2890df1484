"""Sweeps: a series of full runs at rising load, and the highest rate that met the SLOs.

The steps are chosen here, the runs are made by whoever drives the sweep (``asyncgen sweep``):
a driver hands ``sweep_rates``/``sweep_auto``/``sweep_concurrencies`` a ``run_step`` coroutine
that runs one ``StepSpec`` and returns its ``SweepStep``. The choice is a pure function of the
steps' outcomes, so it is tested without a server.

* A list of rates runs in ascending order.
* ``auto`` (GuideLLM's ``sweep`` profile, refined like FindPeakPerformance): an unthrottled
  step measures the saturation throughput R; rates ``R·i/K`` for ``i = 1..K`` follow in
  ascending order until one misses the SLOs; then the rate is bisected between the highest
  rate that met them and the lowest that did not, at most ``bisect_steps`` times or until the
  two are within ``precision·R``. At most ``1 + K + bisect_steps`` steps.
* A list of concurrencies (closed loops of N requests in flight) runs in ascending order.

Every kind stops after the first step clearly past saturation: one whose achieved rate is
below ``stop_below`` times its scheduled rate (0 never stops).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import attrs

from asyncgen._metrics.goodput import Goodput
from asyncgen._metrics.statistics import LatencyStats
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._run.result import TestResult

StepKind = Literal["rate", "concurrency", "saturation"]
SIGNIFICANT_DIGITS = 4  # rates the sweep chooses are rounded to this many digits
DEFAULT_STOP_BELOW = 0.8
DEFAULT_AUTO_STEPS = 5
DEFAULT_BISECT_STEPS = 3
DEFAULT_PRECISION = 0.02


@attrs.frozen
class StepSpec:
    """One step to run: a Poisson rate, a closed-loop concurrency, or the saturation step."""

    kind: StepKind
    value: float | None = None  # requests/s for a rate, requests in flight for a concurrency

    @property
    def label(self) -> str:
        """A folder-name-friendly label: ``rate-37.5``, ``concurrency-4``, ``saturation``."""
        if self.value is None:
            return self.kind
        return f"{self.kind}-{self.value:g}"


@attrs.frozen(kw_only=True)
class SweepStep:
    """What one step of a sweep measured (the ``steps`` entries of ``sweep.json``)."""

    spec: StepSpec
    outdir: str
    achieved_rps: float  # answered requests / (series start to last answer)
    scheduled_rps: float | None  # the plan's own rate (Server); None for closed loops
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    tpot_p50_ms: float | None
    tpot_p99_ms: float | None
    e2e_p50_ms: float | None
    e2e_p99_ms: float | None
    goodput_rps: float | None
    slos_met: bool
    issue_lag_p99_ms: float | None
    valid: bool

    @property
    def rate(self) -> float | None:
        """The target rate of a rate step."""
        return self.spec.value if self.spec.kind == "rate" else None

    @property
    def concurrency(self) -> int | None:
        """The concurrency of a concurrency step."""
        return int(self.spec.value) if self.spec.kind == "concurrency" and self.spec.value else None

    def past_saturation(self, stop_below: float) -> bool:
        """Whether the achieved rate fell below ``stop_below`` times the scheduled one."""
        target = self.scheduled_rps if self.scheduled_rps else self.rate
        return bool(stop_below and target and self.achieved_rps < stop_below * target)

    def to_dict(self) -> dict[str, Any]:
        """The ``sweep.json`` entry."""
        return {
            "kind": self.spec.kind,
            "rate": self.rate,
            "concurrency": self.concurrency,
            "achieved_rps": self.achieved_rps,
            "scheduled_rps": self.scheduled_rps,
            "ttft_p50_ms": self.ttft_p50_ms,
            "ttft_p99_ms": self.ttft_p99_ms,
            "tpot_p50_ms": self.tpot_p50_ms,
            "tpot_p99_ms": self.tpot_p99_ms,
            "e2e_p50_ms": self.e2e_p50_ms,
            "e2e_p99_ms": self.e2e_p99_ms,
            "goodput_rps": self.goodput_rps,
            "slos_met": self.slos_met,
            "issue_lag_p99_ms": self.issue_lag_p99_ms,
            "valid": self.valid,
            "outdir": self.outdir,
        }


def _ms(summary: PerformanceSummary | None, field: str, percentile: float) -> float | None:
    """A percentile of one of the summary's latency statistics, in ms (None if absent)."""
    stats: LatencyStats | None = None if summary is None else getattr(summary, field)
    if stats is None:
        return None
    return stats.percentiles_ns[percentile] / 1e6


def step_of(
    spec: StepSpec, result: TestResult, outdir: str, *, judge_slos: bool = True
) -> SweepStep:
    """The ``SweepStep`` of a finished run. With ``judge_slos`` (the sweep has SLOs) the step
    met them when every SLO holds at its percentile; without, when the run met LoadGen's own
    performance constraints (the latency bound, as FindPeakPerformance judges a probe)."""
    summary, goodput = result.summary, result.goodput
    slos_met = False
    if judge_slos and goodput is not None:
        slos_met = goodput.slos_met
    elif summary is not None:
        slos_met = summary.perf_constraints_met and not result.missing_samples
    lag = result.issue_lag
    scheduled = None
    if spec.kind == "rate" and result.health is not None:
        scheduled = result.health.scheduled_qps
    return SweepStep(
        spec=spec,
        outdir=outdir,
        achieved_rps=_achieved(goodput),
        scheduled_rps=scheduled,
        ttft_p50_ms=_ms(summary, "first_token_latency", 0.5),
        ttft_p99_ms=_ms(summary, "first_token_latency", 0.99),
        tpot_p50_ms=_ms(summary, "time_per_output_token", 0.5),
        tpot_p99_ms=_ms(summary, "time_per_output_token", 0.99),
        e2e_p50_ms=_ms(summary, "sample_latency", 0.5),
        e2e_p99_ms=_ms(summary, "sample_latency", 0.99),
        goodput_rps=goodput.requests_per_second if goodput is not None else None,
        slos_met=slos_met,
        issue_lag_p99_ms=lag.percentiles_ns[0.99] / 1e6 if lag.count else None,
        valid=result.valid,
    )


def _achieved(goodput: Goodput | None) -> float:
    return goodput.achieved_requests_per_second if goodput is not None else 0.0


def round_rate(rate: float) -> float:
    """``rate`` to ``SIGNIFICANT_DIGITS`` significant digits."""
    return float(f"{rate:.{SIGNIFICANT_DIGITS}g}")


def spread_rates(saturation_rps: float, steps: int) -> list[float]:
    """``steps`` rates evenly spaced up to the saturation throughput: ``R·i/steps``."""
    return [round_rate(saturation_rps * i / steps) for i in range(1, steps + 1)]


def bisection_bounds(steps: Sequence[SweepStep]) -> tuple[float, float | None]:
    """The highest rate that met the SLOs (0 if none did) and the lowest rate above it that
    did not (None if none did not)."""
    rated = [s for s in steps if s.rate is not None]
    met = [s.rate for s in rated if s.slos_met and s.rate is not None]
    low = max(met, default=0.0)
    missed = [s.rate for s in rated if not s.slos_met and s.rate is not None and s.rate > low]
    return low, min(missed, default=None)


def next_bisection(
    steps: Sequence[SweepStep], saturation_rps: float, precision: float
) -> float | None:
    """The next rate to try between the bounds, or None when they are close enough (or
    there is no upper bound: every rate met the SLOs)."""
    low, high = bisection_bounds(steps)
    if high is None or high - low <= precision * saturation_rps:
        return None
    mid = round_rate((low + high) / 2)
    return None if mid in (low, high) else mid


def best(steps: Sequence[SweepStep], kind: StepKind = "rate") -> float | None:
    """The highest rate (or concurrency) of ``kind`` whose step met the SLOs, or None."""
    values = [s.spec.value for s in steps if s.spec.kind == kind and s.slos_met]
    return max((v for v in values if v is not None), default=None)


RunStep = Callable[[StepSpec], Awaitable[SweepStep]]


@attrs.frozen(kw_only=True)
class SweepOutcome:
    """The steps run, and why the sweep stopped early (None if it ran them all)."""

    steps: tuple[SweepStep, ...]
    stopped: str | None = None
    saturation_rps: float | None = None

    @property
    def best_rate(self) -> float | None:
        """The highest rate whose step met the SLOs."""
        return best(self.steps, "rate")

    @property
    def best_concurrency(self) -> int | None:
        """The highest concurrency whose step met the SLOs."""
        value = best(self.steps, "concurrency")
        return None if value is None else int(value)


async def _ascending(
    specs: Sequence[StepSpec], run_step: RunStep, stop_below: float, *, stop_on_miss: bool
) -> tuple[list[SweepStep], str | None]:
    steps: list[SweepStep] = []
    for spec in specs:
        step = await run_step(spec)
        steps.append(step)
        if step.past_saturation(stop_below):
            return steps, (
                f"{spec.label}: achieved {step.achieved_rps:.4g} requests/s, below "
                f"{stop_below:g} of the scheduled rate: past saturation"
            )
        if stop_on_miss and not step.slos_met:
            break  # higher rates would miss them too
    return steps, None


async def sweep_rates(
    rates: Sequence[float], run_step: RunStep, *, stop_below: float = DEFAULT_STOP_BELOW
) -> SweepOutcome:
    """One step per rate, ascending, until one is past saturation."""
    specs = [StepSpec("rate", r) for r in sorted(set(rates))]
    steps, stopped = await _ascending(specs, run_step, stop_below, stop_on_miss=False)
    return SweepOutcome(steps=tuple(steps), stopped=stopped)


async def sweep_concurrencies(
    concurrencies: Sequence[int], run_step: RunStep, *, stop_below: float = DEFAULT_STOP_BELOW
) -> SweepOutcome:
    """One closed-loop step per concurrency, ascending."""
    specs = [StepSpec("concurrency", float(c)) for c in sorted(set(concurrencies))]
    steps, stopped = await _ascending(specs, run_step, stop_below, stop_on_miss=False)
    return SweepOutcome(steps=tuple(steps), stopped=stopped)


async def sweep_auto(
    run_step: RunStep,
    *,
    steps: int = DEFAULT_AUTO_STEPS,
    bisect_steps: int = DEFAULT_BISECT_STEPS,
    precision: float = DEFAULT_PRECISION,
    stop_below: float = DEFAULT_STOP_BELOW,
) -> SweepOutcome:
    """Saturation step, spread rates up to it, then bisect on the SLO verdict."""
    saturation = await run_step(StepSpec("saturation"))
    rate = saturation.achieved_rps
    if rate <= 0:
        return SweepOutcome(steps=(saturation,), stopped="the saturation step completed no request")
    done, stopped = await _ascending(
        [StepSpec("rate", r) for r in spread_rates(rate, steps)],
        run_step,
        stop_below,
        stop_on_miss=True,
    )
    for _ in range(bisect_steps):
        mid = next_bisection(done, rate, precision)
        if mid is None:
            break
        done.append(await run_step(StepSpec("rate", mid)))
    return SweepOutcome(steps=(saturation, *done), stopped=stopped, saturation_rps=rate)


def sweep_document(outcome: SweepOutcome, **context: Any) -> dict[str, Any]:
    """What ``sweep.json`` holds: ``best_rate``, ``best_concurrency``, ``steps`` and the
    sweep's own settings (``context``)."""
    return {
        "best_rate": outcome.best_rate,
        "best_concurrency": outcome.best_concurrency,
        "saturation_rps": outcome.saturation_rps,
        "stopped": outcome.stopped,
        **context,
        "steps": [step.to_dict() for step in outcome.steps],
    }
