"""The numbers behind each figure: counts add up, ends are exact, statistics match the run."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pytest

import asyncgen
from asyncgen.report import (
    FIGURE_KEYS,
    InFlight,
    IssueLagFigure,
    LatencyDistribution,
    LatencyOverTime,
    RunData,
    Throughput,
    TokenFigure,
    TraceSamples,
    figures,
    load_run,
)
from asyncgen.report._binning import SCATTER_POINTS, percentiles_of, window_percentiles
from asyncgen.report._figures import ArrivalFidelity, in_flight, missing_figures
from tests.report.synthetic import write_synthetic_run


@pytest.fixture(scope="module")
def server(server_run: asyncgen.TestResult) -> RunData:
    return load_run(server_run.files["summary"].parent)


@pytest.fixture(scope="module")
def server_figures(server: RunData) -> dict[str, object]:
    return dict(figures(server))


def _samples(issued: list[int], completed: list[int], scheduled: list[int]) -> TraceSamples:
    n = len(issued)
    ints = np.arange(n, dtype=np.int64)
    return TraceSamples(
        sample_seq=ints,
        query_seq=ints,
        sample_idx=ints,
        scheduled_ns=np.asarray(scheduled, dtype=np.int64),
        issued_ns=np.asarray(issued, dtype=np.int64),
        completed_ns=np.asarray(completed, dtype=np.int64),
    )


def test_a_traced_server_run_has_every_server_figure(server_figures: dict[str, object]) -> None:
    assert set(server_figures) == set(FIGURE_KEYS) - {"tokens", "token_counts"}


def test_latency_distribution_counts_and_cdf_ends(
    server: RunData, server_figures: dict[str, object]
) -> None:
    fig = server_figures["latency_distribution"]
    assert isinstance(fig, LatencyDistribution)
    stats = server.sample_latency
    assert stats is not None and server.expected_samples is not None
    dist = fig.dist_ms
    assert dist.count == server.expected_samples
    assert int(dist.bin_counts.sum()) == server.expected_samples
    assert dist.cdf_x[0] == pytest.approx(stats.min_ns / 1e6)
    assert dist.cdf_x[-1] == pytest.approx(stats.max_ns / 1e6)
    assert dist.cdf_y[0] == pytest.approx(1 / dist.count)
    assert dist.cdf_y[-1] == 1.0
    assert np.all(np.diff(dist.cdf_x) >= 0) and np.all(np.diff(dist.cdf_y) > 0)
    assert fig.percentiles_source == "reported"
    assert fig.percentiles_ms == {p: v / 1e6 for p, v in stats.percentiles_ns.items()}


def test_trace_percentiles_reproduce_the_reported_ones(server: RunData) -> None:
    stats = server.sample_latency
    assert stats is not None and server.samples is not None
    computed = percentiles_of(server.samples.latency_ns.astype(float), tuple(stats.percentiles_ns))
    assert computed == {p: float(v) for p, v in stats.percentiles_ns.items()}


def test_throughput_windows_sum_to_the_samples(
    server: RunData, server_figures: dict[str, object]
) -> None:
    fig = server_figures["throughput"]
    assert isinstance(fig, Throughput)
    assert int(fig.completed_counts.sum()) == server.expected_samples
    assert int(fig.scheduled_counts.sum()) == server.expected_samples
    assert np.allclose(fig.completed_per_s * fig.window_width_s, fig.completed_counts)
    # 1000 QPS: while arrivals were scheduled, they came at about that rate.
    assert server.samples is not None
    last = (server.samples.scheduled_ns.max() - server.samples.scheduled_ns.min()) / 1e9
    arriving = fig.window_start_s + fig.window_width_s <= last
    assert 800 < float(fig.scheduled_per_s[arriving].mean()) < 1200


def test_latency_over_time_keeps_every_point_of_a_small_run(
    server: RunData, server_figures: dict[str, object]
) -> None:
    fig = server_figures["latency_over_time"]
    assert isinstance(fig, LatencyOverTime)
    assert fig.drawn_points == fig.total_points == server.expected_samples
    assert fig.target_ms == 20.0 and fig.target_label == "target latency"
    assert fig.t_s.min() == 0.0
    assert np.nanmax(fig.window_p99_ms) == pytest.approx(fig.latency_ms.max())


def test_issue_lag_matches_the_reported_lag(
    server_run: asyncgen.TestResult, server_figures: dict[str, object]
) -> None:
    fig = server_figures["issue_lag"]
    assert isinstance(fig, IssueLagFigure)
    assert (
        fig.dist_us is not None and int(fig.dist_us.bin_counts.sum()) == server_run.issue_lag.count
    )
    reported = server_run.issue_lag.percentiles_ns
    assert fig.percentiles_us == {p: v / 1000 for p, v in reported.items()}
    assert fig.health.p99_lag_ns == reported[0.99]
    assert fig.health.verdict in {"healthy", "strained", "behind"}


def test_arrival_fidelity_uses_every_inter_arrival(
    server: RunData, server_figures: dict[str, object]
) -> None:
    fig = server_figures["arrival_fidelity"]
    assert isinstance(fig, ArrivalFidelity)
    assert fig.rate_qps == 1000
    assert fig.realised.count == fig.scheduled.count == (server.query_count or 0) - 1
    # The plan is drawn from the very exponential it is tested against.
    assert fig.scheduled.pvalue > 1e-4
    assert np.all(np.diff(fig.scheduled_qq.expected_ms) > 0)


def test_in_flight_is_an_exact_step_function() -> None:
    # Issued at 0, 10, 20 ms; completed at 30, 15, 25 ms: 1, 2, 1, 2, 1, 0 in flight.
    ms = 1_000_000
    fig = in_flight(
        _samples([0, 10 * ms, 20 * ms], [30 * ms, 15 * ms, 25 * ms], [0, 10 * ms, 20 * ms])
    )
    assert isinstance(fig, InFlight)
    assert fig.peak == 2
    assert fig.mean == pytest.approx((30 + 5 + 5) / 30)
    first_third = fig.bin_start_s < 0.0099
    assert set(fig.bin_max[first_third].tolist()) == {1}
    assert fig.bin_mean[first_third] == pytest.approx(1.0)
    assert fig.bin_max.max() == 2
    # Equal bins: their means average to the time-weighted mean of the whole span.
    assert float(fig.bin_mean.mean()) == pytest.approx(fig.mean)
    assert np.all(fig.bin_mean <= fig.bin_max + 1e-9)


def test_window_percentiles_follow_the_reference_rule() -> None:
    times = np.array([0.1, 0.2, 0.3, 0.4, 1.5, 1.6])
    values = np.array([4.0, 1.0, 3.0, 2.0, 9.0, 8.0])
    got = window_percentiles(times, values, np.array([0.0, 1.0, 2.0, 3.0]), (0.5, 0.99))
    assert got[0.5][:2].tolist() == [3.0, 9.0]  # sorted[int(4 * 0.5)], sorted[int(2 * 0.5)]
    assert got[0.99][:2].tolist() == [4.0, 9.0]
    assert np.isnan(got[0.5][2])


def test_large_runs_draw_a_subset_but_count_everything(tmp_path: Path) -> None:
    n = SCATTER_POINTS + 10_000
    truth = write_synthetic_run(tmp_path, n)
    run = load_run(tmp_path)
    figs = figures(run)
    over_time = figs["latency_over_time"]
    assert isinstance(over_time, LatencyOverTime)
    assert over_time.total_points == n and over_time.drawn_points == SCATTER_POINTS
    assert over_time.latency_ms.max() == pytest.approx(truth["latency"].max() / 1e6)
    dist = figs["latency_distribution"]
    assert isinstance(dist, LatencyDistribution) and int(dist.dist_ms.bin_counts.sum()) == n
    assert dist.percentiles_source == "reported"
    rate = figs["throughput"]
    assert isinstance(rate, Throughput) and int(rate.completed_counts.sum()) == n


def test_an_untraced_run_keeps_to_the_reported_statistics(
    single_stream_untraced: asyncgen.TestResult,
) -> None:
    run = load_run(single_stream_untraced.files["summary"].parent)
    figs = figures(run)
    assert set(figs) == {"latency_distribution", "issue_lag"}
    assert set(missing_figures(run, figs)) == {
        "latency_over_time",
        "throughput",
        "in_flight",
    }
    assert any("No trace was written" in note for note in run.notes)
    dist = figs["latency_distribution"]
    assert isinstance(dist, LatencyDistribution) and dist.from_percentiles_only
    stats = run.sample_latency
    assert stats is not None
    assert dist.dist_ms.cdf_x.tolist() == pytest.approx(
        [stats.min_ns / 1e6, *(v / 1e6 for v in stats.percentiles_ns.values()), stats.max_ns / 1e6]
    )
    lag = figs["issue_lag"]
    assert isinstance(lag, IssueLagFigure) and lag.dist_us is None
    assert lag.health.p99_lag_ns == single_stream_untraced.issue_lag.percentiles_ns[0.99]


def test_a_test_result_brings_its_in_memory_latencies(
    single_stream_untraced: asyncgen.TestResult,
) -> None:
    run = load_run(single_stream_untraced)
    dist = figures(run)["latency_distribution"]
    assert isinstance(dist, LatencyDistribution) and not dist.from_percentiles_only
    assert int(dist.dist_ms.bin_counts.sum()) == single_stream_untraced.latencies_ns.size
    assert dist.percentiles_source == "reported"


def test_per_sample_token_data_gives_exact_tpot_and_tokens_per_second() -> None:
    ms = 1_000_000
    samples = attrs.evolve(
        _samples([0, 10 * ms, 20 * ms], [30 * ms, 15 * ms, 25 * ms], [0, 10 * ms, 20 * ms]),
        first_token_ns=np.array([10 * ms, 11 * ms, 21 * ms], dtype=np.int64),
        n_tokens=np.array([5, 3, 1], dtype=np.int64),
    )
    run = RunData(
        label="t",
        path=None,
        scenario="Server",
        mode="PerformanceOnly",
        valid=True,
        token_mode=True,
        query_count=3,
        samples=samples,
    )
    tokens = figures(run)["tokens"]
    assert isinstance(tokens, TokenFigure)
    assert tokens.ttft_per_sample and tokens.tpot_per_sample and not tokens.tokens_estimated
    assert tokens.ttft_ms is not None and tokens.ttft_ms.cdf_x.tolist() == [1.0, 1.0, 10.0]
    # (30 - 10) / 4 and (15 - 11) / 2 ms; the one-token sample has no TPOT.
    assert tokens.tpot_ms is not None and tokens.tpot_ms.cdf_x.tolist() == [2.0, 5.0]
    assert (tokens.tokens_per_s * tokens.window_width_s).sum() == pytest.approx(9)


def test_the_issue_lag_verdict_reads_the_engine_health(
    server_run: asyncgen.TestResult, tmp_path: Path
) -> None:
    folder = server_run.files["summary"].parent
    for path in folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text(encoding="utf-8"))
    results["health"] = {"fell_behind": True, "warnings": ["asyncgen issued in bursts."]}
    (tmp_path / "mlperf_log_results.json").write_text(json.dumps(results), encoding="utf-8")
    lag = figures(load_run(tmp_path))["issue_lag"]
    assert isinstance(lag, IssueLagFigure)
    assert lag.health.verdict == "behind"
    assert lag.health.text.startswith("asyncgen issued in bursts.")
