"""Is run B really different from run A? Bootstrap confidence intervals and a plain verdict.

Latency percentiles use the exact bootstrap distribution of an order statistic: resampling
``n`` values with replacement and taking the k-th smallest is the same as reading the sorted
data at ``floor(n * U)`` with ``U ~ Beta(k, n - k + 1)``, so each replicate costs one Beta
draw instead of a resample of the whole run (a million samples bootstrap in milliseconds).
Throughput headlines use a block bootstrap over time windows of completions, which keeps the
run's burstiness. Every stream is seeded: the same runs always give the same intervals.

Differences are relative to the first run (the baseline): ``other / baseline - 1`` with the
percentile interval of the same ratio over independent replicates of both runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
import numpy as np

from asyncgen.report._arrays import FloatArray, IntArray, percentile, percentile_index
from asyncgen.report._binning import counts_in, window_edges
from asyncgen.report._load import RunData, unique_labels

RESAMPLES = 2000
SEED = 0
CONFIDENCE = 0.95
COMPARED_PERCENTILES = (0.5, 0.9, 0.99)
MIN_WINDOWS = 10  # a throughput interval needs completions spread over this many windows
HEADLINE = "headline"


@attrs.frozen(kw_only=True)
class Estimate:
    """One metric of one run: the reported value and its bootstrap interval (if any)."""

    value: float
    low: float | None = None
    high: float | None = None
    replicates: FloatArray | None = attrs.field(default=None, repr=False, eq=False)
    why_no_interval: str = ""


@attrs.frozen(kw_only=True)
class Difference:
    """``other`` against ``baseline`` on one metric; ``relative`` is other/baseline - 1."""

    metric: str
    baseline: str
    other: str
    relative: float
    low: float | None
    high: float | None
    higher_is_better: bool
    verdict: str

    @property
    def significant(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low > 0 or self.high < 0


@attrs.frozen(kw_only=True)
class Comparison:
    """Per metric, one estimate per run (``None`` where a run lacks it), and the differences
    of every run against the first."""

    labels: tuple[str, ...]
    metric_names: dict[str, str]  # metric key -> display name
    estimates: dict[str, tuple[Estimate | None, ...]]
    differences: tuple[Difference, ...]
    confidence: float
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """One sentence per compared run: on the headline metric, or on p99 latency when the
        runs do not share a headline."""
        for metric in (HEADLINE, _pkey(0.99)):
            lines = [d.verdict for d in self.differences if d.metric == metric]
            if lines:
                return " ".join(lines)
        return "Nothing comparable: the runs share no reported metric."


def compare(
    runs: Sequence[RunData],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> Comparison:
    """Compare two or more runs against the first: the headline metric (when they share
    one) and the p50/p90/p99 sample latencies."""
    if len(runs) < 2:
        raise ValueError("compare needs at least two runs")
    runs = unique_labels(runs)
    headline_names = [run.headline.name if run.headline else None for run in runs]
    same_headline = None not in headline_names and len(set(headline_names)) == 1
    notes = []
    if not same_headline:
        listed = ", ".join(
            f"{run.label}: {name or 'none'}" for run, name in zip(runs, headline_names, strict=True)
        )
        notes.append(
            f"The runs report different headline metrics ({listed}); headlines are "
            "listed but not compared."
        )
    names = {HEADLINE: headline_names[0] or "headline"}
    names |= {_pkey(p): f"p{p * 100:g} latency (ns)" for p in COMPARED_PERCENTILES}
    estimates = {
        key: tuple(
            _estimate(key, run, np.random.default_rng([seed, r, m]), resamples, confidence)
            for r, run in enumerate(runs)
        )
        for m, key in enumerate(names)
    }
    higher = bool(runs[0].headline and runs[0].headline.higher_is_better)
    differences = []
    for key, name in names.items():
        if key == HEADLINE and not same_headline:
            continue
        base = estimates[key][0]
        for run, new in zip(runs[1:], estimates[key][1:], strict=True):
            if base is None or new is None:
                continue
            differences.append(
                difference(
                    key,
                    name,
                    runs[0].label,
                    run.label,
                    base=base,
                    new=new,
                    higher_is_better=higher and key == HEADLINE,
                    confidence=confidence,
                )
            )
    return Comparison(
        labels=tuple(run.label for run in runs),
        metric_names=names,
        estimates=estimates,
        differences=tuple(differences),
        confidence=confidence,
        notes=tuple(notes),
    )


def _estimate(
    key: str, run: RunData, rng: np.random.Generator, resamples: int, confidence: float
) -> Estimate | None:
    if key == HEADLINE:
        return headline_estimate(run, rng, resamples, confidence)
    p = next(p for p in COMPARED_PERCENTILES if _pkey(p) == key)
    return latency_estimate(run, p, rng, resamples, confidence)


def _pkey(p: float) -> str:
    return f"p{p * 100:g}"


def bootstrap_percentile(
    values: np.ndarray, p: float, resamples: int, rng: np.random.Generator
) -> FloatArray:
    """Bootstrap replicates of the reference-rule percentile ``p`` of ``values`` (exact
    order-statistic sampling, see the module docstring)."""
    ordered = np.sort(values)
    n = int(ordered.size)
    k = percentile_index(n, p) + 1  # 1-based rank of the percentile's order statistic
    u = rng.beta(k, n - k + 1, size=resamples)
    return ordered[np.minimum((u * n).astype(np.int64), n - 1)].astype(np.float64)


def _interval(replicates: FloatArray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)


def latency_estimate(
    run: RunData, p: float, rng: np.random.Generator, resamples: int, confidence: float
) -> Estimate | None:
    values = run.sample_latencies_ns
    reported = run.sample_latency.percentiles_ns.get(p) if run.sample_latency else None
    if not run.has_all_sample_latencies or not values.size:
        if reported is None:
            return None
        return Estimate(value=float(reported), why_no_interval=_no_samples_reason(run))
    replicates = bootstrap_percentile(values, p, resamples, rng)
    low, high = _interval(replicates, confidence)
    value = float(reported) if reported is not None else percentile(np.sort(values), p)
    return Estimate(value=value, low=low, high=high, replicates=replicates)


def headline_estimate(
    run: RunData, rng: np.random.Generator, resamples: int, confidence: float
) -> Estimate | None:
    headline = run.headline
    if headline is None:
        return None
    if headline.higher_is_better:
        replicates, why = _throughput_replicates(run, rng, resamples)
        replicates = None if replicates is None else replicates * headline.value
    else:
        values = _headline_latencies(run)
        why = "" if values is not None else _no_samples_reason(run)
        p = headline.percentile if headline.percentile is not None else run.target_percentile
        replicates = None if values is None else bootstrap_percentile(values, p, resamples, rng)
    if replicates is None:
        return Estimate(value=headline.value, why_no_interval=why)
    low, high = _interval(replicates, confidence)
    return Estimate(value=headline.value, low=low, high=high, replicates=replicates)


def _headline_latencies(run: RunData) -> IntArray | None:
    """Per-sample latencies, or per-query (the slowest sample) for MultiStream."""
    if not run.has_all_sample_latencies:
        return None
    if run.scenario != "MultiStream":
        return run.sample_latencies_ns if run.sample_latencies_ns.size else None
    if run.trace_complete and run.samples is not None:
        samples = run.samples
        order = np.argsort(samples.query_seq, kind="stable")
        queries, starts = np.unique(samples.query_seq[order], return_index=True)
        if not queries.size:
            return None
        slowest: IntArray = np.maximum.reduceat(samples.latency_ns[order], starts)
        return slowest
    spq = run.samples_per_query
    values = run.latencies_ns
    if spq > 0 and values.size and values.size % spq == 0:
        per_query: IntArray = values.reshape(-1, spq).max(axis=1)
        return per_query
    return None


def _throughput_replicates(
    run: RunData, rng: np.random.Generator, resamples: int
) -> tuple[FloatArray | None, str]:
    """Replicates of (resampled completions / completions) from a block bootstrap over
    time windows; multiply by the reported rate."""
    samples = run.samples
    if samples is None or not run.trace_complete:
        return None, _no_samples_reason(run)
    origin = int(samples.scheduled_ns.min())
    done = (samples.completed_ns - origin).astype(np.float64) / 1e9
    counts = counts_in(done, window_edges(0.0, float(done.max())))
    if np.count_nonzero(counts) < MIN_WINDOWS:
        return None, f"completions fall in fewer than {MIN_WINDOWS} time windows"
    picks = rng.integers(0, counts.size, size=(resamples, counts.size))
    return counts[picks].sum(axis=1) / counts.sum(), ""


def _no_samples_reason(run: RunData) -> str:
    if run.samples is None and not run.latencies_ns.size:
        return "no per-sample data (no trace)"
    return "the trace does not cover every sample"


def difference(
    key: str,
    name: str,
    baseline: str,
    other: str,
    *,
    base: Estimate | None,
    new: Estimate | None,
    higher_is_better: bool,
    confidence: float,
) -> Difference:
    assert base is not None and new is not None  # callers filter
    relative = new.value / base.value - 1.0 if base.value else float("nan")
    low = high = None
    if base.replicates is not None and new.replicates is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = new.replicates / base.replicates - 1.0
        ratios = ratios[np.isfinite(ratios)]
        if ratios.size:
            low, high = _interval(ratios, confidence)
    diff = Difference(
        metric=key,
        baseline=baseline,
        other=other,
        relative=relative,
        low=low,
        high=high,
        higher_is_better=higher_is_better,
        verdict="",
    )
    why = new.why_no_interval or base.why_no_interval
    return attrs.evolve(diff, verdict=verdict_text(diff, name, confidence, why))


def verdict_text(diff: Difference, name: str, confidence: float, why: str = "") -> str:
    """One plain sentence: "B is slower than A at p99 by 12.0% ± 3.1% (95% confidence)"."""
    size = f"{abs(diff.relative) * 100:.1f}%"
    if diff.higher_is_better:
        direction = "higher" if diff.relative > 0 else "lower"
        claim = f"{diff.other} has {direction} throughput than {diff.baseline} by {size}"
        context, subject = f"{name}, ", "throughput"
    else:
        direction = "slower" if diff.relative > 0 else "faster"
        short = short_metric(name)
        claim = f"{diff.other} is {direction} than {diff.baseline} at {short} by {size}"
        context, subject = "", short
    if diff.significant is None:
        return f"{claim} (no confidence interval: {why or 'no per-sample data'})."
    level = f"{confidence * 100:g}% confidence"
    spread = _spread(diff)
    if diff.significant and spread.startswith("±"):
        return f"{claim} {spread} ({context}{level})."
    if diff.significant:
        return f"{claim} ({spread}, {context}{level})."
    joined = f"{diff.relative * 100:+.1f}%" + (" " if spread.startswith("±") else ", ") + spread
    return (
        f"No significant difference between {diff.other} and {diff.baseline} in {subject} "
        f"({joined}, {context}{level})."
    )


ASYMMETRY = 0.25  # beyond this imbalance of the two arms, "± x" would mislead


def _spread(diff: Difference) -> str:
    """``± 3.1%`` for a roughly symmetric interval, else the interval itself."""
    assert diff.low is not None and diff.high is not None
    below, above = diff.relative - diff.low, diff.high - diff.relative
    half = (diff.high - diff.low) / 2
    if half > 0 and abs(above - below) > ASYMMETRY * half:
        return f"interval {diff.low * 100:+.1f}% to {diff.high * 100:+.1f}%"
    return f"± {half * 100:.1f}%"


def short_metric(name: str) -> str:
    """``p99`` for "p99 latency (ns)" or "99.0th percentile latency (ns)"; else the name."""
    match = re.match(r"^p([0-9.]+) latency", name) or re.match(r"^([0-9.]+)th percentile", name)
    return f"p{float(match.group(1)):g}" if match else name
