"""Plans for queries made at run time: later turns of multi-turn sessions, closed-loop users.

What can be planned up front still is: when each session starts (the arrival process, in the
``QueryPlan`` of ``generate_queries``) and which sample each session uses. What depends on
completions — the queries after a session's first — is numbered in issue order, and each
query's scheduled offset and sample are written into its slot just before it is issued.
``query_slots`` reserves such slots (ids and accuracy-log draws continue the run's sequence,
as if the queries had been generated), ``joined`` appends slots to a plan, and
``SessionSamples`` chooses the sample of each new session of a closed loop, seeded.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from asyncgen._config.effective import EffectiveSettings
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.queries import QueryPlan, index_type
from asyncgen._plan.rng import Mt19937, uniform_int_many
from asyncgen._plan.sampling import accuracy_log_offset, accuracy_log_probability
from asyncgen._plan.sequence import SequenceGen

_DRAWS = 4096  # closed-loop session samples drawn at a time


def query_slots(
    count: int, *, seq: SequenceGen, eff: EffectiveSettings, index_dtype: np.dtype[np.integer[Any]]
) -> QueryPlan:
    """``count`` one-sample queries whose offsets and samples are filled in at issue time."""
    first_query, first_sample, mask = seq.allocate(
        count,
        count,
        offset=accuracy_log_offset(eff.accuracy_log_rng_seed),
        probability=accuracy_log_probability(eff),
    )
    return QueryPlan(
        samples_per_query=1,
        query_count=count,
        duration_ns=0,
        scheduled_offsets_ns=np.zeros(count, dtype=np.int64),
        sample_indices=np.zeros(count, dtype=index_dtype),
        first_query_id=first_query,
        first_sample_id=first_sample,
        accuracy_log_mask=mask,
    )


def blank(plan: QueryPlan) -> QueryPlan:
    """``plan``'s ids and accuracy-log draws with empty slots (its queries become sessions)."""
    return attrs.evolve(
        plan,
        scheduled_offsets_ns=np.zeros(plan.query_count, dtype=np.int64),
        sample_indices=np.zeros(plan.query_count, dtype=plan.sample_indices.dtype),
    )


def joined(plan: QueryPlan, more: QueryPlan) -> QueryPlan:
    """``plan`` followed by ``more``, whose ids must continue it."""
    if (more.first_query_id, more.first_sample_id) != (
        plan.first_query_id + plan.query_count,
        plan.first_sample_id + plan.query_count * plan.samples_per_query,
    ):
        raise ValueError("the queries to append do not continue the plan's sequence ids")
    masks = (plan.accuracy_log_mask, more.accuracy_log_mask)
    mask = np.zeros(0, dtype=np.bool_)
    if any(m.size for m in masks):
        sizes = (plan.query_count, more.query_count)
        mask = np.concatenate(
            [m if m.size else np.zeros(n, np.bool_) for m, n in zip(masks, sizes, strict=True)]
        )
    return attrs.evolve(
        plan,
        query_count=plan.query_count + more.query_count,
        duration_ns=max(plan.duration_ns, more.duration_ns),
        scheduled_offsets_ns=np.concatenate([plan.scheduled_offsets_ns, more.scheduled_offsets_ns]),
        sample_indices=np.concatenate([plan.sample_indices, more.sample_indices]),
        accuracy_log_mask=mask,
    )


class SessionSamples:
    """The sample of each new session of a closed loop, in order.

    Performance runs draw uniformly from the loaded set, seeded with ``sample_index_rng_seed``;
    accuracy runs take every loaded sample once, in QSL order, and then have no more.
    """

    def __init__(self, eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool) -> None:
        self._table = np.array(
            loaded.indices[: loaded.distribution_end], dtype=index_type(max(loaded.indices))
        )
        self._accuracy = accuracy
        self._rng = Mt19937(eff.sample_index_rng_seed)
        # popped from the end: an accuracy run's in QSL order
        self._buffer: list[int] = sorted(self._table.tolist(), reverse=True) if accuracy else []

    def next(self) -> int | None:
        """The QSL index of the next session's sample (None: an accuracy run has used all)."""
        if not self._buffer:
            if self._accuracy:
                return None
            size = len(self._table)
            self._buffer = self._table[uniform_int_many(self._rng, 0, size - 1, _DRAWS)].tolist()
            self._buffer.reverse()  # popped from the end, so in draw order
        return self._buffer.pop()

    @property
    def index_dtype(self) -> np.dtype[np.integer[Any]]:
        """The narrowest integer type that holds every index."""
        dtype: np.dtype[np.integer[Any]] = self._table.dtype
        return dtype
