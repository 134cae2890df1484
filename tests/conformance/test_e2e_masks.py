"""The end-to-end comparison's masks: what they hide where the machine decides a count."""

from __future__ import annotations

from tests.conformance._e2e_compare import comparable_detail, comparable_summary

ESTIMATED = """ * Processed at least 64 queries (900).
 * Would discard 3 highest latency queries.
 * Early stopping 90.0th percentile estimate: 1234
 * Early stopping 99.0th percentile estimate: 5678"""
TOO_FEW = """ * Processed at least 64 queries (500).
 * Would discard 1 highest latency queries.
 * Early stopping 90.0th percentile estimate: 1234
 * Not enough queries processed for 99.0th percentile
 early stopping estimate (would need to process at
 least 662 total queries)."""


def _detail(text: str) -> list[list[object]]:
    return [["early_stopping_result", text.replace("\n", " "), False, False]]  # as logged


def test_too_few_queries_for_the_p99_estimate_is_a_count_where_the_machine_decides() -> None:
    """A closed loop ending on max_duration runs as many queries as the machine manages:
    whether they reach the 662 the p99 estimate needs is not compared, in either log."""
    assert comparable_summary(TOO_FEW, exact=False) == comparable_summary(ESTIMATED, exact=False)
    for ours in (False, True):
        too_few = comparable_detail(_detail(TOO_FEW), ours=ours, exact=False)
        assert too_few == comparable_detail(_detail(ESTIMATED), ours=ours, exact=False)


def test_where_counts_are_exact_the_wording_is_compared() -> None:
    assert comparable_summary(TOO_FEW, exact=True) != comparable_summary(ESTIMATED, exact=True)
    too_few = comparable_detail(_detail(TOO_FEW), ours=True, exact=True)
    assert too_few != comparable_detail(_detail(ESTIMATED), ours=True, exact=True)
