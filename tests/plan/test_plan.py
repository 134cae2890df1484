"""Loadable sets and query plans: reference values and invariants.

Reference values come from the real LoadGen 6.0.17 logs (QSL 64 / performance count 16, all
seeds 0, min_duration 1 s); the side-by-side comparison with the library itself is in
tests/conformance/test_plan_reference.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgen._config.effective import EffectiveSettings, effective_settings
from asyncgen._errors import SettingsError
from asyncgen._plan.loadable import LoadableSet, loadable_sets
from asyncgen._plan.queries import QueryPlan, _to_qsl_indices, generate_queries
from asyncgen._plan.rng import CHUNK, Mt19937, generate_canonical, generate_canonical_many
from asyncgen._plan.sampling import accuracy_log_mask, accuracy_log_offset, accuracy_log_probability
from asyncgen._plan.schedule import Sizing, _final_query_count
from asyncgen._plan.sequence import SequenceGen
from asyncgen.settings import TestMode, TestScenario, TestSettings

SS, MS, SERVER, OFFLINE = (
    TestScenario.SingleStream,
    TestScenario.MultiStream,
    TestScenario.Server,
    TestScenario.Offline,
)
REFERENCE_PERFORMANCE_SET = (0, 13, 1, 5, 9, 11, 4, 12, 6, 10, 3, 15, 14, 2, 7, 8)


def _eff(perf: int = 16, total: int = 64, **kwargs: Any) -> EffectiveSettings:
    return effective_settings(TestSettings(**kwargs), perf, total)[0]


def _perf_plan(eff: EffectiveSettings, total: int = 64) -> tuple[LoadableSet, QueryPlan]:
    loaded = loadable_sets(eff, total, eff.performance_sample_count)[0]
    return loaded, generate_queries(eff, loaded, accuracy=False, seq=SequenceGen())


def _accuracy_plans(eff: EffectiveSettings, total: int) -> list[tuple[LoadableSet, QueryPlan]]:
    seq = SequenceGen()
    sets = loadable_sets(eff, total, eff.accuracy_sample_count)
    return [(s, generate_queries(eff, s, accuracy=True, seq=seq)) for s in sets]


# --- loadable sets ----------------------------------------------------------------------------


def test_performance_set_is_a_permutation_of_the_performance_count() -> None:
    sets = loadable_sets(_eff(), 64, 16)
    assert sets == [LoadableSet(indices=REFERENCE_PERFORMANCE_SET, distribution_end=16)]


def test_accuracy_sets_partition_the_accuracy_count() -> None:
    sets = loadable_sets(_eff(total=40), 40, 40)
    assert [s.distribution_end for s in sets] == [16, 16, 8]
    assert sorted(i for s in sets for i in s.indices) == list(range(40))


def test_sample_count_is_capped_by_the_qsl() -> None:
    sets = loadable_sets(_eff(perf=100, total=10), 10, 100)
    assert sorted(sets[0].indices) == list(range(10))


def test_seed_is_used_modulo_two_to_the_32() -> None:
    assert loadable_sets(_eff(qsl_rng_seed=2**32 + 5), 64, 64) == loadable_sets(
        _eff(qsl_rng_seed=5), 64, 64
    )


def test_zero_set_size_keeps_every_sample_in_one_set() -> None:
    sets = loadable_sets(_eff(perf=0, total=20), 20, 20)
    assert len(sets) == 1
    assert sorted(sets[0].indices) == list(range(20))


@given(st.integers(1, 50), st.integers(1, 20), st.integers(1, 12), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_multistream_sets_are_padded_cyclically(total: int, perf: int, spq: int, seed: int) -> None:
    eff = _eff(
        perf=perf, total=total, scenario=MS, multi_stream_samples_per_query=spq, qsl_rng_seed=seed
    )
    sets = loadable_sets(eff, total, total)
    for s in sets:
        end = s.distribution_end
        assert len(s.indices) == end + spq - 1
        assert all(s.indices[i] == s.indices[i % end] for i in range(len(s.indices)))
    assert sorted(i for s in sets for i in s.indices[: s.distribution_end]) == list(range(total))


# --- reference performance plans -------------------------------------------------------------


def test_server_plan_matches_the_reference_log() -> None:
    loaded, plan = _perf_plan(_eff(scenario=SERVER, min_duration_ms=1000, server_target_qps=600))
    assert loaded.indices == REFERENCE_PERFORMANCE_SET
    assert (plan.query_count, plan.samples_per_query) == (595, 1)
    assert plan.duration_ns == 1001104761
    assert plan.sample_indices[:20].tolist() == [
        *(12, 5, 10, 1, 0, 11, 10, 1, 10, 5),
        *(10, 4, 8, 7, 3, 12, 11, 10, 4, 7),
    ]
    offsets = plan.scheduled_offsets_ns
    assert offsets.dtype == np.int64
    assert offsets[0] == 0
    assert np.all(np.diff(offsets) >= 0)
    assert offsets[-2] < 1_000_000_000 <= offsets[-1] < plan.duration_ns


def test_single_stream_plan_matches_the_reference_log() -> None:
    _, plan = _perf_plan(_eff(scenario=SS, min_duration_ms=1000))
    assert (plan.query_count, plan.duration_ns) == (2001, 2001000000)
    assert plan.sample_indices[:10].tolist() == [12, 5, 10, 1, 0, 11, 10, 1, 10, 5]
    assert plan.scheduled_offsets_ns[:3].tolist() == [0, 1_000_000, 2_000_000]


def test_multistream_plan_matches_the_reference_log() -> None:
    eff = _eff(
        scenario=MS,
        min_duration_ms=1000,
        multi_stream_expected_latency_ns=1.5e6,
        min_query_count=662,
    )
    _, plan = _perf_plan(eff)
    assert (plan.query_count, plan.samples_per_query) == (1335, 8)
    assert plan.duration_ns == 2002500000
    assert plan.query_samples(0).tolist() == [15, 14, 2, 7, 8, 0, 13, 1]


def test_offline_plan_repeats_the_loaded_set() -> None:
    loaded, plan = _perf_plan(
        _eff(scenario=OFFLINE, min_duration_ms=1000, offline_expected_qps=1000)
    )
    assert (plan.query_count, plan.samples_per_query, plan.duration_ns) == (1, 1100, 1_000_000)
    expected = (list(loaded.indices) * 69)[:1100]
    assert plan.sample_indices.tolist() == expected
    assert plan.scheduled_offsets_ns.tolist() == [0]


# --- stop rule --------------------------------------------------------------------------------


def _literal_count(timestamps: list[int], gen: int, min_queries: int, step: int) -> int:
    """The reference's generation loop, transcribed literally over given timestamps."""
    count, prev = 0, 0
    while prev < gen or count < min_queries:
        prev = timestamps[count]
        count += 1
        if step and count >= min_queries and prev < gen:
            min_queries += step
    return count


@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=60),
    st.integers(0, 400),
    st.integers(0, 40),
    st.sampled_from([0, 1, 3, 16]),
)
@settings(max_examples=200, deadline=None)
def test_final_query_count_equals_the_literal_loop(
    gaps: list[int], gen: int, min_queries: int, step: int
) -> None:
    timestamps = [0, *np.cumsum(gaps).tolist()]
    timestamps += [timestamps[-1] + gen + 1] * (gen + min_queries + 2 * step + 5)
    first_past = 0 if gen == 0 else next(i for i, t in enumerate(timestamps) if t >= gen) + 1
    sizing = Sizing(1, gen, min_queries, step)
    assert _final_query_count(first_past, sizing) == _literal_count(
        timestamps, gen, min_queries, step
    )


@given(
    st.sampled_from([SS, MS, SERVER]),
    st.integers(1, 60),
    st.floats(200.0, 5000.0),
    st.integers(0, 120),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_counts_follow_the_stop_rule(
    scenario: TestScenario, min_duration_ms: int, qps: float, min_queries: int, seed: int
) -> None:
    eff = _eff(
        scenario=scenario,
        min_duration_ms=min_duration_ms,
        min_query_count=min_queries,
        server_target_qps=qps,
        single_stream_expected_latency_ns=1e9 / qps,
        multi_stream_expected_latency_ns=1e9 / qps,
        schedule_rng_seed=seed,
        sample_index_rng_seed=seed,
    )
    _, plan = _perf_plan(eff)
    gen = (1 if scenario is SERVER else 2) * min_duration_ms * 1_000_000
    offsets = plan.scheduled_offsets_ns
    assert len(offsets) == plan.query_count >= min_queries
    assert plan.sample_indices.shape == (plan.query_count * plan.samples_per_query,)
    assert offsets[-1] >= gen or plan.query_count == min_queries
    if plan.query_count > max(min_queries, 1):
        assert offsets[-2] < gen  # no query past the one that reached the duration
    assert plan.duration_ns >= offsets[-1]


def test_fixed_spacing_truncates_the_period_to_ns() -> None:
    _, plan = _perf_plan(
        _eff(scenario=SS, single_stream_expected_latency_ns=333.5, min_duration_ms=1)
    )
    # duration_cast<ns> truncates the fractional period (about 333.5 ns) to 333 ns.
    assert plan.scheduled_offsets_ns[:3].tolist() == [0, 333, 666]


# --- accuracy mode ----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [SS, SERVER, OFFLINE])
@given(total=st.integers(1, 70), perf=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_accuracy_mode_issues_every_sample_once_per_set(
    scenario: TestScenario, total: int, perf: int, seed: int
) -> None:
    eff = _eff(
        perf=perf,
        total=total,
        scenario=scenario,
        mode=TestMode.AccuracyOnly,
        server_target_qps=1000,
        sample_index_rng_seed=seed,
        qsl_rng_seed=seed,
    )
    for loaded, plan in _accuracy_plans(eff, total):
        assert sorted(plan.sample_indices.tolist()) == sorted(loaded.indices)
        if scenario is OFFLINE:
            assert plan.query_count == 1
            assert plan.sample_indices.tolist() == list(loaded.indices)  # loaded order


@given(
    total=st.integers(1, 60),
    perf=st.integers(1, 25),
    spq=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_multistream_accuracy_covers_each_set_with_contiguous_windows(
    total: int, perf: int, spq: int, seed: int
) -> None:
    eff = _eff(
        perf=perf,
        total=total,
        scenario=MS,
        mode=TestMode.AccuracyOnly,
        multi_stream_samples_per_query=spq,
        sample_index_rng_seed=seed,
    )
    for loaded, plan in _accuracy_plans(eff, total):
        end = loaded.distribution_end
        assert plan.query_count == -(-end // spq)
        windows = plan.sample_indices.reshape(plan.query_count, spq).tolist()
        starts = sorted(loaded.indices.index(w[0]) for w in windows)
        assert starts == list(range(0, end, spq))
        issued = Counter(plan.sample_indices.tolist())
        assert set(issued) == set(loaded.indices[:end])


def test_sequence_ids_and_draws_continue_across_plans() -> None:
    eff = _eff(total=40, scenario=SS, mode=TestMode.AccuracyOnly)
    plans = [p for _, p in _accuracy_plans(eff, 40)]
    assert [p.first_sample_id for p in plans] == [0, 16, 32]
    assert [p.first_query_id for p in plans] == [0, 16, 32]
    draws = generate_canonical_many(Mt19937(5489), 40)
    offset = accuracy_log_offset(eff.accuracy_log_rng_seed)
    expected = accuracy_log_mask(draws, offset, accuracy_log_probability(eff))
    assert not expected.any()  # no sampling here: every plan's mask is empty
    assert [p.accuracy_log_mask.size for p in plans] == [0, 0, 0]


def test_a_mask_without_sampled_samples_is_empty_and_the_draws_still_advance() -> None:
    seq = SequenceGen()
    _, _, none = seq.allocate(1, 10, offset=0.3, probability=0.0)
    _, _, some = seq.allocate(1, 50, offset=0.3, probability=0.5)
    assert none.size == 0
    draws = generate_canonical_many(Mt19937(5489), 60)[10:]  # the first ten were drawn
    assert some.tolist() == accuracy_log_mask(draws, 0.3, 0.5).tolist()


def test_accuracy_log_masks_follow_one_draw_stream_across_allocations_and_chunks() -> None:
    seq = SequenceGen()
    sizes = [5, CHUNK + 7, 3]  # the middle plan spans two chunks of draws
    got = [seq.allocate(1, n, offset=0.3, probability=0.5) for n in sizes]
    assert [first for _, first, _ in got] == [0, 5, CHUNK + 12]
    masks = np.concatenate([mask for _, _, mask in got])
    expected = accuracy_log_mask(generate_canonical_many(Mt19937(5489), sum(sizes)), 0.3, 0.5)
    assert masks.dtype == np.bool_
    assert masks.tolist() == expected.tolist()
    assert 0 < int(masks.sum()) < len(masks)


# --- special sample modes ---------------------------------------------------------------------


@given(st.integers(0, 2**32 - 1), st.integers(2, 40))
@settings(max_examples=30, deadline=None)
def test_multistream_windows_are_contiguous_in_the_loaded_set(seed: int, spq: int) -> None:
    eff = _eff(
        scenario=MS,
        multi_stream_samples_per_query=spq,
        min_duration_ms=5,
        multi_stream_expected_latency_ns=1e6,
        sample_index_rng_seed=seed,
    )
    loaded, plan = _perf_plan(eff)
    padded = list(loaded.indices)
    for q in range(plan.query_count):
        window = plan.query_samples(q).tolist()
        start = padded.index(window[0])
        assert start < loaded.distribution_end
        assert window == padded[start : start + spq]


def test_single_stream_equal_issue_issues_whole_permutations() -> None:
    eff = _eff(
        scenario=SS, sample_concatenate_permutation=True, min_duration_ms=20, min_query_count=10
    )
    loaded, plan = _perf_plan(eff)
    assert plan.query_count % 16 == 0
    assert plan.query_count >= eff.min_query_count
    passes = plan.sample_indices.reshape(-1, 16)
    for issued in passes.tolist():
        assert sorted(issued) == sorted(loaded.indices)
    assert len({tuple(p) for p in passes.tolist()}) > 1


@given(st.integers(1, 200), st.integers(1, 100), st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_server_equal_issue_count_is_a_multiple_of_the_set(
    min_duration_ms: int, min_queries: int, seed: int
) -> None:
    eff = _eff(
        scenario=SERVER,
        sample_concatenate_permutation=True,
        server_target_qps=500,
        min_duration_ms=min_duration_ms,
        min_query_count=min_queries,
        schedule_rng_seed=seed,
    )
    _, plan = _perf_plan(eff)
    assert plan.query_count % 16 == 0
    assert plan.query_count >= min_queries
    counts = Counter(plan.sample_indices.tolist())
    assert set(counts.values()) == {plan.query_count // 16}


def test_offline_equal_issue_pads_and_shuffles_each_block() -> None:
    eff = _eff(
        scenario=OFFLINE,
        sample_concatenate_permutation=True,
        offline_expected_qps=1000,
        min_duration_ms=100,
    )
    loaded, plan = _perf_plan(eff)
    assert plan.samples_per_query == 112  # 110 padded to a multiple of 16
    blocks = plan.sample_indices.reshape(7, 16).tolist()
    assert all(sorted(b) == sorted(loaded.indices) for b in blocks)
    assert blocks[0] != list(loaded.indices)


@pytest.mark.parametrize("scenario", [SS, MS, SERVER, OFFLINE])
def test_performance_issue_unique_issues_each_loaded_sample_once(scenario: TestScenario) -> None:
    eff = _eff(scenario=scenario, performance_issue_unique=True, multi_stream_samples_per_query=4)
    loaded, plan = _perf_plan(eff)
    issued = plan.sample_indices.tolist()
    assert sorted(issued) == sorted(loaded.indices[: loaded.distribution_end])
    assert plan.query_count == (1 if scenario is OFFLINE else 16 // plan.samples_per_query)


@pytest.mark.parametrize("scenario", [SS, SERVER, OFFLINE])
def test_performance_issue_same_repeats_one_loaded_position(scenario: TestScenario) -> None:
    eff = _eff(
        scenario=scenario,
        performance_issue_same=True,
        performance_issue_same_index=3,
        min_duration_ms=10,
        offline_expected_qps=1000,
    )
    loaded, plan = _perf_plan(eff)
    assert set(plan.sample_indices.tolist()) == {loaded.indices[3]} == {5}


def test_multistream_same_index_issues_the_window_there() -> None:
    eff = _eff(
        scenario=MS,
        performance_issue_same=True,
        performance_issue_same_index=3,
        multi_stream_samples_per_query=4,
        min_duration_ms=10,
    )
    loaded, plan = _perf_plan(eff)
    window = list(loaded.indices[3:7])
    assert plan.sample_indices.reshape(-1, 4).tolist() == [window] * plan.query_count


def test_same_index_outside_the_loaded_set_is_refused() -> None:
    eff = _eff(scenario=SS, performance_issue_same=True, performance_issue_same_index=16)
    with pytest.raises(SettingsError, match="outside the loaded set"):
        _perf_plan(eff)


def test_unique_order_that_runs_out_is_refused() -> None:
    # A set longer than its distribution asks for more unique queries than the order holds;
    # the reference would throw std::out_of_range here.
    eff = _eff(scenario=SERVER, performance_issue_unique=True)
    plan = generate_queries(
        eff,
        LoadableSet(indices=(0, 1, 2, 3), distribution_end=4),
        accuracy=False,
        seq=SequenceGen(),
    )
    assert plan.query_count == 4  # unique: one query per loaded sample
    with pytest.raises(SettingsError, match="sample order"):
        generate_queries(
            eff,
            LoadableSet(indices=(0, 1, 2, 3, 3), distribution_end=4),
            accuracy=False,
            seq=SequenceGen(),
        )


def test_equal_issue_reuses_its_permutations_round_robin() -> None:
    # The permutations are built for the padded-before min_query_count (here one pass of 16);
    # the in-loop bumps then hand the same permutation out again and again.
    eff = _eff(
        scenario=SERVER,
        sample_concatenate_permutation=True,
        min_query_count=1,
        min_duration_ms=200,
        server_target_qps=500,
    )
    _, plan = _perf_plan(eff)
    issued = plan.sample_indices.tolist()
    assert len(issued) > 32
    assert len(issued) % 16 == 0
    assert issued == issued[:16] * (len(issued) // 16)


def test_runaway_generation_is_refused() -> None:
    eff = _eff(scenario=SS, single_stream_expected_latency_ns=1.0, min_duration_ms=600_000)
    with pytest.raises(SettingsError, match="generated queries"):
        _perf_plan(eff)
    eff = _eff(scenario=SS, single_stream_expected_latency_ns=0.5, min_duration_ms=1)
    with pytest.raises(SettingsError, match="truncates to 0 ns"):
        _perf_plan(eff)


def test_zero_qps_is_refused() -> None:
    eff = _eff(scenario=SERVER, server_target_qps=0.0)
    with pytest.raises(SettingsError, match="positive"):
        _perf_plan(eff)


# --- accuracy-log sampling --------------------------------------------------------------------


def test_accuracy_log_offset_is_the_first_draw_of_its_seed() -> None:
    assert accuracy_log_offset(7) == generate_canonical(Mt19937(7))
    assert accuracy_log_offset(2**32 + 7) == accuracy_log_offset(7)


def test_sampling_target_replaces_the_probability() -> None:
    eff = _eff(scenario=SERVER, server_target_qps=600, min_duration_ms=1000)
    assert accuracy_log_probability(eff) == 0.0
    eff = _eff(scenario=SERVER, server_target_qps=600, accuracy_log_sampling_target=20)
    assert accuracy_log_probability(eff) == 20 / 6000  # 600 QPS over the default 10 s
    eff = _eff(
        scenario=MS, min_duration_ms=1000, min_query_count=662, accuracy_log_sampling_target=8
    )
    assert accuracy_log_probability(eff) == 8 / (662 * 8)  # the minimum wins over 125 * 8
    eff = _eff(
        scenario=OFFLINE,
        offline_expected_qps=1000,
        min_duration_ms=1000,
        accuracy_log_sampling_target=10,
    )
    assert accuracy_log_probability(eff) == 10 / 1100  # min_sample_count, no spq factor
    eff = _eff(accuracy_log_probability=0.25, accuracy_log_sampling_target=0)
    assert accuracy_log_probability(eff) == 0.25


def test_sampling_target_with_no_expected_samples_logs_everything() -> None:
    eff = _eff(
        scenario=SERVER, min_query_count=0, min_duration_ms=0, accuracy_log_sampling_target=1
    )
    assert accuracy_log_probability(eff) == float("inf")


def test_accuracy_log_mask_wraps_and_includes_the_bound() -> None:
    values = np.array([0.125, 0.5, 0.75, 0.875])
    mask = accuracy_log_mask(values, 0.25, 0.375)
    # shifted: 0.375 (equal to the bound: kept), 0.75, 1.0 -> 0.0, 1.125 -> 0.125
    assert mask.tolist() == [True, False, True, True]


def test_server_sampling_picks_the_reference_seq_ids() -> None:
    eff = _eff(
        scenario=SERVER,
        server_target_qps=600,
        min_duration_ms=1000,
        accuracy_log_sampling_target=20,
    )
    _, plan = _perf_plan(eff)
    mask = plan.accuracy_log_mask
    assert (plan.first_sample_id + np.flatnonzero(mask)).tolist() == [
        *(27, 44, 63, 64, 101, 141, 169, 237, 254, 280),
        *(310, 315, 399, 434, 461, 495, 525, 578, 586),
    ]


def test_offline_sampling_picks_the_reference_seq_ids() -> None:
    eff = _eff(
        scenario=OFFLINE,
        offline_expected_qps=1000,
        min_duration_ms=1000,
        accuracy_log_sampling_target=10,
    )
    _, plan = _perf_plan(eff)
    mask = plan.accuracy_log_mask
    assert np.flatnonzero(mask).tolist() == [
        44,
        63,
        254,
        434,
        461,
        525,
        609,
        637,
        697,
        937,
        960,
        1027,
    ]


def test_qsl_indices_take_the_narrowest_type_that_fits() -> None:
    positions = np.array([1, 0, 1], dtype=np.int64)
    small = _to_qsl_indices(positions, LoadableSet(indices=(5, 65_535), distribution_end=2))
    assert (small.dtype, small.tolist()) == (np.uint16, [65_535, 5, 65_535])
    mid = _to_qsl_indices(positions, LoadableSet(indices=(5, 65_536), distribution_end=2))
    assert (mid.dtype, mid.tolist()) == (np.int32, [65_536, 5, 65_536])
    huge = _to_qsl_indices(positions, LoadableSet(indices=(5, 2**31), distribution_end=2))
    assert (huge.dtype, huge.tolist()) == (np.int64, [2**31, 5, 2**31])
    many = np.arange(CHUNK + 3, dtype=np.int64) % 2  # more than one chunk
    mapped = _to_qsl_indices(many, LoadableSet(indices=(5, 7), distribution_end=2))
    assert mapped.tolist() == [5, 7] * ((CHUNK + 3) // 2) + [5]
