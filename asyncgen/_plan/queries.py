"""Query plans: which samples each query of a series issues, and when (``GenerateQueries``).

The whole plan is computed before the first issue, as the reference does, but as arrays rather
than one object per query, so a million-query plan costs tens of megabytes.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._plan.arrivals import ArrivalProcess
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.positions import (
    build_distributions,
    multistream_positions,
    offline_positions,
    per_sample_positions,
)
from asyncgen._plan.rng import CHUNK, I64, Mt19937
from asyncgen._plan.sampling import Mask, accuracy_log_offset, accuracy_log_probability
from asyncgen._plan.schedule import pad_for_equal_issue, plan_sizing, schedule
from asyncgen._plan.sequence import SequenceGen

Indices = npt.NDArray[np.integer[Any]]  # the narrowest of uint16, int32, int64 that fits


@attrs.frozen(eq=False)
class QueryPlan:
    """Every query of one issue series, generated up front."""

    samples_per_query: int  # generated_samples_per_query
    query_count: int  # generated_query_count
    duration_ns: int  # generated_query_duration: the timestamp after the last query
    scheduled_offsets_ns: I64  # one per query, from the start of the series
    sample_indices: Indices  # QSL indices, query_count * samples_per_query, in issue order
    first_query_id: int
    first_sample_id: int  # the k-th sample's seq_id is first_sample_id + k
    # Per sample: is its response written to the accuracy log in performance mode? (From
    # the SequenceGen draws, ``accuracy_log_rng_seed`` and the sampling probability.) Empty
    # when no sample is.
    accuracy_log_mask: Mask

    def query_samples(self, query: int) -> Indices:
        """The QSL indices of query number ``query`` (0-based within the plan)."""
        spq = self.samples_per_query
        return self.sample_indices[query * spq : (query + 1) * spq]


def generate_queries(
    eff: EffectiveSettings,
    loaded: LoadableSet,
    *,
    accuracy: bool,
    seq: SequenceGen,
    arrivals: ArrivalProcess | None = None,
) -> QueryPlan:
    """The reference's ``GenerateQueries`` for one issue series, as arrays.

    ``arrivals`` replaces the Server's Poisson schedule (``asyncgen._plan.arrivals``). A trace
    also chooses the samples: its ``r``-th record (in file order) issues the ``r mod n``-th of
    the ``n`` loaded samples in QSL order, so a QSL made from the trace's own records serves
    record ``r`` as sample ``r``.
    """
    scenario = eff.scenario
    sizing = plan_sizing(eff, loaded, accuracy=accuracy)
    sample_rng = Mt19937(eff.sample_index_rng_seed)
    stride = sizing.samples_per_query if scenario is TestScenario.MultiStream else 1
    dists = build_distributions(
        sample_rng,
        loaded,
        stride,
        sizing.min_queries,
        accuracy=accuracy,
        equal_issue=eff.sample_concatenate_permutation,
    )
    if eff.sample_concatenate_permutation and not accuracy:
        sizing = pad_for_equal_issue(sizing, scenario, len(loaded.indices))
    offsets, duration_ns = schedule(eff, sizing, arrivals)
    count, spq = len(offsets), sizing.samples_per_query
    if arrivals is not None and arrivals.trace is not None:
        positions = _trace_positions(arrivals, loaded)
    elif scenario is TestScenario.MultiStream:
        positions = multistream_positions(
            eff, sample_rng, dists, loaded, count=count, spq=spq, accuracy=accuracy
        )
    elif scenario is TestScenario.Offline:
        positions = offline_positions(eff, sample_rng, loaded, count, spq)
    else:
        positions = per_sample_positions(
            eff, sample_rng, dists, loaded, count * spq, accuracy=accuracy
        )
    sample_indices = _to_qsl_indices(positions, loaded)
    first_query, first_sample, log_mask = seq.allocate(
        count,
        len(sample_indices),
        offset=accuracy_log_offset(eff.accuracy_log_rng_seed),
        probability=accuracy_log_probability(eff),
    )
    return QueryPlan(
        samples_per_query=spq,
        query_count=count,
        duration_ns=duration_ns,
        scheduled_offsets_ns=offsets,
        sample_indices=sample_indices,
        first_query_id=first_query,
        first_sample_id=first_sample,
        accuracy_log_mask=log_mask,
    )


def _trace_positions(arrivals: ArrivalProcess, loaded: LoadableSet) -> I64:
    """Positions in the loaded set of the samples a trace's records issue, in replay order."""
    assert arrivals.trace is not None
    in_qsl_order = np.argsort(np.asarray(loaded.indices, dtype=np.int64), kind="stable")
    positions: I64 = in_qsl_order[arrivals.trace.order % len(loaded.indices)]
    return positions


def _to_qsl_indices(positions: I64, loaded: LoadableSet) -> Indices:
    """Positions in the loaded set -> QSL indices, a chunk at a time.

    In the narrowest integer type that holds every index (QSLs of up to 65,536 samples are
    common: two bytes per sample instead of eight); ``tolist`` and indexing read them alike.
    """
    table: Indices = np.array(loaded.indices, dtype=index_type(max(loaded.indices, default=0)))
    out: Indices = np.empty(len(positions), dtype=table.dtype)
    for start in range(0, len(positions), CHUNK):
        out[start : start + CHUNK] = table[positions[start : start + CHUNK]]
    return out


def index_type(largest: int) -> type[np.integer[Any]]:
    """The narrowest of uint16, int32 and int64 that holds QSL indices up to ``largest``."""
    for kind in (np.uint16, np.int32):
        if largest <= np.iinfo(kind).max:
            return kind
    return np.int64
