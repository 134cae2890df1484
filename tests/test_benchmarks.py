"""The benchmark harness's plumbing (not the benchmarks: those are ``make bench``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks._harness import (
    Figure,
    Options,
    Report,
    Search,
    format_report,
    run_side,
    server_valid,
    sleep_lateness_us,
)
from benchmarks._sides import lag_percentiles, parse_summary
from benchmarks.arrival_fidelity import _medians
from benchmarks.http_adapters import runqueue_wait_ns, sent_ks
from benchmarks.request_export import _measures


def test_search_climbs_then_bisects_to_the_precision() -> None:
    calls: list[float] = []

    def passes(qps: float) -> bool:
        calls.append(qps)
        return qps <= 12_345

    search = Search(start=1_000, growth=2.0, precision=0.05)
    found = search.run(passes)
    assert 12_345 / 1.05 <= found <= 12_345
    assert calls[:5] == [1_000, 2_000, 4_000, 8_000, 16_000]
    assert [ok for _, ok in search.probes] == [q <= 12_345 for q in calls]


def test_search_falls_from_a_start_that_fails_and_gives_up_at_the_floor() -> None:
    assert 300 / 1.05 <= Search(start=5_000).run(lambda q: q <= 300) <= 300
    assert Search(start=5_000, floor=100).run(lambda q: False) == 0.0


def test_figures_compare_medians_against_the_target() -> None:
    faster = Figure("qps", "QPS", [3.0, 1.0, 2.0], [1.0, 1.0, 1.0], ">= 2.0")
    assert (faster.asyncgen, faster.ratio, faster.met) == (2.0, 2.0, True)
    smaller = Figure("rss", "MiB", [30.0], [100.0], "<= 0.25")
    assert smaller.met is False
    info = Figure("lag", "ns", [1.0], [4.0], None)
    assert info.met is None
    assert math.isnan(Figure("x", "ns", [], [], None).asyncgen)
    text = format_report(Report("b", "d", "m", [faster, smaller, info]))
    assert "met" in text and "NOT MET" in text and "(no target)" in text


def test_summaries_parse_and_server_validity_needs_the_completed_rate() -> None:
    text = (
        "Completed samples per second    : 9900.00\n"
        "Result is : VALID\n"
        "Scheduled samples per second : 10000.00\n"
        "50.00 percentile latency (ns)   : 6979\n"
    )
    summary = parse_summary(text)
    assert summary["50.00 percentile latency (ns)"] == "6979"
    assert server_valid({"summary": summary})
    summary["Completed samples per second"] = "9899.99"
    assert not server_valid({"summary": summary})
    summary["Completed samples per second"], summary["Result is"] = "9950", "INVALID"
    assert not server_valid({"summary": summary})


def test_lag_percentiles_use_the_issue_lag_rule() -> None:
    lags = list(range(1000, 0, -1))  # 1..1000, unsorted
    assert lag_percentiles(lags) == {"50": 501, "90": 901, "99": 991, "99.9": 1000}
    assert lag_percentiles([]) == {}


def test_arrival_fidelity_takes_medians_of_the_runs_that_report_a_figure() -> None:
    runs = [{"sent_ks": 0.02, "cpu_us_per_request": 200.0}, {"sent_ks": 0.04}, {"error": ["x"]}]
    assert _medians(runs) == {"sent_ks": 0.03, "cpu_us_per_request": 200.0}


def test_the_bare_clients_fidelity_is_asyncgens_computation() -> None:
    even = [0, 10**9, 2 * 10**9, 3 * 10**9]  # gaps of exactly one mean at 1/s
    assert sent_ks(np.array(even, dtype=np.int64), 1.0) == pytest.approx(1 - math.exp(-1))
    assert runqueue_wait_ns() >= 0


def test_quick_options_pick_the_quick_value() -> None:
    assert Options(quick=True).pick(3000, 1000) == 1000
    assert Options().pick(3000, 1000) == 3000


@pytest.mark.realtime
@pytest.mark.parametrize("side", ["asyncgen", "reference"])
def test_each_side_runs_in_its_own_process(side: str) -> None:
    settings = {"server_target_qps": 2000.0, "min_duration_ms": 200}
    outcome = run_side(side, "server-null", settings, trace=True)
    summary = outcome["summary"]
    assert summary["Scenario"] == "Server"
    assert float(summary["Scheduled samples per second"]) > 0
    assert set(outcome["issue_lag_ns"]) == {"50", "90", "99", "99.9"}
    assert outcome["peak_rss_kib"] > 0


@pytest.mark.realtime
def test_the_export_benchmark_counts_the_requests_of_an_exporting_run() -> None:
    settings = {"server_target_qps": 2000.0, "min_duration_ms": 200}
    outcome = run_side("asyncgen", "server-null", settings, mode="timer", export="jsonl")
    measures = _measures(outcome)
    assert measures["requests"] == outcome["samples"] >= 100  # min_query_count's default
    assert measures["cpu_us_per_request"] == outcome["cpu_s"] * 1e6 / outcome["samples"]
    assert measures["issue_lag_p99_us"] == outcome["issue_lag_ns"]["99"] / 1000


def test_sleep_lateness_is_measured_as_percentiles_of_real_sleeps() -> None:
    noise = sleep_lateness_us(duration_s=0.05, sleep_s=0.001)
    assert set(noise) == {"50", "99", "99.9", "max"}
    assert 0 <= noise["50"] <= noise["99"] <= noise["99.9"] <= noise["max"]
