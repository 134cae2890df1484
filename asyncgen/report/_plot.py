"""Drawing: figure data in, PNG bytes out.

Figures are built on ``matplotlib.figure.Figure`` directly and printed by the Agg canvas,
so no pyplot state, no GUI backend and nothing global is touched: safe in tests, threads and
servers.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from asyncgen.report._binning import Distribution
from asyncgen.report._figures import (
    ArrivalFidelity,
    FigureData,
    InFlight,
    IssueLagFigure,
    LatencyDistribution,
    LatencyOverTime,
    Throughput,
)
from asyncgen.report._token_counts import TokenCountsFigure
from asyncgen.report._tokens import TokenFigure

DPI = 100
WIDE = (10.0, 4.0)
PAIR = (11.0, 4.0)
MARK_COLOR = "#c0392b"
LEGEND_MARGIN = 0.01  # between a legend beside the plot and the figure's edge


def new_figure(size: tuple[float, float], bottom: float = 0.13) -> Figure:
    """A figure with fixed margins: a layout engine would triple the drawing time."""
    fig = Figure(figsize=size)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=bottom, top=0.86, wspace=0.3)
    return fig


def png_bytes(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def render(data: FigureData, run_label: str) -> bytes:
    """The PNG of one figure."""
    return png_bytes(draw(data, run_label))


def draw(data: FigureData, run_label: str) -> Figure:
    """One figure, drawn (not yet printed)."""
    fig = new_figure(
        WIDE if isinstance(data, Throughput | InFlight) else PAIR,
        bottom=0.25 if isinstance(data, IssueLagFigure) else 0.13,
    )
    match data:
        case LatencyOverTime():
            _latency_over_time(fig, data)
        case LatencyDistribution():
            _latency_distribution(fig, data)
        case Throughput():
            _throughput(fig, data)
        case InFlight():
            _in_flight(fig, data)
        case IssueLagFigure():
            _issue_lag(fig, data)
        case TokenFigure():
            _tokens(fig, data)
        case ArrivalFidelity():
            _arrival_fidelity(fig, data)
        case TokenCountsFigure():
            _token_counts(fig, data)
    fig.suptitle(f"{data.title} — {run_label}")
    return fig


def _edges(starts: np.ndarray, width: float) -> np.ndarray:
    return np.append(starts, starts[-1] + width) if starts.size else np.zeros(1)


def _steps(ax: Axes, values: np.ndarray, edges: np.ndarray, **style: object) -> None:
    """A per-window value as a line of steps. With no baseline: the default one (0) would
    draw the first and last steps down to zero, as if those windows measured 0, and a window
    without data (NaN) is a gap, not a drop."""
    ax.stairs(values, edges, baseline=None, **style)  # type: ignore[arg-type]


def _legend_beside(fig: Figure, ax: Axes) -> None:
    """The legend to the right of the plot, where it cannot cover the last seconds of data
    (in a time series every corner of the plot holds data); the plot narrows to make room
    for the legend's measured width."""
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    box = legend.get_window_extent(FigureCanvasAgg(fig).get_renderer())  # type: ignore[no-untyped-call]
    pad = legend.borderaxespad * legend.prop.get_size_in_points() * fig.dpi / 72
    fig.subplots_adjust(right=1.0 - LEGEND_MARGIN - (box.width + pad) / fig.bbox.width)


def _scatter(ax: Axes, x: np.ndarray, y: np.ndarray, is_tail: np.ndarray, what: str) -> None:
    """Every point, or a thinned body plus the whole tail in its own colour."""
    small = x.size < 5000  # few points: draw them larger and darker
    size, alpha = (6, 0.6) if small else (2, 0.3)
    body = ~is_tail
    label = what if not is_tail.any() else f"{what} (random {int(body.sum()):,})"
    ax.scatter(x[body], y[body], s=size, alpha=alpha, linewidths=0, label=label)
    if is_tail.any():
        ax.scatter(
            x[is_tail],
            y[is_tail],
            s=size,
            alpha=0.6,
            linewidths=0,
            color="#8e44ad",
            label=f"largest {int(is_tail.sum()):,} (all drawn)",
        )


def _reference_line(ax: Axes, value: float | None, label: str, data_top: float, unit: str) -> None:
    """A dashed horizontal line; when it lies far above the data (drawing it would squash
    the data against the axis) only its legend entry, saying so."""
    if value is None:
        return
    if value <= 3 * data_top or data_top <= 0:
        ax.axhline(value, color=MARK_COLOR, linestyle="--", label=label)
    else:
        ax.plot(
            [],
            [],
            color=MARK_COLOR,
            linestyle="--",
            label=f"{label} ({value:,.4g} {unit}, off scale)",
        )


def _top(*arrays: np.ndarray) -> float:
    finite = [float(np.nanmax(a)) for a in arrays if a.size and np.isfinite(a).any()]
    return max(finite, default=0.0)


def _latency_over_time(fig: Figure, d: LatencyOverTime) -> None:
    ax = fig.add_subplot()
    _scatter(ax, d.t_s, d.latency_ms, d.is_tail, "sample")
    edges = _edges(d.window_start_s, d.window_width_s)
    _steps(ax, d.window_p50_ms, edges, label="p50 per window", linewidth=1.5)
    _steps(ax, d.window_p99_ms, edges, label="p99 per window", linewidth=1.5)
    top = _top(d.latency_ms, d.window_p99_ms)
    _reference_line(ax, d.target_ms, d.target_label, top, "ms")
    ax.set_xlabel("scheduled time (s)")
    ax.set_ylabel("latency (ms)")
    if d.drawn_points < d.total_points:
        ax.set_title(
            f"{d.drawn_points:,} of {d.total_points:,} samples drawn; "
            "window percentiles use every sample",
            fontsize=9,
        )
    _legend_beside(fig, ax)


def _hist(ax: Axes, dist: Distribution, unit: str) -> None:
    ax.stairs(dist.bin_counts, dist.bin_edges, fill=True, alpha=0.6)
    if dist.log_bins:
        ax.set_xscale("log")
    ax.set_xlabel(unit)
    ax.set_ylabel("samples")


def _cdf(ax: Axes, dist: Distribution, marks: dict[float, float], unit: str) -> None:
    points_only = dist.count == 0
    ax.plot(dist.cdf_x, dist.cdf_y, marker="o" if points_only else None, drawstyle="default")
    for p, value in marks.items():
        ax.axvline(value, color=MARK_COLOR, linewidth=0.8, alpha=0.7)
        ax.annotate(
            f"p{p * 100:g}", (value, p), fontsize=7, xytext=(3, -10), textcoords="offset points"
        )
    if dist.log_bins:
        ax.set_xscale("log")
    ax.set_xlabel(unit)
    ax.set_ylabel("fraction of samples")
    ax.set_ylim(0, 1.02)


def _latency_distribution(fig: Figure, d: LatencyDistribution) -> None:
    if d.from_percentiles_only:
        ax = fig.add_subplot()
        _cdf(ax, d.dist_ms, d.percentiles_ms, "latency (ms)")
        ax.set_title("reported percentiles only (no per-sample data)", fontsize=9)
        return
    left, right = fig.subplots(1, 2)
    _hist(left, d.dist_ms, "latency (ms)")
    left.set_title(f"histogram of {d.dist_ms.count:,} samples", fontsize=9)
    _cdf(right, d.dist_ms, d.percentiles_ms, "latency (ms)")
    right.set_title(f"CDF, {d.percentiles_source} percentiles marked", fontsize=9)


def _throughput(fig: Figure, d: Throughput) -> None:
    ax = fig.add_subplot()
    edges = _edges(d.window_start_s, d.window_width_s)
    _steps(ax, d.scheduled_per_s, edges, label="scheduled")
    _steps(ax, d.completed_per_s, edges, label="completed")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"samples/s ({_width(d.window_width_s)} windows)")
    _legend_beside(fig, ax)


def _in_flight(fig: Figure, d: InFlight) -> None:
    ax = fig.add_subplot()
    width = float(d.bin_start_s[1] - d.bin_start_s[0]) if d.bin_start_s.size > 1 else 1.0
    edges = _edges(d.bin_start_s, width)
    ax.stairs(d.bin_max, edges, fill=True, alpha=0.35, label="maximum")
    _steps(ax, d.bin_mean, edges, linewidth=1.2, label="time-weighted mean")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("samples in flight")
    ax.set_title(f"peak {d.peak:,}, time-weighted mean {d.mean:,.1f}", fontsize=9)
    _legend_beside(fig, ax)


def _issue_lag(fig: Figure, d: IssueLagFigure) -> None:
    verdict = textwrap.fill(f"{d.health.verdict.upper()}: {d.health.text}", 170)
    fig.text(0.01, 0.01, verdict, fontsize=8)
    if d.dist_us is None:
        ax = fig.add_subplot()
        labels = [f"p{p * 100:g}" for p in d.percentiles_us]
        ax.bar(labels, list(d.percentiles_us.values()))
        ax.set_ylabel("issue lag (µs)")
        ax.set_title("reported percentiles (no per-query trace)", fontsize=9)
        return
    left, right = fig.subplots(1, 2)
    _hist(left, d.dist_us, "issue lag (µs)")
    left.set_ylabel("queries")
    _scatter(right, d.t_s, d.lag_us, d.is_tail, "query")
    edges = _edges(d.window_start_s, d.window_width_s)
    _steps(right, d.window_p99_us, edges, label="p99 per window")
    _reference_line(right, d.health.budget_ns / 1000, "lag budget", _top(d.lag_us), "µs")
    right.set_xlabel("scheduled time (s)")
    right.set_ylabel("issue lag (µs)")
    _legend_beside(fig, right)


def _tokens(fig: Figure, d: TokenFigure) -> None:
    first, second, third = fig.subplots(1, 3)
    for ax, dist, marks, name, per_sample in (
        (first, d.ttft_ms, d.ttft_percentiles_ms, "TTFT", d.ttft_per_sample),
        (second, d.tpot_ms, d.tpot_percentiles_ms, "TPOT", d.tpot_per_sample),
    ):
        if dist is None:
            ax.set_title(f"{name}: not reported", fontsize=9)
            continue
        _cdf(ax, dist, marks, f"{name} (ms)")
        target = d.ttft_target_ms if name == "TTFT" else None
        if target is not None and target <= 3 * float(dist.cdf_x[-1]):
            ax.axvline(target, color=MARK_COLOR, linestyle="--", label="TTFT bound")
            ax.legend(fontsize=8)
        ax.set_title(
            f"{name} CDF ({'per sample' if per_sample else 'reported percentiles'})", fontsize=9
        )
    if d.tokens_per_s.size:
        _steps(third, d.tokens_per_s, _edges(d.window_start_s, d.window_width_s))
        third.set_xlabel("time (s)")
        third.set_ylabel("tokens per second")
        note = (
            "estimated: completions x mean tokens/sample"
            if d.tokens_estimated
            else "per-sample counts"
        )
        third.set_title(note, fontsize=9)
    else:
        third.set_title("tokens/s over time: needs the trace", fontsize=9)


def _token_counts(fig: Figure, d: TokenCountsFigure) -> None:
    for ax, name, side in zip(
        fig.subplots(1, 2), ("input", "output"), (d.input, d.output), strict=True
    ):
        if side is None:
            ax.set_title(f"{name} tokens: not known", fontsize=9)
            continue
        edges, counts = side.histogram
        ax.stairs(counts, edges, fill=True, alpha=0.6)
        for p, value in side.percentiles.items():
            ax.axvline(value, color=MARK_COLOR, linewidth=0.8, alpha=0.7)
            mark = f"p{p * 100:g}"
            ax.annotate(mark, (value, 0), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{name} tokens per request")
        ax.set_ylabel("samples")
        ax.set_title(f"{side.count:,} samples, mean {side.mean:,.1f}", fontsize=9)


def _arrival_fidelity(fig: Figure, d: ArrivalFidelity) -> None:
    ax = fig.add_subplot()
    top = float(max(d.realised_qq.expected_ms.max(), d.realised_qq.observed_ms.max()))
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label=d.model)
    ax.scatter(
        d.realised_qq.expected_ms,
        d.realised_qq.observed_ms,
        s=6,
        label=f"issued (KS D={d.realised.statistic:.4f}, p={d.realised.pvalue:.3g})",
    )
    ax.scatter(
        d.scheduled_qq.expected_ms,
        d.scheduled_qq.observed_ms,
        s=6,
        marker="x",
        label=f"scheduled (KS D={d.scheduled.statistic:.4f}, p={d.scheduled.pvalue:.3g})",
    )
    ax.set_xlabel(f"{d.model} quantile of inter-arrival time (ms)")
    ax.set_ylabel("observed quantile (ms)")
    ax.set_title(f"Q-Q of {d.realised.count:,} inter-arrival times", fontsize=9)
    ax.legend(fontsize=8)


def _width(seconds: float) -> str:
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


# -- comparison ------------------------------------------------------------------------------


def overlay_cdfs(curves: Sequence[tuple[str, Distribution]]) -> bytes:
    fig = new_figure(WIDE)
    ax = fig.add_subplot()
    for label, dist in curves:
        ax.plot(dist.cdf_x, dist.cdf_y, label=label, marker="o" if dist.count == 0 else None)
    if all(dist.log_bins for _, dist in curves):
        ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize=8)
    fig.suptitle("Latency CDF, all runs")
    return png_bytes(fig)


def overlay_throughput(series: Sequence[tuple[str, Throughput]]) -> bytes:
    fig = new_figure(WIDE)
    ax = fig.add_subplot()
    for label, d in series:
        _steps(ax, d.completed_per_s, _edges(d.window_start_s, d.window_width_s), label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("completed samples per second")
    ax.legend(fontsize=8)
    fig.suptitle("Completed throughput over time, all runs")
    return png_bytes(fig)


def metric_intervals(
    metric_names: Sequence[str],
    labels: Sequence[str],
    values: Sequence[Sequence[tuple[float, float | None, float | None] | None]],
) -> bytes:
    """One panel per metric: each run's value with its interval as an error bar."""
    fig = new_figure((3.2 * len(metric_names), 3.6), bottom=0.2)
    axes = fig.subplots(1, len(metric_names), squeeze=False)[0]
    for ax, name, per_run in zip(axes, metric_names, values, strict=True):
        for i, item in enumerate(per_run):
            if item is None:
                continue
            value, low, high = item
            err = None
            if low is not None and high is not None:
                err = [[max(value - low, 0.0)], [max(high - value, 0.0)]]
            ax.errorbar([i], [value], yerr=err, fmt="o", capsize=4)
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set_title(name, fontsize=9)
    fig.suptitle("Compared metrics with bootstrap intervals")
    return png_bytes(fig)
