"""What one issue series measured: the input of statistics, validity and the summary.

The fields mirror the reference's ``PerformanceResult``. Arrays are NumPy ``int64`` in
nanoseconds; times are seconds from the series start, as the reference computes them.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def _empty() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@attrs.frozen(kw_only=True)
class PerformanceResult:
    """Latencies and end times of one performance series."""

    # One latency per recorded sample (completion - scheduled), in sample sequence order.
    sample_latencies: IntArray
    # MultiStream only: one latency per issued query (last sample done - scheduled).
    query_latencies: IntArray = attrs.field(factory=_empty)
    queries_issued: int
    max_latency_s: float  # largest sample latency, seconds
    final_query_scheduled_s: float  # the last issued query's scheduled offset
    final_query_issued_s: float  # the last issued query's issue time
    final_query_all_samples_done_s: float  # when the last issued query's last sample completed
    # Token mode (use_token_latencies): per sample, in sample sequence order.
    first_token_latencies: IntArray = attrs.field(factory=_empty)
    time_per_output_token: IntArray = attrs.field(factory=_empty)
    tokens_per_sample: IntArray = attrs.field(factory=_empty)
