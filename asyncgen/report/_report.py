"""``write_report``: load the runs, draw their figures, compare them, write the files."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from asyncgen._version import __version__
from asyncgen.report._compare import Comparison, compare
from asyncgen.report._figures import (
    FigureData,
    IssueLagFigure,
    LatencyDistribution,
    Throughput,
    figures,
    missing_figures,
)
from asyncgen.report._html import FigureBlock, RunBlock, page
from asyncgen.report._load import RunData, load_run, unique_labels
from asyncgen.report._plot import metric_intervals, overlay_cdfs, overlay_throughput, render
from asyncgen.result import TestResult

REPORT_NAME = "report.html"
FIGURES_DIR = "figures"

RunSource = RunData | TestResult | str | Path


def as_runs(sources: Sequence[RunSource]) -> list[RunData]:
    """Load whatever is not loaded yet; labels made unique."""
    return unique_labels([s if isinstance(s, RunData) else load_run(s) for s in sources])


def write_report(
    sources: Sequence[RunSource],
    out: str | Path,
    *,
    title: str | None = None,
    comparison: Comparison | None = None,
) -> Path:
    """Write ``out/report.html`` and ``out/figures/*.png`` for one or more runs, with a
    comparison when there are several (``compare(runs)`` unless one is given, e.g. computed
    at another confidence level). Returns the path of the HTML file."""
    if not sources:
        raise ValueError("write_report needs at least one run")
    runs = as_runs(sources)
    folder = Path(out)
    (folder / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    several = len(runs) > 1
    blocks, data = [], []
    for run in runs:
        figs = figures(run)
        data.append(figs)
        prefix = _slug(run.label) + "-" if several else ""
        blocks.append(_run_block(run, figs, prefix, folder))
    if several and comparison is None:
        comparison = compare(runs)
    comparison_figures = _comparison_figures(runs, data, comparison, folder)
    heading = title or (
        f"asyncgen report: {runs[0].label}" if not several else "asyncgen comparison report"
    )
    meta = f"asyncgen {__version__}, generated {time.strftime('%Y-%m-%d %H:%M:%S')}"
    path = folder / REPORT_NAME
    path.write_text(page(heading, meta, blocks, comparison, comparison_figures), encoding="utf-8")
    return path


def _run_block(run: RunData, figs: dict[str, FigureData], prefix: str, folder: Path) -> RunBlock:
    blocks = []
    for key, fig in figs.items():
        png = render(fig, run.label)
        name = f"{prefix}{key}"
        (folder / FIGURES_DIR / f"{name}.png").write_bytes(png)
        blocks.append(FigureBlock(anchor=f"fig-{name}", key=key, png=png, caption=_caption(fig)))
    lag = figs.get("issue_lag")
    health = lag.health if isinstance(lag, IssueLagFigure) else None
    return RunBlock(
        run=run,
        anchor=f"run-{_slug(run.label)}",
        figures=tuple(blocks),
        missing=missing_figures(run, figs),
        health=health.text if health else "",
        health_class=health.verdict if health else "",
    )


def _caption(fig: FigureData) -> str:
    captions = {
        "latency_over_time": "Each sample's latency at its scheduled time, with per-window "
        "p50/p99 and the target.",
        "latency_distribution": "Latency histogram and CDF with the percentiles marked.",
        "throughput": "Samples scheduled and completed per second, in equal time windows.",
        "in_flight": "Samples issued and not yet completed (maximum per time bin).",
        "issue_lag": "How late each query was issued relative to its schedule.",
        "tokens": "Time to first token, time per output token, tokens per second.",
        "arrival_fidelity": "Realised (issued) and scheduled inter-arrival times against the "
        "arrival process the run asked for (exponential for Poisson, gamma, constant, or a "
        "trace's own gaps; a ramp-up undone); Kolmogorov-Smirnov statistic and p-value.",
        "token_counts": "Input tokens sent and output tokens received per request (content "
        "tokens), with the percentiles marked.",
    }
    return captions[fig.key]


def _comparison_figures(
    runs: Sequence[RunData],
    data: Sequence[dict[str, FigureData]],
    comparison: Comparison | None,
    folder: Path,
) -> list[FigureBlock]:
    if comparison is None:
        return []
    pngs: dict[str, tuple[bytes, str]] = {}
    cdfs = [
        (run.label, fig.dist_ms)
        for run, figs in zip(runs, data, strict=True)
        if isinstance(fig := figs.get("latency_distribution"), LatencyDistribution)
    ]
    if cdfs:
        pngs["compare-latency_cdf"] = (overlay_cdfs(cdfs), "Latency CDFs of every run.")
    rates = [
        (run.label, fig)
        for run, figs in zip(runs, data, strict=True)
        if isinstance(fig := figs.get("throughput"), Throughput)
    ]
    if rates:
        pngs["compare-throughput"] = (overlay_throughput(rates), "Completed samples per second.")
    names = list(comparison.metric_names.values())
    values = [
        [None if e is None else (e.value, e.low, e.high) for e in comparison.estimates[key]]
        for key in comparison.metric_names
    ]
    pngs["compare-metrics"] = (
        metric_intervals(names, comparison.labels, values),
        "Each metric per run with its bootstrap confidence interval.",
    )
    blocks = []
    for name, (png, caption) in pngs.items():
        (folder / FIGURES_DIR / f"{name}.png").write_bytes(png)
        blocks.append(FigureBlock(anchor=f"fig-{name}", key=name, png=png, caption=caption))
    return blocks


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "run"
