"""The run's own health: did the load generator keep to its schedule?

Latency is measured from each query's scheduled time, so a generator that issues late adds
its lateness to every latency, and one that falls behind offers less load than asked. Two
signs say the generator itself fell behind, judged on the reported performance series:

* **backlog**: the achieved issue rate (queries over the span from the start to the last
  issue) is below 99% of the scheduled rate (queries over the span of scheduled times), and
  the last query went out more than ``LAG_GAPS`` mean inter-arrival times late;
* **bursts**: the p99 issue lag exceeds ``LAG_GAPS`` mean inter-arrival times and
  ``MIN_P99_LAG_NS``: queries left in clumps rather than on their Poisson schedule.

A third sign concerns the arrivals' shape rather than their lateness: **fidelity**, how
closely the gaps between the times queries were sent follow the arrival process that was asked
for (``asyncgen._metrics.fidelity``: a Kolmogorov-Smirnov statistic, warned about when poor).

Runs of fewer than ``MIN_QUERIES`` queries are too short to judge (a p99 over a few hundred
lags is one unlucky wake-up). Closed-loop scenarios schedule each query when it is issued, so
they are always healthy by this measure.

Each sign is a detail-log warning (its diagnosis, then a remedy the caller words for how the
run was started: ``asyncgen._run.advice``) and a short reason for one-line displays.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._engine.series import Schedule, Series
from asyncgen._metrics.fidelity import ArrivalFidelity, GapModel, arrival_fidelity

BEHIND_RATE = 0.99  # achieved / scheduled below this is a backlog
LAG_GAPS = 10  # lateness measured in mean inter-arrival times
MIN_P99_LAG_NS = 1_000_000  # below a millisecond, lateness is never called a burst
MIN_QUERIES = 1000
BURSTS_REMEDY = "Use precise pacing, a less loaded machine, or a lower target QPS."


@attrs.frozen(kw_only=True)
class RunHealth:
    """How well the generator kept to its schedule in the reported performance series, and
    (``fidelity``, Server runs) how closely its arrivals followed the process asked for."""

    queries: int
    scheduled_qps: float  # queries / (last scheduled time - start)
    achieved_qps: float  # queries / (last issue time - start)
    mean_interarrival_ns: float
    issue_lag_p99_ns: int
    final_issue_lag_ns: int
    fell_behind: bool  # a backlog or bursts (see the module docstring)
    warnings: tuple[str, ...]  # every warning, poor arrival fidelity's included
    fidelity: ArrivalFidelity | None = None  # Server runs: the sent arrivals against the process
    # one short phrase per warning, e.g. "issued in bursts (p99 issue lag 4.500 ms)"
    reasons: tuple[str, ...] = ()

    @property
    def achieved_fraction(self) -> float:
        """The achieved issue rate as a fraction of the scheduled one (1.0 without a rate)."""
        return self.achieved_qps / self.scheduled_qps if self.scheduled_qps else 1.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with ``achieved_fraction``."""
        return {
            "queries": self.queries,
            "scheduled_qps": self.scheduled_qps,
            "achieved_qps": self.achieved_qps,
            "achieved_fraction": self.achieved_fraction,
            "mean_interarrival_ns": self.mean_interarrival_ns,
            "issue_lag_p99_ns": self.issue_lag_p99_ns,
            "final_issue_lag_ns": self.final_issue_lag_ns,
            "fell_behind": self.fell_behind,
            "arrival_fidelity": None if self.fidelity is None else self.fidelity.to_dict(),
            "warnings": list(self.warnings),
            "reasons": list(self.reasons),
        }

    def with_fidelity(self, fidelity: ArrivalFidelity | None) -> RunHealth:
        """This health with the arrival fidelity, and its warning if it is poor."""
        if fidelity is None:
            return self
        if not fidelity.poor:
            return attrs.evolve(self, fidelity=fidelity)
        return attrs.evolve(
            self,
            fidelity=fidelity,
            warnings=(*self.warnings, fidelity_warning(fidelity)),
            reasons=(*self.reasons, f"arrivals bunched (KS D {fidelity.ks_statistic:.3f})"),
        )


def assess(
    sorted_lags: npt.NDArray[np.int64],
    *,
    last_scheduled_ns: int,
    last_issued_ns: int,
    start_ns: int,
    bursts_remedy: str = BURSTS_REMEDY,
) -> RunHealth | None:
    """Health of one series from its sorted issue lags and its last query's times; None
    without a schedule span. ``bursts_remedy`` ends the bursts warning."""
    n = int(sorted_lags.size)
    if n < 2:
        return None
    scheduled_span = last_scheduled_ns - start_ns
    issued_span = last_issued_ns - start_ns
    if scheduled_span <= 0 or issued_span <= 0:
        return None
    p99 = int(sorted_lags[min(n - 1, int(n * 0.99))])
    final_lag = last_issued_ns - last_scheduled_ns
    gap = scheduled_span / (n - 1)
    scheduled_qps, achieved_qps = n * 1e9 / scheduled_span, n * 1e9 / issued_span
    warnings: list[str] = []
    reasons: list[str] = []
    if n >= MIN_QUERIES:
        if achieved_qps < BEHIND_RATE * scheduled_qps and final_lag > LAG_GAPS * gap:
            percent = f"{100 * achieved_qps / scheduled_qps:.1f}%"
            warnings.append(
                "asyncgen fell behind its schedule: issued "
                f"{achieved_qps:.2f} queries/s of {scheduled_qps:.2f} scheduled "
                f"({percent}); the last query went out "
                f"{_ms(final_lag)} late. The load generator, not the SUT, "
                "limited the offered load: lower the target QPS or give the run more CPU."
            )
            reasons.append(
                f"issued {percent} of the scheduled rate, the last query {_ms(final_lag)} late"
            )
        if p99 > LAG_GAPS * gap and p99 > MIN_P99_LAG_NS:
            warnings.append(
                f"asyncgen issued in bursts: p99 issue lag {_ms(p99)} is more "
                f"than {LAG_GAPS} mean inter-arrival times ({_ms(int(gap))}), "
                f"so queries left in clumps rather than on schedule. {bursts_remedy}"
            )
            reasons.append(f"issued in bursts (p99 issue lag {_ms(p99)})")
    return RunHealth(
        queries=n,
        scheduled_qps=scheduled_qps,
        achieved_qps=achieved_qps,
        mean_interarrival_ns=gap,
        issue_lag_p99_ns=p99,
        final_issue_lag_ns=final_lag,
        fell_behind=bool(warnings),
        warnings=tuple(warnings),
        reasons=tuple(reasons),
    )


def series_health(
    series: Series,
    sorted_lags: npt.NDArray[np.int64],
    model: GapModel | None = None,
    *,
    coalesced: bool = False,
    bursts_remedy: str = BURSTS_REMEDY,
) -> RunHealth | None:
    """``assess`` on a finished series, given its issue lags sorted; with the arrival
    fidelity when ``model`` gives the process its plan was drawn from (not judged for
    ``coalesced`` queries, which leave in bunches on purpose, nor for a process without a
    continuous gap distribution). ``bursts_remedy`` ends the bursts warning."""
    count = series.queries_issued
    if count < 1:
        return None
    health = assess(
        sorted_lags,
        last_scheduled_ns=series.released_at(count - 1),  # a wait for a slot is not asyncgen's
        last_issued_ns=series.issued_at(count - 1),
        start_ns=series.start_ns,
        bursts_remedy=bursts_remedy,
    )
    if health is None or model is None or series.schedule is not Schedule.PLAN:
        return health
    offsets = series.plan.scheduled_offsets_ns[:count]
    judge = count >= MIN_QUERIES and not coalesced and model.continuous
    return health.with_fidelity(arrival_fidelity(model, offsets, series.issue_lags, judge=judge))


def fidelity_warning(fidelity: ArrivalFidelity) -> str:
    """The warning for poor arrival fidelity."""
    return (
        f"asyncgen's arrivals strayed from the {fidelity.process} process asked for: the gaps "
        f"between the times queries were sent are {fidelity.ks_statistic:.3f} from it "
        f"(Kolmogorov-Smirnov D over {fidelity.gaps:,} gaps; the plan's own gaps: "
        f"{fidelity.planned_ks_statistic:.3f}, poor above {fidelity.threshold_ks:.3f}), so "
        "queries reached the SUT in bunches rather than as asked. The load generator was held "
        "up: give it a core of its own, or lower the target QPS per process."
    )


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.3f} ms"
