"""Token counts of a series: per issued sample in, per completed sample out, summarised."""

from __future__ import annotations

import numpy as np

from asyncgen._metrics.tokens import TokenDistribution, token_counts


def test_inputs_are_looked_up_once_per_distinct_index() -> None:
    asked: list[int] = []

    def lookup(index: int) -> int | None:
        asked.append(index)
        return None if index == 3 else 100 + index

    counts = token_counts(
        np.array([2, 0, 2, 3, 1], dtype=np.uint16), lookup, np.array([5, 6], dtype=np.int64)
    )
    assert counts is not None
    assert sorted(asked) == [0, 1, 2, 3]
    assert counts.input_per_sample.tolist() == [102, 100, 102, 101]  # index 3 is unknown
    assert counts.input is not None and counts.input.total == 405
    assert counts.output is not None and counts.output.count == 2


def test_nothing_known_is_none() -> None:
    assert token_counts([1, 2], None, None) is None
    assert token_counts([1, 2], lambda i: None, np.zeros(0, dtype=np.int64)) is None
    only_out = token_counts([], None, np.array([7], dtype=np.int64))
    assert only_out is not None and only_out.input is None


def test_distribution_summary_and_histogram() -> None:
    values = np.arange(1, 1001, dtype=np.int64)
    dist = TokenDistribution.of(values)
    assert dist is not None
    assert (dist.count, dist.total, dist.min, dist.max) == (1000, 500500, 1, 1000)
    assert dist.percentiles == {0.5: 501, 0.9: 901, 0.99: 991}
    edges, hist = dist.histogram
    assert len(hist) <= 20 and sum(hist) == 1000
    assert edges[0] == 1 and edges[-1] > 1000
    assert dist.to_dict()["percentiles"] == {"50": 501, "90": 901, "99": 991}
    assert TokenDistribution.from_dict(dist.to_dict()) == dist
    one = TokenDistribution.of(np.array([128, 128], dtype=np.int64))
    assert one is not None and one.histogram == ((128, 129), (2,))
    assert TokenDistribution.of(np.zeros(0, dtype=np.int64)) is None
