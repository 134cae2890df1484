"""Query and sample sequence ids across a run's series, and each sample's accuracy-log draw.

``SequenceGen`` owns an engine with the default seed, one draw per generated sample, used to
pick the responses written to the accuracy log in performance mode. Only the resulting mask is
kept (one byte per sample): the draws are made and tested in chunks.
"""

from __future__ import annotations

import numpy as np

from asyncgen._plan.rng import CHUNK, Mt19937, generate_canonical_many
from asyncgen._plan.sampling import Mask, accuracy_log_mask


class SequenceGen:
    """Query and sample sequence ids, and the accuracy-log draw of every sample.

    One per ``run_test``: a SubmissionRun shares it between the accuracy and the performance
    pass, so ids keep increasing across passes. The draws come from an engine with the
    default seed, one ``uniform_real(0, 1)`` per generated sample in sequence order.
    """

    def __init__(self) -> None:
        self._accuracy_log_rng = Mt19937()
        self._next_query_id = 0
        self._next_sample_id = 0

    def allocate(
        self, query_count: int, sample_count: int, *, offset: float, probability: float
    ) -> tuple[int, int, Mask]:
        """Reserve ids for a plan: (first query id, first sample id, accuracy-log mask).

        The mask applies ``accuracy_log_mask`` to this plan's draws; the draws themselves are
        dropped chunk by chunk, so a plan never holds eight bytes per sample for them. A mask
        with no sample set is returned empty.
        """
        first_query, first_sample = self._next_query_id, self._next_sample_id
        self._next_query_id += query_count
        self._next_sample_id += sample_count
        mask = np.empty(sample_count, dtype=np.bool_)
        for start in range(0, sample_count, CHUNK):
            stop = min(start + CHUNK, sample_count)
            draws = generate_canonical_many(self._accuracy_log_rng, stop - start)
            mask[start:stop] = accuracy_log_mask(draws, offset, probability)
        if not mask.any():  # the usual case: no sampled responses, and no mask to keep
            mask = np.zeros(0, dtype=np.bool_)
        return first_query, first_sample, mask
