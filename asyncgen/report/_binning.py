"""Windows, histograms, CDFs and scatter subsets: the exact numbers behind each figure.

Statistics always use every sample; only the points drawn in a scatter are a subset.
"""

from __future__ import annotations

import attrs
import numpy as np

from asyncgen.report._arrays import BoolArray, FloatArray, IntArray, nice_step, percentile_index

MAX_WINDOWS = 200  # throughput / percentile windows per run
HISTOGRAM_BINS = 60
CDF_POINTS = 2000  # points drawn on a CDF curve (the ends are always exact)
SCATTER_POINTS = 20_000  # per-query points drawn in a scatter
SCATTER_TAIL = 2_000  # of which the largest values, so outliers always show
SCATTER_SEED = 20_241  # fixed: the same run always draws the same points


def window_edges(start: float, end: float, max_windows: int = MAX_WINDOWS) -> FloatArray:
    """Equal windows of a readable width (1-2-5 steps) covering ``[start, end]``."""
    width = nice_step(max(end - start, 1e-9), max_windows)
    count = max(int(np.ceil((end - start) / width)), 1)
    if start + count * width <= end:  # the last edge must not fall short of ``end``
        count += 1
    return start + width * np.arange(count + 1, dtype=np.float64)


def counts_in(values: FloatArray, edges: FloatArray) -> IntArray:
    """How many ``values`` fall in each window (the last window includes its right edge)."""
    counts, _ = np.histogram(values, bins=edges)
    return counts.astype(np.int64)


def window_percentiles(
    times: FloatArray, values: FloatArray, edges: FloatArray, percentiles: tuple[float, ...]
) -> dict[float, FloatArray]:
    """Per window, the values at each percentile (reference rule); NaN for empty windows."""
    which = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, edges.size - 2)
    order = np.lexsort((values, which))
    ordered, which = values[order], which[order]
    counts = np.bincount(which, minlength=edges.size - 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    result = {}
    for p in percentiles:
        out = np.full(counts.size, np.nan)
        filled = counts > 0
        offsets = np.minimum((counts[filled] * p).astype(np.int64), counts[filled] - 1)
        out[filled] = ordered[starts[filled] + offsets]
        result[p] = out
    return result


@attrs.frozen(kw_only=True)
class Distribution:
    """A histogram and an empirical CDF of one array (any unit)."""

    count: int
    bin_edges: FloatArray
    bin_counts: IntArray
    cdf_x: FloatArray  # ascending values
    cdf_y: FloatArray  # fraction of values <= cdf_x; ends at 1.0
    log_bins: bool


def distribution(values: FloatArray, bins: int = HISTOGRAM_BINS) -> Distribution:
    """Histogram (log-spaced bins for values spanning decades) and a thinned exact CDF."""
    ordered = np.sort(values)
    n = int(ordered.size)
    if n == 0:
        empty = np.zeros(0)
        return Distribution(
            count=0,
            bin_edges=empty,
            bin_counts=np.zeros(0, dtype=np.int64),
            cdf_x=empty,
            cdf_y=empty,
            log_bins=False,
        )
    low, high = float(ordered[0]), float(ordered[-1])
    log_bins = low > 0 and high / low > 50
    if high == low:
        pad = 0.5 if low == 0 else abs(low) * 0.01  # one bin around a constant value
        edges = np.array([low - pad, high + pad])
    elif log_bins:
        edges = np.geomspace(low, high, bins + 1)
    else:
        edges = np.linspace(low, high, bins + 1)
    edges[0], edges[-1] = min(edges[0], low), max(edges[-1], high)
    counts, _ = np.histogram(ordered, bins=edges)
    picks = np.unique(np.linspace(0, n - 1, min(n, CDF_POINTS)).round().astype(np.int64))
    return Distribution(
        count=n,
        bin_edges=edges,
        bin_counts=counts.astype(np.int64),
        cdf_x=ordered[picks].astype(np.float64),
        cdf_y=(picks + 1) / n,
        log_bins=log_bins,
    )


def percentiles_of(values: FloatArray, percentiles: tuple[float, ...]) -> dict[float, float]:
    """The reference-rule percentiles of an unsorted array."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return {}
    return {p: float(ordered[percentile_index(int(ordered.size), p)]) for p in percentiles}


def scatter_subset(values: FloatArray, limit: int = SCATTER_POINTS) -> tuple[IntArray, BoolArray]:
    """Indices of the points to draw, in their original order, and which of them are the
    kept tail. Up to ``limit`` points all are drawn (no tail); beyond, the ``SCATTER_TAIL``
    largest are always drawn and a seeded uniform sample of the rest fills up to ``limit``.
    The tail is marked so a plot can draw it apart: kept whole next to a thinned body it
    would otherwise look like a dense band."""
    n = int(values.size)
    if n <= limit:
        return np.arange(n, dtype=np.int64), np.zeros(n, dtype=bool)
    tail = np.argpartition(values, n - SCATTER_TAIL)[n - SCATTER_TAIL :]
    rest = np.setdiff1d(np.arange(n), tail, assume_unique=True)
    rng = np.random.default_rng(SCATTER_SEED)
    sampled = rng.choice(rest, size=limit - SCATTER_TAIL, replace=False)
    drawn = np.concatenate((tail, sampled))
    order = np.argsort(drawn, kind="stable")
    is_tail = np.zeros(drawn.size, dtype=bool)
    is_tail[: tail.size] = True
    return drawn[order].astype(np.int64), is_tail[order]
