"""What a run's arrivals are tested against: the arrival process it asked for.

The detail log records any process other than the reference's Poisson (``arrival_process``:
constant, gamma, a trace, a ramp-up), and the options under which arrivals depend on
completions (``session_options``). ``arrival_model`` turns them into the distribution the
inter-arrival times should follow — in operational time, with a ramp-up undone — with its
quantile function for Q-Q plots; a trace's own gaps are the distribution of a trace replay.
Closed-loop users and later turns of conversations arrive when earlier queries complete, so
such runs have no arrival process to test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from asyncgen._plan.arrivals import ArrivalProcess, process_from_dict
from asyncgen.report._arrays import NS_PER_S, FloatArray, IntArray
from asyncgen.report._deps import scipy_stats
from asyncgen.report._fidelity import QQ_POINTS, KSResult, QQData

Function = Callable[[FloatArray], FloatArray]


@attrs.frozen(kw_only=True)
class ArrivalModel:
    """The inter-arrival distribution a run asked for (seconds), and how to get there."""

    label: str  # for the figure: "Exp(200/s)", "Gamma(0.5) at 200/s", ...
    cdf: Function
    ppf: Function
    process: ArrivalProcess

    def gaps_s(self, times_ns: IntArray, origin_ns: int) -> FloatArray:
        """Gaps between ``times_ns`` (any order), in operational time from ``origin_ns``."""
        operational = self.process.operational_ns(np.sort(times_ns) - origin_ns)
        gaps: FloatArray = np.diff(operational) / NS_PER_S
        return gaps


def arrival_model(
    arrival: Mapping[str, Any] | None,
    sessions: Mapping[str, Any] | None,
    target_qps: float,
    scheduled_ns: IntArray,
) -> ArrivalModel | str:
    """The model of the run's arrivals, or why there is none to test."""
    sessions = sessions or {}
    if sessions.get("concurrency"):
        return "a closed loop sends each request when one completes: no arrival process"
    if sessions.get("multi_turn"):
        return "later turns of conversations follow their answers: no arrival process"
    process = process_from_dict(dict(arrival)) if arrival else None
    if process is None:
        if target_qps <= 0:
            return "no target rate"
        process = ArrivalProcess(kind="poisson", rate_qps=target_qps)
    rate = process.rate_qps
    stats = scipy_stats()
    match process.kind:
        case "poisson":
            frozen = stats.expon(scale=1.0 / rate)
            label = f"Exp({rate:g}/s)"
        case "gamma":
            shape = process.burstiness
            frozen = stats.gamma(shape, scale=1.0 / (rate * shape))
            label = f"Gamma(shape {shape:g}) at {rate:g}/s"
        case "constant":
            return _constant(process)
        case _:  # a trace: its own gaps, as scheduled
            gaps: FloatArray = np.diff(np.sort(scheduled_ns)).astype(np.float64) / NS_PER_S
            return _empirical(process, gaps)
    if process.ramp_up_ns:
        label += f", ramp-up {process.ramp_up_ns / NS_PER_S:g} s undone"
    return ArrivalModel(label=label, cdf=frozen.cdf, ppf=frozen.ppf, process=process)


def _constant(process: ArrivalProcess) -> ArrivalModel:
    period = 1.0 / process.rate_qps

    def ppf(p: FloatArray) -> FloatArray:
        return np.full(np.shape(p), period)

    return ArrivalModel(
        label=f"constant {process.rate_qps:g}/s", cdf=process.gap_cdf, ppf=ppf, process=process
    )


def _empirical(process: ArrivalProcess, gaps_s: FloatArray) -> ArrivalModel:
    ordered = np.sort(gaps_s)

    def cdf(x: FloatArray) -> FloatArray:
        result: FloatArray = np.searchsorted(ordered, x, side="right") / max(ordered.size, 1)
        return result

    def ppf(p: FloatArray) -> FloatArray:
        result: FloatArray = np.quantile(ordered, p)
        return result

    return ArrivalModel(label="the trace's own gaps", cdf=cdf, ppf=ppf, process=process)


def ks_against(intervals_s: FloatArray, model: ArrivalModel) -> KSResult:
    """Kolmogorov-Smirnov test of ``intervals_s`` against the model (known, not fit)."""
    result = scipy_stats().kstest(intervals_s, model.cdf)
    return KSResult(
        statistic=float(result.statistic), pvalue=float(result.pvalue), count=int(intervals_s.size)
    )


def model_qq(intervals_s: FloatArray, model: ArrivalModel, points: int = QQ_POINTS) -> QQData:
    """Q-Q data against the model at plotting positions ``(i + 0.5) / n`` (thinned)."""
    ordered = np.sort(intervals_s)
    n = int(ordered.size)
    picks = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.int64))
    probabilities = (picks + 0.5) / n
    return QQData(
        probabilities=probabilities,
        expected_ms=np.asarray(model.ppf(probabilities), dtype=np.float64) * 1e3,
        observed_ms=ordered[picks] * 1e3,
    )
