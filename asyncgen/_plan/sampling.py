"""Which performance-mode responses go to the accuracy log: the reference's sampling rule."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._plan.rng import F64, Mt19937, generate_canonical

Mask = npt.NDArray[np.bool_]


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
