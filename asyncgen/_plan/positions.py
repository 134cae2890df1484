"""Which sample of the loaded set each query reads, as the reference draws them.

``sample_index_rng_seed`` drives, in this order, the shuffled order of accuracy mode (only in
accuracy mode), the "unique" order and the equal-issue permutations (these two are always
built, so they always consume the stream, used or not), then the per-query draws of
performance mode or the block shuffles of Offline equal-issue mode.
"""

from __future__ import annotations

import attrs
import numpy as np

from asyncgen._config.effective import EffectiveSettings
from asyncgen._errors import SettingsError
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.rng import (
    CHUNK,
    I64,
    Mt19937,
    shuffle,
    shuffle_repeatedly,
    skip_shuffles,
    successive_shuffles,
    uniform_int_many,
)


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
class Distributions:
    """What the reference builds from ``sample_rng`` before its generation loop."""

    accuracy_order: list[int]  # shuffled positions; empty in performance mode (drawn lazily)
    unique_order: list[int]  # the same kind of list, built in every mode
    equal_issue_order: I64  # concatenated permutations of the whole loaded set (if used)


def build_distributions(
    rng: Mt19937,
    loaded: LoadableSet,
    stride: int,
    min_queries: int,
    *,
    accuracy: bool,
    equal_issue: bool,
) -> Distributions:
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
    return Distributions(accuracy_order, unique_order, order.reshape(-1))


def multistream_positions(
    eff: EffectiveSettings,
    rng: Mt19937,
    dists: Distributions,
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


def offline_positions(
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


def per_sample_positions(
    eff: EffectiveSettings,
    rng: Mt19937,
    dists: Distributions,
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
