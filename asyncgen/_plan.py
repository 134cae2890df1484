"""Loadable sets and query plans: which samples are issued, in which order, and when.

Pure functions of the effective settings and the QSL sizes, bit-exact with the reference
LoadGen 6.0.17 (``GenerateLoadableSets`` and ``GenerateQueries`` in its ``loadgen.cc``). The
whole plan is computed before the first issue, as the reference does, but as arrays rather
than one object per query, so a million-query plan costs tens of megabytes.

Random streams (all ``std::mt19937``, see ``asyncgen._rng``):

* ``qsl_rng_seed`` shuffles the sample indices before they are cut into loadable sets;
* ``sample_index_rng_seed`` drives, in this order, the shuffled order of accuracy mode (only
  in accuracy mode), the "unique" order and the equal-issue permutations (these two are always
  built, so they always consume the stream, used or not), then the per-query draws of
  performance mode or the block shuffles of Offline equal-issue mode;
* ``schedule_rng_seed`` drives the Server's exponential inter-arrival gaps;
* ``SequenceGen`` owns one more engine with the default seed, one draw per generated sample,
  used to pick the responses written to the accuracy log in performance mode. Only the
  resulting mask is kept (one byte per sample): the draws are made and tested in chunks.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._errors import SettingsError
from asyncgen._rng import (
    Mt19937,
    exponential_ns_many,
    generate_canonical,
    generate_canonical_many,
    shuffle,
    shuffle_repeatedly,
    skip_shuffles,
    successive_shuffles,
    uniform_int_many,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Indices = npt.NDArray[np.integer[Any]]  # the narrowest of uint16, int32, int64 that fits

# Entries drawn (or mapped) per batch while building per-sample arrays: bounds the temporaries
# of a million-sample plan to a few megabytes without slowing the batches down.
CHUNK = 1 << 16

# The reference would keep allocating (or loop forever, at absurd rates); we refuse instead.
MAX_GENERATED_QUERIES = 1 << 30


@attrs.frozen
class LoadableSet:
    """One set of samples loaded together."""

    indices: tuple[int, ...]  # QSL indices passed to load_samples, including MultiStream padding
    distribution_end: int  # size excluding MultiStream padding


def loadable_sets(
    eff: EffectiveSettings, qsl_total_count: int, sample_count: int
) -> list[LoadableSet]:
    """Shuffle ``[0, min(sample_count, qsl_total_count))`` and cut it into loadable sets.

    Performance runs pass ``eff.performance_sample_count`` and use the first set only;
    accuracy runs pass ``eff.accuracy_sample_count`` and use every set in turn. Sets hold
    ``eff.performance_sample_count`` samples (the last one may be smaller); in MultiStream
    each set is padded with ``samples_per_query - 1`` copies of its own first entries, so
    a query may start at any position and still read contiguous samples.
    """
    samples = list(range(min(sample_count, qsl_total_count)))
    shuffle(Mt19937(eff.qsl_rng_seed), samples)
    size = eff.performance_sample_count
    # A size of 0 never matches a non-empty chunk in the reference: everything is one set.
    chunks = [samples[i : i + size] for i in range(0, len(samples), size)] if size else [samples]
    chunks = [chunk for chunk in chunks if chunk]
    padding = eff.samples_per_query - 1 if eff.scenario is TestScenario.MultiStream else 0
    result = []
    for chunk in chunks:
        padded = list(chunk)
        for i in range(padding):  # may wrap around a set shorter than the padding
            padded.append(padded[i])
        result.append(LoadableSet(indices=tuple(padded), distribution_end=len(chunk)))
    return result


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


@attrs.frozen
class _Sizing:
    """Loop bounds of the reference's generation loop for one series."""

    samples_per_query: int
    gen_duration_ns: int  # keep generating while the last timestamp is below this...
    min_queries: int  # ...or fewer queries than this exist
    bump_step: int  # equal-issue: raise min_queries by this while short of the duration


def _sizing(eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool) -> _Sizing:
    scenario = eff.scenario
    set_size = len(loaded.indices)
    multiplier = 1 if scenario is TestScenario.Server else 2  # SS/MS generate twice the need
    gen_duration_ns = multiplier * eff.target_duration_ms * NS_PER_MS
    min_queries = eff.min_query_count
    spq = eff.samples_per_query
    if accuracy and scenario is TestScenario.Offline:
        spq = loaded.distribution_end
    if accuracy or eff.performance_issue_unique:
        gen_duration_ns = 0
        min_queries = set_size // spq  # MultiStream sets are padded, so this covers them
    return _Sizing(spq, gen_duration_ns, min_queries, 0)


def _pad_for_equal_issue(sizing: _Sizing, scenario: TestScenario, set_size: int) -> _Sizing:
    """Equal-issue mode issues whole passes over the loaded set."""
    if scenario is TestScenario.Offline:
        spq = sizing.samples_per_query
        if spq % set_size:
            spq += set_size - spq % set_size
        return attrs.evolve(sizing, samples_per_query=spq)
    min_queries = sizing.min_queries
    if min_queries % set_size:
        min_queries += set_size - min_queries % set_size
    return attrs.evolve(sizing, min_queries=min_queries, bump_step=set_size)


def _final_query_count(first_past_duration: int, sizing: _Sizing) -> int:
    """How many queries the generation loop emits.

    ``first_past_duration`` is the smallest count q whose last timestamp (that of query
    q - 1, or 0 for q = 0) has reached the generation duration. Before that count the loop
    always continues, and in equal-issue mode each count that has reached ``min_queries``
    raises it by the set size; the k-th raise happens at count ``max(k, m0 + (k-1) * step)``.
    """
    min_queries = sizing.min_queries
    last_short = first_past_duration - 1  # the last count still short of the duration
    step = sizing.bump_step
    if step and last_short >= 1 and min_queries <= last_short:
        raises = min(last_short, (last_short - min_queries) // step + 1)
        min_queries += raises * step
    return max(first_past_duration, min_queries)


def _schedule(eff: EffectiveSettings, sizing: _Sizing) -> tuple[I64, int]:
    """(scheduled offset of every query, timestamp after the last query), in ns."""
    gen = sizing.gen_duration_ns
    if eff.scenario is TestScenario.Server:
        return _poisson_schedule(eff, sizing)
    if eff.target_qps <= 0.0:
        raise SettingsError(f"target QPS must be positive to pace queries; got {eff.target_qps}")
    period = int((1.0 / eff.target_qps) * 1e9)  # duration_cast<ns> of the period in seconds
    if gen > 0 and period <= 0:
        raise SettingsError(
            f"the query period at {eff.target_qps} QPS truncates to 0 ns; the generation "
            "loop would never reach the test duration"
        )
    first_past = 0 if gen == 0 else -(-gen // period) + 1
    count = _final_query_count(first_past, sizing)
    _check_query_count(count, eff)
    return np.arange(count, dtype=np.int64) * period, count * period


def _check_query_count(count: int, eff: EffectiveSettings) -> None:
    if count > MAX_GENERATED_QUERIES:
        raise SettingsError(
            f"the settings ask for more than {MAX_GENERATED_QUERIES} generated queries "
            f"(target_qps {eff.target_qps}, min_duration_ms {eff.min_duration_ms}); "
            "check the expected latency or target QPS"
        )


def _poisson_schedule(eff: EffectiveSettings, sizing: _Sizing) -> tuple[I64, int]:
    """Exponential gaps at ``target_qps``, each truncated to ns, accumulated in int64."""
    if eff.target_qps <= 0.0:
        raise SettingsError(f"server_target_qps must be positive; got {eff.target_qps}")
    rng = Mt19937(eff.schedule_rng_seed)
    gen = sizing.gen_duration_ns
    guess = int(gen / 1e9 * eff.target_qps * 1.05) + sizing.min_queries + 64
    gaps = exponential_ns_many(rng, eff.target_qps, guess)
    while True:
        timestamps = np.zeros(len(gaps) + 1, dtype=np.int64)
        np.cumsum(gaps, out=timestamps[1:])
        first_past = 0
        if gen > 0:
            first_past = int(np.searchsorted(timestamps, gen, side="left")) + 1
        if first_past <= len(timestamps):
            count = _final_query_count(first_past, sizing)
            if count <= len(gaps):
                end = int(timestamps[count])
                del gaps  # its memory goes before the trim below
                timestamps.resize(count, refcheck=False)  # shrinks in place: no copy
                return timestamps, end
        _check_query_count(len(gaps), eff)
        # Unused extra gaps are harmless: this engine serves only the schedule.
        more = exponential_ns_many(rng, eff.target_qps, max(len(gaps) // 2, 64))
        gaps = np.concatenate([gaps, more])


def _hand_out(values: list[int], count: int, what: str) -> I64:
    """The first ``count`` entries of a distribution that is handed out in order."""
    if count > len(values):
        raise SettingsError(
            f"the {what} sample order has {len(values)} entries but the plan needs {count}"
        )
    return np.array(values[:count], dtype=np.int64)


def _check_position(position: int, span: int, loaded: LoadableSet) -> None:
    if position + span > len(loaded.indices):
        raise SettingsError(
            f"performance_issue_same_index {position} is outside the loaded set of "
            f"{len(loaded.indices)} samples"
        )


@attrs.frozen
class _Distributions:
    """What the reference builds from ``sample_rng`` before its generation loop."""

    accuracy_order: list[int]  # shuffled positions; empty in performance mode (drawn lazily)
    unique_order: list[int]  # the same kind of list, built in every mode
    equal_issue_order: I64  # concatenated permutations of the whole loaded set (if used)


def _build_distributions(
    rng: Mt19937,
    loaded: LoadableSet,
    stride: int,
    min_queries: int,
    *,
    accuracy: bool,
    equal_issue: bool,
) -> _Distributions:
    positions = list(range(0, loaded.distribution_end, stride))
    accuracy_order: list[int] = []
    if accuracy:
        accuracy_order = list(positions)
        shuffle(rng, accuracy_order)
    unique_order = list(positions)
    shuffle(rng, unique_order)
    set_size = len(loaded.indices)
    passes = -(-min_queries // set_size)  # one permutation per set_size queries, rounded up
    # The reference always draws these permutations; only equal-issue mode reads them.
    order = np.empty((passes if equal_issue else 0, set_size), dtype=np.int64)
    if equal_issue:
        shuffles = successive_shuffles(rng, list(range(set_size)), passes, chained=True)
        for row, perm in zip(order, shuffles, strict=True):
            row[:] = perm
    else:
        skip_shuffles(rng, set_size, passes)
    return _Distributions(accuracy_order, unique_order, order.reshape(-1))


def _multistream_positions(
    eff: EffectiveSettings,
    rng: Mt19937,
    dists: _Distributions,
    loaded: LoadableSet,
    *,
    count: int,
    spq: int,
    accuracy: bool,
) -> I64:
    """Start position of each query's contiguous window in the loaded set, then the window."""
    if eff.performance_issue_unique:
        starts = _hand_out(dists.unique_order, count, "unique")
    elif eff.performance_issue_same:
        _check_position(eff.performance_issue_same_index, spq, loaded)
        starts = np.full(count, eff.performance_issue_same_index, dtype=np.int64)
    elif accuracy:
        starts = _hand_out(dists.accuracy_order, count, "accuracy")
    else:
        starts = uniform_int_many(rng, 0, loaded.distribution_end - 1, count)
    return (starts[:, None] + np.arange(spq, dtype=np.int64)).reshape(-1)


def _offline_positions(
    eff: EffectiveSettings, rng: Mt19937, loaded: LoadableSet, count: int, spq: int
) -> I64:
    """The loaded set repeated to fill each query; equal-issue shuffles every full block."""
    set_size = len(loaded.indices)
    if eff.performance_issue_same:
        _check_position(eff.performance_issue_same_index, 1, loaded)
        return np.full(count * spq, eff.performance_issue_same_index, dtype=np.int64)
    repeats, remainder = divmod(spq, set_size)
    order = list(range(set_size))
    queries = []
    for _ in range(count):
        if eff.sample_concatenate_permutation and repeats:
            blocks = shuffle_repeatedly(rng, order, repeats, chained=False)
            full = np.array(blocks, dtype=np.int64).reshape(-1)
        else:
            full = np.tile(np.arange(set_size, dtype=np.int64), repeats)
        queries.append(np.concatenate([full, np.arange(remainder, dtype=np.int64)]))
    return np.concatenate(queries) if queries else np.empty(0, dtype=np.int64)


def _per_sample_positions(
    eff: EffectiveSettings,
    rng: Mt19937,
    dists: _Distributions,
    loaded: LoadableSet,
    n: int,
    *,
    accuracy: bool,
) -> I64:
    """SingleStream and Server: the first applicable source picks each sample."""
    if eff.performance_issue_unique:
        return _hand_out(dists.unique_order, n, "unique")
    if eff.performance_issue_same:
        _check_position(eff.performance_issue_same_index, 1, loaded)
        return np.full(n, eff.performance_issue_same_index, dtype=np.int64)
    if eff.sample_concatenate_permutation:  # also in accuracy mode, as the reference
        order = dists.equal_issue_order
        if len(order) == 0 and n:
            raise SettingsError("equal-issue mode with min_query_count 0 has no sample order")
        return order[np.arange(n) % max(len(order), 1)]
    if accuracy:
        return _hand_out(dists.accuracy_order, n, "accuracy")
    return _uniform_positions(rng, loaded.distribution_end - 1, n)


def _uniform_positions(rng: Mt19937, last: int, n: int) -> I64:
    """``n`` draws of ``uniform_int(0, last)``, made in chunks (the stream is the same)."""
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        out[start:stop] = uniform_int_many(rng, 0, last, stop - start)
    return out


def generate_queries(
    eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool, seq: SequenceGen
) -> QueryPlan:
    """The reference's ``GenerateQueries`` for one issue series, as arrays."""
    scenario = eff.scenario
    sizing = _sizing(eff, loaded, accuracy=accuracy)
    sample_rng = Mt19937(eff.sample_index_rng_seed)
    stride = sizing.samples_per_query if scenario is TestScenario.MultiStream else 1
    dists = _build_distributions(
        sample_rng,
        loaded,
        stride,
        sizing.min_queries,
        accuracy=accuracy,
        equal_issue=eff.sample_concatenate_permutation,
    )
    if eff.sample_concatenate_permutation and not accuracy:
        sizing = _pad_for_equal_issue(sizing, scenario, len(loaded.indices))
    offsets, duration_ns = _schedule(eff, sizing)
    count, spq = len(offsets), sizing.samples_per_query
    if scenario is TestScenario.MultiStream:
        positions = _multistream_positions(
            eff, sample_rng, dists, loaded, count=count, spq=spq, accuracy=accuracy
        )
    elif scenario is TestScenario.Offline:
        positions = _offline_positions(eff, sample_rng, loaded, count, spq)
    else:
        positions = _per_sample_positions(
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


def _to_qsl_indices(positions: I64, loaded: LoadableSet) -> Indices:
    """Positions in the loaded set -> QSL indices, a chunk at a time.

    In the narrowest integer type that holds every index (QSLs of up to 65,536 samples are
    common: two bytes per sample instead of eight); ``tolist`` and indexing read them alike.
    """
    table: Indices = np.array(loaded.indices, dtype=_index_type(max(loaded.indices, default=0)))
    out: Indices = np.empty(len(positions), dtype=table.dtype)
    for start in range(0, len(positions), CHUNK):
        out[start : start + CHUNK] = table[positions[start : start + CHUNK]]
    return out


def _index_type(largest: int) -> type[np.integer[Any]]:
    for kind in (np.uint16, np.int32):
        if largest <= np.iinfo(kind).max:
            return kind
    return np.int64


# --- accuracy-log sampling (performance mode) ----------------------------------------------


def accuracy_log_offset(accuracy_log_rng_seed: int) -> float:
    """The per-series offset: the first ``uniform_real(0, 1)`` of ``mt19937(seed)``."""
    return generate_canonical(Mt19937(accuracy_log_rng_seed))


def accuracy_log_probability(eff: EffectiveSettings) -> float:
    """The chance that a performance-mode response is logged.

    ``accuracy_log_sampling_target > 0`` replaces the configured probability by
    ``target / expected samples``, where the expectation is the larger of the samples
    ``target_qps`` gives over ``min_duration`` and the minimum sample count.
    """
    if eff.accuracy_log_sampling_target <= 0:
        return eff.accuracy_log_probability
    expected = int(eff.target_qps * eff.min_duration_ms / 1000)  # truncated to an integer
    if eff.scenario is TestScenario.Offline:
        minimum = eff.min_sample_count
    else:
        expected *= eff.samples_per_query
        minimum = eff.min_query_count * eff.samples_per_query
    expected = max(expected, minimum)
    if expected == 0:
        return float("inf")  # the reference divides by zero: every response is logged
    return eff.accuracy_log_sampling_target / expected


def accuracy_log_mask(values: F64, offset: float, probability: float) -> npt.NDArray[np.bool_]:
    """Which samples the reference logs: ``((value + offset) wrapped into [0, 1)) <= p``."""
    shifted = values + offset
    wrapped = np.where(shifted < 1.0, shifted, shifted - 1.0)
    return np.asarray(wrapped <= probability)
