"""The libstdc++ random algorithms, against values printed by a GCC-built std:: program.

The expected numbers below were produced by a small C++17 program compiled with g++ (libstdc++,
64-bit Linux) calling std::mt19937, std::uniform_int_distribution, std::shuffle,
std::uniform_real_distribution and std::exponential_distribution directly.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgen._plan import rng as _rng
from asyncgen._plan.rng import (
    Mt19937,
    _seeded_key,
    exponential_ns_many,
    generate_canonical,
    generate_canonical_many,
    shuffle,
    shuffle_repeatedly,
    skip_shuffles,
    uniform_int,
    uniform_int_many,
)


class _Scripted(Mt19937):
    """An engine that returns given outputs, to reach rare branches deliberately."""

    def __init__(self, values: list[int]) -> None:
        super().__init__()
        self._values = list(values)

    def next_u32(self) -> int:
        return self._values.pop(0)

    def take(self, n: int) -> np.ndarray:
        out, self._values = self._values[:n], self._values[n:]
        return np.array(out, dtype=np.uint32)


def _draws_consumed(rng: Mt19937, seed: int, limit: int = 100_000) -> int:
    """How many raw outputs ``rng`` has consumed, found by matching its next output."""
    marker = rng.next_u32()
    stream = Mt19937(seed).take(limit).tolist()
    return stream.index(marker)


# --- engine ---------------------------------------------------------------------------------


def test_mt19937_default_seed_matches_the_standard_values() -> None:
    rng = Mt19937()
    assert rng.next_u32() == 3499211612
    assert int(rng.take(9999)[-1]) == 4123659995  # the standard's 10000th output


@pytest.mark.parametrize("seed", [0, 5489, 123_456_789, 2**32 - 1])
def test_the_twister_equals_pythons_mersenne_twister_from_the_same_state(seed: int) -> None:
    # CPython's random module is an independent MT19937: given the state std::mt19937(seed)
    # starts from, its 32-bit outputs are the engine's, across many twists.
    oracle = random.Random()
    oracle.setstate((3, (*(int(w) for w in _seeded_key(seed)), 624), None))
    expected = [oracle.getrandbits(32) for _ in range(5000)]
    assert Mt19937(seed).take(5000).tolist() == expected


def test_importing_the_engine_leaves_numpy_random_unloaded() -> None:
    code = (
        "import sys, asyncgen._plan.rng as r; r.Mt19937(1).take(10); "
        "print('numpy.random' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # its import alone costs about 7 MiB


def test_seed_is_taken_modulo_two_to_the_32() -> None:
    assert Mt19937(0).take(3).tolist() == [2357136044, 2546248239, 3071714933]
    assert Mt19937(2**32).take(3).tolist() == [2357136044, 2546248239, 3071714933]


@given(st.lists(st.integers(0, 700), min_size=1, max_size=8), st.integers(0, 2**64 - 1))
@settings(max_examples=30, deadline=None)
def test_scalar_and_bulk_reads_share_one_stream(chunks: list[int], seed: int) -> None:
    expected = Mt19937(seed).take(sum(chunks) + len(chunks)).tolist()
    rng = Mt19937(seed)
    got: list[int] = []
    for size in chunks:
        got.append(rng.next_u32())
        got.extend(rng.take(size).tolist())
    assert got == expected


# --- uniform integers -------------------------------------------------------------------------


def test_uniform_int_small_range() -> None:
    rng = Mt19937(0)
    assert [uniform_int(rng, 0, 15) for _ in range(10)] == [8, 9, 11, 13, 9, 13, 8, 13, 6, 9]
    assert rng.next_u32() == 2774094101


GCC_3E9 = [1251065995, 2991554424, 2160973467, 2797672083, 384373343, 440267677]
GCC_3E9 += [708266928, 277015786, 1189742178, 558780633, 1163732220, 1190302405]


def test_uniform_int_rejects_like_libstdcxx() -> None:
    # A range of 3e9 rejects about 30% of draws: 12 results consume 17 draws.
    rng = Mt19937(1)
    assert [uniform_int(rng, 0, 2_999_999_999) for _ in range(12)] == GCC_3E9
    assert rng.next_u32() == 4018109721
    assert _draws_consumed(Mt19937(1), 1) == 0
    rng = Mt19937(1)
    for _ in range(12):
        uniform_int(rng, 0, 2_999_999_999)
    assert _draws_consumed(rng, 1) == 17


def test_uniform_int_many_rejects_like_libstdcxx() -> None:
    rng = Mt19937(1)
    assert uniform_int_many(rng, 0, 2_999_999_999, 12).tolist() == GCC_3E9
    assert rng.next_u32() == 4018109721


def test_uniform_int_rejection_threshold_is_two_pow_32_mod_size() -> None:
    # size 3: threshold = 2**32 mod 3 = 1. A draw whose low word is 0 is rejected.
    rejected = 0  # 0 * 3 has low word 0
    accepted = 0x5555_5556  # * 3 = 0x1_0000_0002: low word 2, high word 1
    assert uniform_int(_Scripted([rejected, accepted]), 10, 12) == 11
    assert uniform_int_many(_Scripted([rejected, accepted, accepted]), 0, 2, 2).tolist() == [1, 1]


def test_uniform_int_full_engine_range_returns_the_draw() -> None:
    assert uniform_int(_Scripted([123]), 5, 5 + 2**32 - 1) == 128
    assert uniform_int_many(_Scripted([1, 2]), 0, 2**32 - 1, 2).tolist() == [1, 2]


def test_uniform_int_refuses_ranges_the_reference_never_uses() -> None:
    with pytest.raises(ValueError, match="outside"):
        uniform_int(Mt19937(), 0, 2**32)
    with pytest.raises(ValueError, match="outside"):
        uniform_int_many(Mt19937(), 3, 2, 1)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(-(2**31), 2**31),
    st.one_of(st.integers(0, 40), st.integers(2**31, 2**32 - 2)),
    st.integers(0, 300),
)
@settings(max_examples=60, deadline=None)
def test_uniform_int_many_equals_repeated_scalar_draws(
    seed: int, a: int, span: int, n: int
) -> None:
    scalar = Mt19937(seed)
    expected = [uniform_int(scalar, a, a + span) for _ in range(n)]
    bulk = Mt19937(seed)
    assert uniform_int_many(bulk, a, a + span, n).tolist() == expected
    assert bulk.next_u32() == scalar.next_u32()


# --- shuffle ----------------------------------------------------------------------------------


def test_shuffle_pair_path_even_count() -> None:
    rng = Mt19937(0)
    items = list(range(16))
    shuffle(rng, items)
    assert items == [0, 13, 1, 5, 9, 11, 4, 12, 6, 10, 3, 15, 14, 2, 7, 8]
    assert rng.next_u32() == 1819583497


def test_shuffle_pair_path_odd_count() -> None:
    rng = Mt19937(0)
    items = list(range(17))
    shuffle(rng, items)
    assert items == [10, 4, 6, 12, 5, 1, 9, 13, 7, 16, 11, 2, 0, 15, 8, 3, 14]
    assert rng.next_u32() == 1819583497  # 17 elements: 8 pair draws, like 16 elements


def test_shuffle_largest_pair_path_with_frequent_rejections() -> None:
    # 65535 * 65535 still fits 32 bits; the last pair ranges are near 2**32 and reject often.
    rng = Mt19937(5)
    items = list(range(65535))
    shuffle(rng, items)
    assert items[:8] == [921, 17798, 51034, 61545, 10387, 48817, 41006, 62241]
    assert items[-8:] == [63572, 13581, 3689, 2390, 17573, 57190, 27007, 24050]
    assert rng.next_u32() == 3569672111


def test_shuffle_one_position_per_draw_beyond_65535() -> None:
    rng = Mt19937(6)
    items = list(range(65536))
    shuffle(rng, items)
    assert items[:8] == [2717, 61859, 64482, 61453, 51484, 50096, 4611, 735]
    assert items[-8:] == [32429, 54714, 11526, 296, 37101, 15753, 27292, 55924]
    assert rng.next_u32() == 2722104001


@pytest.mark.parametrize("n", [0, 1])
def test_shuffle_of_zero_or_one_element_draws_nothing(n: int) -> None:
    rng = Mt19937(9)
    items = list(range(n))
    shuffle(rng, items)
    assert items == list(range(n))
    assert rng.next_u32() == Mt19937(9).next_u32()


def test_shuffle_two_elements_uses_one_draw_of_range_two() -> None:
    # The even-count prelude swaps element 1 with position uniform{0, 1}: high word of 2*x.
    items = ["a", "b"]
    shuffle(_Scripted([0x8000_0000]), items)  # 2 * 2**31 = 2**32: high word 1, no swap
    assert items == ["a", "b"]
    shuffle(_Scripted([0x7FFF_FFFF]), items)  # high word 0: swap
    assert items == ["b", "a"]


@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.integers(1, 4), st.booleans())
@settings(max_examples=40, deadline=None)
def test_shuffle_repeatedly_equals_successive_shuffles(
    seed: int, n: int, times: int, chained: bool
) -> None:
    scalar = Mt19937(seed)
    base = list(range(n))
    expected = []
    current = list(base)
    for _ in range(times):
        if not chained:
            current = list(base)
        shuffle(scalar, current)
        expected.append(list(current))
    bulk = Mt19937(seed)
    assert shuffle_repeatedly(bulk, base, times, chained=chained) == expected
    assert bulk.next_u32() == scalar.next_u32()


@given(st.integers(0, 2**32 - 1), st.integers(2, 70_000))
@settings(max_examples=10, deadline=None)
def test_shuffle_is_a_permutation(seed: int, n: int) -> None:
    items = list(range(n))
    shuffle(Mt19937(seed), items)
    assert sorted(items) == list(range(n))


# --- real numbers -----------------------------------------------------------------------------


def test_generate_canonical_matches_uniform_real() -> None:
    expected = [float.fromhex(h) for h in ("0x1.1574f7b6848dep-3", "0x1.ab863ef3cfc3fp-1")]
    expected.append(float.fromhex("0x1.f00f6fbe41047p-1"))
    rng = Mt19937()
    assert [generate_canonical(rng) for _ in range(3)] == expected
    assert generate_canonical_many(Mt19937(), 3).tolist() == expected


def test_generate_canonical_is_low_word_first() -> None:
    assert generate_canonical(_Scripted([0, 1])) == 2.0**-32
    assert generate_canonical(_Scripted([1, 0])) == 2.0**-64


@pytest.mark.parametrize(
    ("low", "high"),
    [(2**32 - 1, 2**32 - 1), (2**32 - 1024, 2**32 - 1)],  # sums that round up to 2**64
)
def test_generate_canonical_clamps_below_one(low: int, high: int) -> None:
    below_one = math.nextafter(1.0, 0.0)
    assert generate_canonical(_Scripted([low, high])) == below_one
    assert generate_canonical_many(_Scripted([low, high]), 1).tolist() == [below_one]


def test_generate_canonical_rounds_to_nearest_below_the_clamp() -> None:
    # 2**64 - 1025 rounds down to 2**64 - 2048, i.e. the same largest double below one.
    assert generate_canonical(_Scripted([2**32 - 1025, 2**32 - 1])) == 1.0 - 2.0**-53
    assert generate_canonical(_Scripted([0, 2**32 - 1])) == (2**64 - 2**32) / 2**64


@given(st.integers(0, 2**32 - 1), st.integers(0, 50))
@settings(max_examples=30, deadline=None)
def test_generate_canonical_many_equals_scalar_draws(seed: int, n: int) -> None:
    scalar = Mt19937(seed)
    expected = [generate_canonical(scalar) for _ in range(n)]
    bulk = Mt19937(seed)
    assert generate_canonical_many(bulk, n).tolist() == expected
    assert bulk.next_u32() == scalar.next_u32()


def test_exponential_gaps_in_integer_ns() -> None:
    gaps = exponential_ns_many(Mt19937(0), 600.0, 5)
    assert gaps.dtype == np.int64
    assert gaps.tolist() == [1497600, 3099340, 3252575, 3131606, 1628344]
    seed = 16159082839903944936  # mlperf.conf's schedule seed (2023080168 mod 2**32)
    assert exponential_ns_many(Mt19937(seed), 1000.0, 5).tolist() == [
        1843654,
        457923,
        1285862,
        712994,
        386406,
    ]


def test_exponential_truncates_toward_zero() -> None:
    # u = 0.5 exactly (high word 2**31, low 0): -log(0.5)/rate seconds.
    gap = exponential_ns_many(_Scripted([0, 2**31]), 3.0, 1)
    assert gap.tolist() == [int(-math.log(0.5) / 3.0 * 1e9)]
    assert gap.tolist() == [231049060]


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("chained", [True, False])
def test_shuffles_drawn_in_batches_equal_one_batch(
    monkeypatch: pytest.MonkeyPatch, batch: int, chained: bool
) -> None:
    base, times = list(range(23)), 9  # 11 draws per shuffle: batches of 1, 1 and 5 shuffles
    whole = shuffle_repeatedly(Mt19937(7), base, times, chained=chained)
    monkeypatch.setattr(_rng, "_SHUFFLE_BATCH", batch)
    rng = Mt19937(7)
    assert shuffle_repeatedly(rng, base, times, chained=chained) == whole
    skipped = Mt19937(7)
    skip_shuffles(skipped, len(base), times)
    assert skipped.next_u32() == rng.next_u32()  # skipping consumes the same draws
