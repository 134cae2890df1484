"""The numbers behind each figure of one run, as plain arrays (no plotting here).

``figures(run)`` returns only the figures the run's data supports; ``missing_figures`` says
why the others are absent. Times are seconds from the first scheduled query of the
performance series; latencies are milliseconds.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from asyncgen.report._arrays import (
    NS_PER_MS,
    NS_PER_S,
    NS_PER_US,
    BoolArray,
    FloatArray,
    IntArray,
    empty_int,
)
from asyncgen.report._arrivals import arrival_model, ks_against, model_qq
from asyncgen.report._binning import (
    Distribution,
    counts_in,
    distribution,
    percentiles_of,
    scatter_subset,
    window_edges,
    window_percentiles,
)
from asyncgen.report._fidelity import (
    GeneratorHealth,
    KSResult,
    QQData,
    generator_health,
    health_from_lags,
    with_schedule_check,
)
from asyncgen.report._load import RunData
from asyncgen.report._token_counts import TokenCountsFigure, token_counts_figure
from asyncgen.report._tokens import TokenFigure, token_figure
from asyncgen.report._trace import TraceSamples

MARKED_PERCENTILES = (0.5, 0.9, 0.95, 0.97, 0.99, 0.999)
MIN_ARRIVALS = 20  # fewer inter-arrival times make no meaningful KS test


@attrs.frozen(kw_only=True)
class LatencyOverTime:
    key: ClassVar[str] = "latency_over_time"
    title: ClassVar[str] = "Latency over time"
    t_s: FloatArray  # scheduled time of each drawn point
    latency_ms: FloatArray
    is_tail: BoolArray  # drawn because among the largest (all of them are drawn)
    drawn_points: int
    total_points: int
    window_start_s: FloatArray
    window_width_s: float
    window_p50_ms: FloatArray  # NaN where a window is empty
    window_p99_ms: FloatArray
    target_ms: float | None
    target_label: str


@attrs.frozen(kw_only=True)
class LatencyDistribution:
    key: ClassVar[str] = "latency_distribution"
    title: ClassVar[str] = "Latency distribution"
    dist_ms: Distribution
    percentiles_ms: dict[float, float]  # the marked percentiles
    percentiles_source: str  # "reported" (the run's own statistics) or "computed"
    from_percentiles_only: bool  # no per-sample data: the CDF is the reported points


@attrs.frozen(kw_only=True)
class Throughput:
    key: ClassVar[str] = "throughput"
    title: ClassVar[str] = "Throughput over time"
    window_start_s: FloatArray
    window_width_s: float
    scheduled_counts: IntArray  # samples scheduled in each window
    completed_counts: IntArray  # samples completed in each window

    @property
    def scheduled_per_s(self) -> FloatArray:
        return self.scheduled_counts / self.window_width_s

    @property
    def completed_per_s(self) -> FloatArray:
        return self.completed_counts / self.window_width_s


@attrs.frozen(kw_only=True)
class InFlight:
    key: ClassVar[str] = "in_flight"
    title: ClassVar[str] = "Samples in flight over time"
    bin_start_s: FloatArray
    bin_max: IntArray  # the most samples issued and not yet completed, per time bin
    bin_mean: FloatArray  # the time-weighted average in each bin
    peak: int
    mean: float  # time-weighted over the series


@attrs.frozen(kw_only=True)
class IssueLagFigure:
    key: ClassVar[str] = "issue_lag"
    title: ClassVar[str] = "Issue lag (issued - scheduled)"
    dist_us: Distribution | None  # per query, when traced
    t_s: FloatArray
    lag_us: FloatArray  # drawn points
    is_tail: BoolArray
    window_start_s: FloatArray
    window_width_s: float
    window_p99_us: FloatArray
    percentiles_us: dict[float, float]
    health: GeneratorHealth


@attrs.frozen(kw_only=True)
class ArrivalFidelity:
    key: ClassVar[str] = "arrival_fidelity"
    title: ClassVar[str] = "Server arrival fidelity"
    rate_qps: float
    realised: KSResult  # issue-time inter-arrivals vs the process asked for
    scheduled: KSResult  # the plan's inter-arrivals vs the process asked for
    realised_qq: QQData
    scheduled_qq: QQData
    model: str = "Exp"  # the process asked for (asyncgen.report._arrivals), for the axis


FigureData = (
    LatencyOverTime
    | LatencyDistribution
    | Throughput
    | InFlight
    | IssueLagFigure
    | TokenFigure
    | ArrivalFidelity
    | TokenCountsFigure
)
FIGURE_KEYS = (
    "latency_over_time",
    "latency_distribution",
    "throughput",
    "in_flight",
    "issue_lag",
    "tokens",
    "arrival_fidelity",
    "token_counts",
)


def figures(run: RunData) -> dict[str, FigureData]:
    """The data of every figure the run supports, keyed as ``FIGURE_KEYS``."""
    samples = run.samples if run.samples is not None and run.samples.count else None
    built: list[FigureData | None] = [
        latency_over_time(run, samples) if samples else None,
        latency_distribution(run),
        throughput(samples) if samples else None,
        in_flight(samples) if samples else None,
        issue_lag(run, samples),
        token_figure(run, samples) if run.token_mode else None,
        arrival_fidelity(run, samples) if samples and run.scenario == "Server" else None,
        token_counts_figure(run),
    ]
    return {figure.key: figure for figure in built if figure is not None}


def missing_figures(run: RunData, present: dict[str, FigureData]) -> dict[str, str]:
    """Why each absent figure is absent."""
    reasons = {}
    for key in FIGURE_KEYS:
        if key in present:
            continue
        if key == "tokens" and not run.token_mode:
            continue
        if key == "token_counts":
            continue  # drawn whenever results.json has counts; nothing else makes them
        if key == "arrival_fidelity" and run.scenario != "Server":
            continue
        why = _no_arrival_process(run) if key == "arrival_fidelity" else None
        if why is not None:
            reasons[key] = why
            continue
        if run.samples is None or not run.samples.count:
            reasons[key] = "needs the per-sample trace, which this run did not write"
        else:
            reasons[key] = "not enough data in the trace"
    return reasons


def _no_arrival_process(run: RunData) -> str | None:
    """Why a Server run has no arrival process to test (closed loop, multi-turn), if so."""
    model = arrival_model(run.arrival_process, run.session_options, 1.0, empty_int())
    return model if isinstance(model, str) else None


def _origin_ns(samples: TraceSamples) -> int:
    return int(samples.scheduled_ns.min())


def _seconds(ns: IntArray, origin: int) -> FloatArray:
    return (ns - origin).astype(np.float64) / NS_PER_S


def latency_over_time(run: RunData, samples: TraceSamples) -> LatencyOverTime:
    origin = _origin_ns(samples)
    t = _seconds(samples.scheduled_ns, origin)
    latency = samples.latency_ns.astype(np.float64) / NS_PER_MS
    edges = window_edges(0.0, float(t.max()))
    per_window = window_percentiles(t, latency, edges, (0.5, 0.99))
    drawn, is_tail = scatter_subset(latency)
    target_ms, label = _latency_target(run)
    return LatencyOverTime(
        t_s=t[drawn],
        latency_ms=latency[drawn],
        is_tail=is_tail,
        drawn_points=int(drawn.size),
        total_points=int(latency.size),
        window_start_s=edges[:-1],
        window_width_s=float(edges[1] - edges[0]),
        window_p50_ms=per_window[0.5],
        window_p99_ms=per_window[0.99],
        target_ms=target_ms,
        target_label=label,
    )


def _latency_target(run: RunData) -> tuple[float | None, str]:
    """The Server latency bound, else the reported latency at the target percentile."""
    if run.target_latency_ns > 0 and run.scenario == "Server":
        return run.target_latency_ns / NS_PER_MS, "target latency"
    stats = run.sample_latency
    p = run.target_percentile
    if stats is not None and p in stats.percentiles_ns:
        return stats.percentiles_ns[p] / NS_PER_MS, f"reported p{p * 100:g}"
    return None, ""


def latency_distribution(run: RunData) -> LatencyDistribution | None:
    """Histogram and CDF of the per-sample latencies, with the percentiles marked: the run's
    reported ones when the data drawn is all the data they came from, else computed."""
    values = run.sample_latencies_ns
    marks = _reported_ms(run)
    if values.size:
        dist = distribution(_ms(values))
        if marks and run.has_all_sample_latencies:
            return LatencyDistribution(
                dist_ms=dist,
                percentiles_ms=marks,
                percentiles_source="reported",
                from_percentiles_only=False,
            )
        return LatencyDistribution(
            dist_ms=dist,
            percentiles_ms=percentiles_of(_ms(values), MARKED_PERCENTILES),
            percentiles_source="computed",
            from_percentiles_only=False,
        )
    reported = run.sample_latency
    if not marks or reported is None:
        return None
    return LatencyDistribution(
        dist_ms=_percentile_points(reported.min_ns, reported.max_ns, marks),
        percentiles_ms=marks,
        percentiles_source="reported",
        from_percentiles_only=True,
    )


def _percentile_points(min_ns: int, max_ns: int, marks: dict[float, float]) -> Distribution:
    """A CDF through the reported points only (min at 0, each percentile, max at 1)."""
    empty = np.zeros(0)
    return Distribution(
        count=0,
        bin_edges=empty,
        bin_counts=np.zeros(0, dtype=np.int64),
        cdf_x=np.array([min_ns / NS_PER_MS, *marks.values(), max_ns / NS_PER_MS]),
        cdf_y=np.array([0.0, *marks.keys(), 1.0]),
        log_bins=False,
    )


def _ms(values: IntArray) -> FloatArray:
    return values.astype(np.float64) / NS_PER_MS


def _reported_ms(run: RunData) -> dict[float, float]:
    stats = run.sample_latency
    if stats is None:
        return {}
    return {p: v / NS_PER_MS for p, v in stats.percentiles_ns.items()}


def throughput(samples: TraceSamples) -> Throughput:
    origin = _origin_ns(samples)
    scheduled = _seconds(samples.scheduled_ns, origin)
    completed = _seconds(samples.completed_ns, origin)
    edges = window_edges(0.0, float(max(scheduled.max(), completed.max())))
    return Throughput(
        window_start_s=edges[:-1],
        window_width_s=float(edges[1] - edges[0]),
        scheduled_counts=counts_in(scheduled, edges),
        completed_counts=counts_in(completed, edges),
    )


IN_FLIGHT_BINS = 1000


def in_flight(samples: TraceSamples) -> InFlight:
    """A step function: +1 at each sample's issue, -1 at its completion (completions first
    at equal times), reduced per time bin to its maximum (so no peak is lost) and its
    time-weighted mean."""
    origin = _origin_ns(samples)
    times = np.concatenate((samples.issued_ns, samples.completed_ns)) - origin
    deltas = np.concatenate(
        (np.ones(samples.count, dtype=np.int64), -np.ones(samples.count, dtype=np.int64))
    )
    order = np.lexsort((deltas, times))
    times, levels = times[order], np.cumsum(deltas[order])
    t = times.astype(np.float64) / NS_PER_S
    end = float(t[-1]) if t.size else 0.0
    edges = np.linspace(0.0, max(end, 1e-9), IN_FLIGHT_BINS + 1)
    # The level carried into each bin from the events before it.
    before = np.searchsorted(t, edges[:-1], side="left") - 1
    bin_max = np.where(before >= 0, levels[np.clip(before, 0, None)], 0)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, IN_FLIGHT_BINS - 1)
    np.maximum.at(bin_max, which, levels)
    # The area under the step function is piecewise linear between events, so
    # interpolating it at the bin edges is exact.
    area = np.concatenate(([0.0], np.cumsum(levels[:-1] * np.diff(t))))
    bin_mean = np.diff(np.interp(edges, t, area)) / np.diff(edges)
    busy_ns = float(np.sum(samples.completed_ns - samples.issued_ns))
    span_ns = float(times[-1] - times[0]) if times.size > 1 else 0.0
    return InFlight(
        bin_start_s=edges[:-1],
        bin_max=bin_max.astype(np.int64),
        bin_mean=bin_mean,
        peak=int(levels.max()) if levels.size else 0,
        mean=busy_ns / span_ns if span_ns > 0 else 0.0,
    )


def query_firsts(samples: TraceSamples) -> TraceSamples:
    """One row per query (its first traced sample): queries share scheduled and issue times."""
    _, first = np.unique(samples.query_seq, return_index=True)
    mask = np.zeros(samples.count, dtype=bool)
    mask[first] = True
    return samples.take(mask)


def issue_lag(run: RunData, samples: TraceSamples | None) -> IssueLagFigure | None:
    """Per-query lag from the trace, or the reported percentiles when there is no trace."""
    target = run.target_latency_ns if run.scenario == "Server" else 0
    if samples is None:
        lag = run.issue_lag
        if lag is None:
            return None
        health = generator_health(
            lag.percentiles_ns.get(0.5, 0), lag.percentiles_ns.get(0.99, 0), lag.max_ns, target
        )
        empty = np.zeros(0)
        return IssueLagFigure(
            dist_us=None,
            t_s=empty,
            lag_us=empty,
            is_tail=np.zeros(0, dtype=bool),
            window_start_s=empty,
            window_width_s=0.0,
            window_p99_us=empty,
            percentiles_us={p: v / NS_PER_US for p, v in lag.percentiles_ns.items()},
            health=with_schedule_check(health, engine=run.engine_health),
        )
    queries = query_firsts(samples)
    lags_ns = queries.issued_ns - queries.scheduled_ns
    lag_us = lags_ns.astype(np.float64) / NS_PER_US
    t = _seconds(queries.scheduled_ns, _origin_ns(samples))
    edges = window_edges(0.0, float(t.max()))
    drawn, is_tail = scatter_subset(lag_us)
    health = with_schedule_check(
        health_from_lags(lags_ns, target),
        engine=run.engine_health,
        achieved_fraction=_achieved_fraction(queries),
    )
    return IssueLagFigure(
        dist_us=distribution(lag_us),
        t_s=t[drawn],
        lag_us=lag_us[drawn],
        is_tail=is_tail,
        window_start_s=edges[:-1],
        window_width_s=float(edges[1] - edges[0]),
        window_p99_us=window_percentiles(t, lag_us, edges, (0.99,))[0.99],
        percentiles_us=percentiles_of(lag_us, (0.5, 0.9, 0.99, 0.999)),
        health=health,
    )


def _achieved_fraction(queries: TraceSamples) -> float | None:
    """Issue rate over scheduled rate, both from the first scheduled query: the same queries
    over the span to the last scheduled time and to the last issue time."""
    start = int(queries.scheduled_ns.min())
    scheduled_span = int(queries.scheduled_ns.max()) - start
    issued_span = int(queries.issued_ns.max()) - start
    if queries.count < 2 or scheduled_span <= 0 or issued_span <= 0:
        return None
    return scheduled_span / issued_span


def arrival_fidelity(run: RunData, samples: TraceSamples) -> ArrivalFidelity | None:
    """Realised and scheduled inter-arrival times against the arrival process the run asked
    for (the reference's Poisson unless its detail log names another)."""
    queries = query_firsts(samples)
    if queries.count <= MIN_ARRIVALS:
        return None
    model = arrival_model(
        run.arrival_process, run.session_options, run.target_qps, queries.scheduled_ns
    )
    if isinstance(model, str):
        return None
    origin = int(queries.scheduled_ns.min())
    realised = model.gaps_s(queries.issued_ns, origin)
    scheduled = model.gaps_s(queries.scheduled_ns, origin)
    return ArrivalFidelity(
        rate_qps=model.process.rate_qps if model.process.kind != "trace" else run.target_qps,
        realised=ks_against(realised, model),
        scheduled=ks_against(scheduled, model),
        realised_qq=model_qq(realised, model),
        scheduled_qq=model_qq(scheduled, model),
        model=model.label,
    )
