"""Early stopping (asyncgen._metrics.early_stopping): the reference's binomial test, bit for bit.

Numbers marked "reference" were printed by the real LoadGen 6.0.17 in the captured logs
(shared/reference/loadgen-logs) and are quoted in loadgen-semantics.md §10.3.
"""

from __future__ import annotations

import ctypes.util
import math

import numpy as np
import pytest

from asyncgen._metrics import early_stopping as es

I64 = np.int64


def scalar_series(b: int, c: int, x: float) -> float:
    """The reference loop, transcribed without any chunking."""
    term = 1.0
    result = 1.0
    i = 0
    while abs(term) > 1.0 / (1 << 33):
        term *= ((b + i) * x) / (c + i)
        result += term
        i += 1
    return result


# ----------------------------------------------------------------------------- numerics


@pytest.mark.skipif(ctypes.util.find_library("m") is None, reason="no libm")
def test_lgamma_is_glibcs_not_cpythons() -> None:
    # The reference calls glibc's lgamma; CPython ships its own, which differs in the last
    # bit for many integers (CPython 3.11 gives lgamma(3) = 0.693147180559945, one ulp
    # below log 2). No h(t) we could find depends on the difference, but odds() does.
    assert es.lgamma is not math.lgamma
    assert es.lgamma(3) == math.log(2)


def test_series_chunks_reproduce_the_scalar_loop_bit_for_bit() -> None:
    rng = np.random.default_rng(20240611)
    checked_long = 0
    for _ in range(400):
        p = float(rng.choice([0.5, 0.9, 0.95, 0.99, 0.999]))
        t = int(rng.integers(0, 30_000))
        h = max(1, int(t * p / (1 - p)) + int(rng.integers(-100, 2_000)))
        x = p / (p - 1)
        expected = scalar_series(-t, 1 + h, x)
        assert es.hypergeometric_2f1_a1(-t, 1 + h, x) == expected
        checked_long += t > 1_000
    assert checked_long > 300  # most cases run well past the scalar warm-up


def test_series_stops_when_the_term_hits_zero() -> None:
    assert es.hypergeometric_2f1_a1(0, 5, -9.0) == 1.0  # first term is 0 * x / c
    assert es.hypergeometric_2f1_a1(-1, 2, -9.0) == 1.0 + (-1 * -9.0) / 2
    with pytest.raises(ValueError, match="b <= 0"):
        es.hypergeometric_2f1_a1(1, 2, 0.5)


def test_odds_is_the_binomial_cdf() -> None:
    # t = 0: all h queries under latency, probability p ** h.
    assert es.odds(459, 0, 0.99, 0.0) == pytest.approx(0.99**459, rel=1e-12)
    # t = 1 over h + 1 queries: p^(h+1) + (h+1) p^h (1-p).
    h, p = 50, 0.9
    assert es.odds(h, 1, p, 0.0) == pytest.approx(p ** (h + 1) + (h + 1) * p**h * (1 - p))


# ----------------------------------------------------------------------------- h(t)


def test_reference_h_values() -> None:
    finder = es.MinPassingQueriesFinder()
    assert finder(0, 0.99) == 459  # reference: 4 queries -> "at least 455 more"
    assert finder(1, 0.99) == 661  # reference: MultiStream needs 662 queries
    assert finder(2, 0.99) == 836  # reference: 2 over latency, 231 queries -> "607 more"
    assert finder(10, 0.99) + 10 == 2010  # reference: 44 queries -> "1966 more"
    assert es.MinPassingQueriesFinder()(0, 0.9) == 44


@pytest.mark.parametrize(("percentile", "queries"), [(0.9, 64), (0.99, 662), (0.999, 6636)])
def test_minimum_queries_match_mlperf_conf(percentile: float, queries: int) -> None:
    assert es.min_queries_for_early_stopping(percentile) == queries


def test_h_is_the_smallest_passing_value() -> None:
    finder = es.MinPassingQueriesFinder()
    for t in range(0, 40):
        h = finder(t, 0.9)
        assert es.odds(h, t, 0.9, 0.0) < 0.01 <= es.odds(h - 1, t, 0.9, 0.0)


def test_cache_answers_repeat_calls_without_searching(monkeypatch: pytest.MonkeyPatch) -> None:
    finder = es.MinPassingQueriesFinder()
    first = [finder(t, 0.99) for t in range(5)]
    monkeypatch.setattr(es, "odds", lambda *a: pytest.fail("searched again"))
    assert [finder(t, 0.99) for t in range(5)] == first


def test_search_window_bounds_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a cache holding h(0) only, the window for t = 1 is [h0 + p/(1-p), h0 * 2 + 1]:
    # x0 = -1, y0 = 0 make the reference's "max_slope" (y1 - y0) * (x1 - x0) = h0.
    windows: list[tuple[int, int]] = []
    real = es._find_min_passing

    def spy(window: tuple[int, int], *args: float) -> int:
        windows.append(window)
        return real(window, *args)

    monkeypatch.setattr(es, "_find_min_passing", spy)
    finder = es.MinPassingQueriesFinder()
    finder(0, 0.9)
    finder(1, 0.9)
    assert windows == [(44, 45), (53, 89)]


def test_invalid_percentiles_are_rejected() -> None:
    for p in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="0 < p - d < 1"):
            es.MinPassingQueriesFinder()(1, p)


# ----------------------------------------------------------------------------- verdicts


def test_single_stream_905_queries_reference_text() -> None:
    n = 905
    sorted_latencies = np.arange(n, dtype=I64) * 10
    result = es.single_stream_early_stopping(sorted_latencies, n, 0.9)
    # reference: "Would discard 68", estimates at sorted[905 - 69] and sorted[905 - 2]
    assert result.text == (
        " * Processed at least 64 queries (905).\n"
        " * Would discard 68 highest latency queries.\n"
        f" * Early stopping 90.0th percentile estimate: {sorted_latencies[836]}\n"
        f" * Early stopping 99.0th percentile estimate: {sorted_latencies[903]}"
    )
    assert result.met
    assert (result.latency_ss, result.latency_ms) == (8360, 9030)


def test_single_stream_reference_discard_counts() -> None:
    finder = es.MinPassingQueriesFinder
    assert es.queries_to_discard(905, 0.9, finder()) == (63, 69)
    assert es.queries_to_discard(905, 0.99, finder()) == (661, 2)
    assert es.queries_to_discard(920, 0.9, finder()) == (63, 70)  # reference: discard 69
    assert es.queries_to_discard(601, 0.9, finder()) == (63, 43)  # reference: discard 42
    assert es.queries_to_discard(662, 0.99, finder()) == (661, 1)  # reference: discard 0
    assert es.queries_to_discard(63, 0.9, finder()) == (63, None)


def test_single_stream_too_few_for_the_99th_estimate() -> None:
    result = es.single_stream_early_stopping(np.arange(601, dtype=I64), 601, 0.9)
    assert result.met
    assert result.text.endswith(
        "\n * Not enough queries processed for 99.0th percentile\n"
        " early stopping estimate (would need to process at\n"
        " least 662 total queries)."
    )
    assert result.latency_ms == 0


def test_closed_loop_too_few_queries() -> None:
    expected = (
        " * Only processed 16 queries.\n * Need to process at least 64 queries for early stopping."
    )
    single = es.single_stream_early_stopping(np.arange(16, dtype=I64), 16, 0.9)
    assert (single.met, single.text) == (False, expected)
    multi = es.multi_stream_early_stopping(np.arange(16, dtype=I64), 16, 0.99)
    assert not multi.met and "at least 662 queries" in multi.text


def test_multi_stream_estimate_is_the_largest_at_the_minimum() -> None:
    q = np.arange(662, dtype=I64)
    result = es.multi_stream_early_stopping(q, 662, 0.99)
    assert result.text == (
        " * Processed at least 662 queries (662).\n"
        " * Would discard 0 highest latency queries.\n"
        " * Early stopping 99.0th percentile estimate: 661"
    )
    assert (result.latency_ss, result.latency_ms) == (0, 661)


def test_server_verdicts() -> None:
    ok = es.server_early_stopping(np.full(459, 5, dtype=I64), 459, 0.99, 10)
    assert (ok.met, ok.text) == (True, " * Run successful.")
    short = es.server_early_stopping(np.array([5, 5, 11, 5], dtype=I64), 4, 0.99, 10)
    assert not short.met
    assert short.text == (
        " * Run unsuccessful.\n"
        " * Processed 4 queries.\n"
        " * Would need to run at least 658 more queries,\n"  # h(1) + 1 - 4
        " with the run being successful if every additional\n"
        " query were under latency."
    )
    # A latency equal to the target is not over it.
    assert es.server_early_stopping(np.full(459, 10, dtype=I64), 459, 0.99, 10).met


def test_estimate_index_past_the_array_reads_zero() -> None:
    # The reference reads out of bounds when fewer latencies than queries exist.
    result = es.multi_stream_early_stopping(np.zeros(0, dtype=I64), 700, 0.99)
    assert result.met and result.latency_ms == 0


def test_bad_percentile_is_a_failed_check_not_a_crash() -> None:
    result = es.single_stream_early_stopping(np.arange(10, dtype=I64), 10, 1.0)
    assert not result.met and "between 0 and 1" in result.text


def test_large_single_stream_run_matches_a_fresh_scalar_check() -> None:
    # 100,000 queries: thousands of h(t) searches, long series through the NumPy path.
    n = 100_000
    h_min, t = es.queries_to_discard(n, 0.9, es.MinPassingQueriesFinder())
    assert (h_min, t) == (63, 9779)
    # The answer satisfies the definition: n < h(t + 1) + t + 1 and n >= h(t) + t.
    finder = es.MinPassingQueriesFinder()
    assert n >= finder(t, 0.9) + t
    assert n < finder(t + 1, 0.9) + t + 1
