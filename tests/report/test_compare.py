"""Run-to-run comparison: exact bootstrap, intervals and the plain verdict."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pytest
from scipy import stats

from asyncgen.report import (
    Difference,
    Headline,
    LatencySummary,
    RunData,
    TraceSamples,
    bootstrap_percentile,
    compare,
    load_run,
)
from asyncgen.report._arrays import percentile_index
from asyncgen.report._compare import _headline_latencies, verdict_text
from tests.report.conftest import reference_folder
from tests.report.synthetic import write_synthetic_run

PERCENTILES = (0.5, 0.9, 0.95, 0.97, 0.99, 0.999)


def latency_run(label: str, values: np.ndarray, *, with_samples: bool = True) -> RunData:
    """A SingleStream-like run whose statistics come from ``values`` (ns)."""
    ordered = np.sort(values.astype(np.int64))
    n = ordered.size
    at = {p: int(ordered[percentile_index(n, p)]) for p in PERCENTILES}
    return RunData(
        label=label,
        path=None,
        scenario="SingleStream",
        mode="PerformanceOnly",
        valid=True,
        headline=Headline(
            name="90.0th percentile latency (ns)",
            value=float(at[0.9]),
            higher_is_better=False,
            percentile=0.9,
        ),
        target_percentile=0.9,
        query_count=n,
        sample_latency=LatencySummary(
            min_ns=int(ordered[0]),
            max_ns=int(ordered[-1]),
            mean_ns=int(ordered.mean()),
            percentiles_ns=at,
        ),
        latencies_ns=values.astype(np.int64) if with_samples else np.zeros(0, dtype=np.int64),
    )


def lognormal(seed: int, n: int = 4000, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(2e6), 0.4, n) * scale


def test_exact_bootstrap_matches_resampling() -> None:
    values = lognormal(1, n=500)
    exact = bootstrap_percentile(values, 0.9, 4000, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    resampled = np.sort(rng.choice(values, size=(4000, values.size)), axis=1)[
        :, percentile_index(values.size, 0.9)
    ]
    assert stats.ks_2samp(exact, resampled).statistic < 0.04
    assert np.median(exact) == pytest.approx(np.median(resampled), rel=0.01)


def test_a_slower_run_is_called_slower_with_its_interval() -> None:
    a = latency_run("A", lognormal(1))
    b = latency_run("B", lognormal(2, scale=1.2))
    result = compare([a, b])
    p99 = next(d for d in result.differences if d.metric == "p99")
    assert p99.significant and p99.low is not None and p99.high is not None
    assert 0.1 < p99.relative < 0.3 and p99.low < p99.relative < p99.high
    assert p99.verdict.startswith("B is slower than A at p99 by ")
    assert "% ± " in p99.verdict and p99.verdict.endswith("(95% confidence).")
    assert result.verdict.startswith("B is slower than A at p90 by ")


def test_the_same_distribution_is_no_significant_difference() -> None:
    result = compare([latency_run("A", lognormal(1)), latency_run("B", lognormal(2))])
    for diff in result.differences:
        assert diff.significant is False, diff.verdict
        assert diff.verdict.startswith("No significant difference between B and A")


def test_comparison_is_deterministic() -> None:
    runs = [latency_run("A", lognormal(1)), latency_run("B", lognormal(2, scale=1.05))]
    first, second = compare(runs), compare(runs)
    assert [(d.low, d.high) for d in first.differences] == [
        (d.low, d.high) for d in second.differences
    ]
    assert compare(runs, seed=1).differences[0].low != first.differences[0].low


def test_without_per_sample_data_there_is_no_interval() -> None:
    a = latency_run("A", lognormal(1), with_samples=False)
    b = latency_run("B", lognormal(2, scale=1.5), with_samples=False)
    result = compare([a, b])
    assert all(d.low is None and d.significant is None for d in result.differences)
    assert "no confidence interval: no per-sample data (no trace)" in result.verdict
    estimate = result.estimates["headline"][0]
    assert estimate is not None and estimate.value == a.headline.value  # type: ignore[union-attr]


def test_different_headlines_are_listed_not_compared() -> None:
    a = latency_run("A", lognormal(1))
    b = latency_run("B", lognormal(2))
    b = attrs.evolve(
        b,
        headline=Headline(
            name="Samples per second", value=1.0, higher_is_better=True, percentile=None
        ),
    )
    result = compare([a, b])
    assert not [d for d in result.differences if d.metric == "headline"]
    assert "different headline metrics" in result.notes[0]
    assert result.verdict.startswith("No significant difference between B and A in p99")


def test_runs_of_one_schedule_compare_on_throughput_and_latency(tmp_path: Path) -> None:
    """Synthetic runs (the folders the engine writes, made up): two real runs on a busy
    machine can differ in throughput by a stall, so they cannot show 'no difference'."""
    write_synthetic_run(tmp_path / "fast", 20_000, median_latency_ms=1.0)
    write_synthetic_run(tmp_path / "slow", 20_000, median_latency_ms=20.0)
    a = load_run(tmp_path / "fast", label="fast")
    b = load_run(tmp_path / "slow", label="slow")
    result = compare([a, b])
    headline = result.estimates["headline"]
    assert headline[0] is not None and headline[0].low is not None and headline[0].high is not None
    assert headline[0].low <= headline[0].value <= headline[0].high
    # Same offered load (same seeds, same schedule): no significant throughput difference;
    # the 20 ms SUT's p50 is far higher.
    throughput = next(d for d in result.differences if d.metric == "headline")
    assert throughput.significant is False
    assert throughput.verdict.startswith(
        "No significant difference between slow and fast in throughput ("
    )
    assert "Completed samples per second, 95% confidence)." in throughput.verdict
    p50 = next(d for d in result.differences if d.metric == "p50")
    assert p50.significant and p50.relative > 2
    assert p50.verdict.startswith("slow is slower than fast at p50 by ")


def test_truncated_reference_traces_compare_without_intervals() -> None:
    runs = [
        load_run(reference_folder("Server", "performance")),
        load_run(reference_folder("Server", "token_latencies_acc_sampling")),
    ]
    result = compare(runs)
    headline = next(d for d in result.differences if d.metric == "headline")
    assert headline.relative == pytest.approx(593.01 / 593.03 - 1)
    assert headline.low is None
    assert "(no confidence interval: the trace does not cover every sample)" in headline.verdict
    assert headline.verdict.startswith("token_latencies_acc_sampling has lower throughput than")


def test_compare_needs_two_runs() -> None:
    with pytest.raises(ValueError, match="at least two"):
        compare([latency_run("A", lognormal(1))])


def test_multistream_headline_bootstraps_per_query_latencies() -> None:
    # Two samples per query; a query's latency is its slowest sample's.
    latencies = np.array([5, 9, 7, 3, 4, 8], dtype=np.int64) * 1_000_000
    spq = 2
    n = latencies.size
    trace = TraceSamples(
        sample_seq=np.arange(n),
        query_seq=np.arange(n) // spq,
        sample_idx=np.arange(n),
        scheduled_ns=np.repeat(np.arange(n // spq) * 10**8, spq),
        issued_ns=np.repeat(np.arange(n // spq) * 10**8, spq),
        completed_ns=np.repeat(np.arange(n // spq) * 10**8, spq) + latencies,
    )
    base = latency_run("ms", latencies)
    run = attrs.evolve(base, scenario="MultiStream", samples_per_query=spq, query_count=n // spq)
    assert _headline_latencies(run).tolist() == [9_000_000, 7_000_000, 8_000_000]  # type: ignore[union-attr]
    traced = attrs.evolve(run, samples=trace, latencies_ns=np.zeros(0, dtype=np.int64))
    assert traced.trace_complete
    assert _headline_latencies(traced).tolist() == [9_000_000, 7_000_000, 8_000_000]  # type: ignore[union-attr]


def test_runs_with_the_same_label_are_told_apart() -> None:
    runs = [latency_run("perf", lognormal(1)), latency_run("perf", lognormal(2))]
    result = compare(runs)
    assert result.labels == ("perf", "perf #2")
    assert result.verdict.startswith("No significant difference between perf #2 and perf")


@pytest.mark.parametrize(
    ("relative", "low", "high", "expected"),
    [
        (0.12, 0.09, 0.15, "B is slower than A at p99 by 12.0% ± 3.0% (95% confidence)."),
        (
            1.33,
            1.17,
            4.17,
            "B is slower than A at p99 by 133.0% (interval +117.0% to +417.0%, 95% confidence).",
        ),
        (-0.2, -0.3, -0.1, "B is faster than A at p99 by 20.0% ± 10.0% (95% confidence)."),
        (
            0.0,
            -0.6,
            1.5,
            "No significant difference between B and A in p99 "
            "(+0.0%, interval -60.0% to +150.0%, 95% confidence).",
        ),
        (
            0.01,
            -0.02,
            0.04,
            "No significant difference between B and A in p99 (+1.0% ± 3.0%, 95% confidence).",
        ),
    ],
)
def test_verdict_sentences(relative: float, low: float, high: float, expected: str) -> None:
    diff = Difference(
        metric="p99",
        baseline="A",
        other="B",
        relative=relative,
        low=low,
        high=high,
        higher_is_better=False,
        verdict="",
    )
    assert verdict_text(diff, "p99 latency (ns)", 0.95) == expected
