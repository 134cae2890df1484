"""The generator-health verdict and the arrival-fidelity statistics."""

from __future__ import annotations

import numpy as np
import pytest

from asyncgen.report import generator_health, ks_exponential
from asyncgen.report._fidelity import (
    exponential_qq,
    inter_arrivals_s,
    lag_budget_ns,
    with_schedule_check,
)

MS = 1_000_000
RATE = 500.0


def test_ks_is_small_for_an_exponential_sample() -> None:
    sample = np.random.default_rng(7).exponential(1 / RATE, 2000)
    result = ks_exponential(sample, RATE)
    assert result.count == 2000
    assert result.statistic < 0.03
    assert result.pvalue > 0.05


def test_ks_is_large_for_a_uniform_sample_of_the_same_mean() -> None:
    sample = np.random.default_rng(7).uniform(0, 2 / RATE, 2000)
    result = ks_exponential(sample, RATE)
    assert result.statistic > 0.1
    assert result.pvalue < 1e-9


def test_ks_notices_the_wrong_rate() -> None:
    sample = np.random.default_rng(7).exponential(1 / (RATE * 1.2), 5000)
    assert ks_exponential(sample, RATE).pvalue < 1e-6


def test_qq_expected_quantiles_are_the_exponential_ones() -> None:
    sample = np.random.default_rng(3).exponential(1 / RATE, 10_000)
    qq = exponential_qq(sample, RATE, points=101)
    assert qq.probabilities.size == 101
    assert qq.expected_ms == pytest.approx(-np.log1p(-qq.probabilities) / RATE * 1e3)
    middle = qq.probabilities.size // 2
    assert qq.observed_ms[middle] == pytest.approx(qq.expected_ms[middle], rel=0.05)
    assert qq.observed_ms[0] == pytest.approx(np.sort(sample)[0] * 1e3)


def test_inter_arrivals_sort_the_times_first() -> None:
    assert inter_arrivals_s(np.array([3_000_000_000, 1_000_000_000, 1_500_000_000])).tolist() == [
        0.5,
        1.5,
    ]


def test_health_verdicts_follow_the_budget() -> None:
    assert lag_budget_ns(100 * MS) == 10 * MS
    assert lag_budget_ns(5 * MS) == MS  # never under the timer granularity
    assert lag_budget_ns(0) == 10 * MS
    healthy = generator_health(20_000, MS // 2, 2 * MS, target_latency_ns=100 * MS)
    assert healthy.verdict == "healthy" and "kept up" in healthy.text
    strained = generator_health(20_000, 4 * MS, 9 * MS, target_latency_ns=100 * MS)
    assert strained.verdict == "strained" and "4.00 ms" in strained.text
    behind = generator_health(2 * MS, 12 * MS, 30 * MS, target_latency_ns=100 * MS)
    assert behind.verdict == "behind" and "fell behind" in behind.text
    # A tight latency bound leaves less room for lag.
    assert generator_health(0, 2 * MS, 2 * MS, target_latency_ns=10 * MS).verdict == "behind"


def test_the_engine_verdict_overrides_when_it_fell_behind() -> None:
    lag_only = generator_health(10_000, 200_000, MS, target_latency_ns=100 * MS)
    engine = {
        "fell_behind": True,
        "achieved_fraction": 0.9,
        "warnings": ["asyncgen fell behind its schedule: issued 900 queries/s of 1000."],
    }
    combined = with_schedule_check(lag_only, engine=engine)
    assert combined.verdict == "behind"
    assert combined.text.startswith("asyncgen fell behind its schedule")
    assert lag_only.text in combined.text


def test_a_kept_schedule_adds_the_achieved_rate() -> None:
    lag_only = generator_health(10_000, 200_000, MS)
    kept = with_schedule_check(lag_only, engine={"fell_behind": False, "achieved_fraction": 0.998})
    assert kept.verdict == "healthy"
    assert kept.text.endswith("Queries went out at 99.8% of the scheduled rate.")
    from_trace = with_schedule_check(lag_only, engine=None, achieved_fraction=0.5)
    assert from_trace.text.endswith("at 50.0% of the scheduled rate.")
    assert with_schedule_check(lag_only, engine=None) == lag_only
