"""Loadable sets: the QSL samples loaded together, shuffled by ``qsl_rng_seed``."""

from __future__ import annotations

import attrs

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._plan.rng import Mt19937, shuffle


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
