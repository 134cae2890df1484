"""IssueLag: the summary of how late queries went out."""

from __future__ import annotations

import numpy as np

from asyncgen import IssueLag


def test_lags_in_any_order_give_the_summary_of_the_sorted_ones() -> None:
    lags = np.array([30, 10, 2_000, 20, 10], dtype=np.int64)
    summary = IssueLag.from_lags(lags)
    assert summary == IssueLag.from_sorted(np.sort(lags))
    assert (summary.count, summary.mean_ns, summary.max_ns) == (5, 414.0, 2_000)
    assert summary.percentiles_ns == {0.5: 20, 0.9: 2_000, 0.99: 2_000, 0.999: 2_000}
    assert lags.tolist() == [30, 10, 2_000, 20, 10]  # the caller's array is left as it was


def test_no_lags_summarise_to_zeros() -> None:
    empty = IssueLag.from_sorted(np.zeros(0, dtype=np.int32))
    assert (empty.count, empty.max_ns) == (0, 0)
    assert set(empty.percentiles_ns.values()) == {0}
