"""When each query of a series is scheduled, and how many queries the plan holds.

The reference's generation loop keeps adding queries while the last timestamp is short of the
generation duration or fewer than the minimum exist; ``Sizing`` holds those bounds. SingleStream,
MultiStream and Offline space queries one period apart; Server draws exponential gaps from
``schedule_rng_seed`` (Poisson arrivals), each truncated to whole nanoseconds. asyncgen's other
arrival processes (``asyncgen._plan.arrivals``) are sized by the same loop.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._config.validate import MAX_PLANNED_SAMPLES
from asyncgen._errors import SettingsError
from asyncgen._plan.arrivals import ArrivalProcess, GapDraw
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.rng import I64

# The reference would keep allocating (or loop forever, at absurd rates); we refuse instead.
# (validate_settings refuses plans that cannot fit in memory before a run starts; this is the
# guard for what it cannot see.)
MAX_GENERATED_QUERIES = MAX_PLANNED_SAMPLES


@attrs.frozen
class Sizing:
    """Loop bounds of the reference's generation loop for one series."""

    samples_per_query: int
    gen_duration_ns: int  # keep generating while the last timestamp is below this...
    min_queries: int  # ...or fewer queries than this exist
    bump_step: int  # equal-issue: raise min_queries by this while short of the duration


def plan_sizing(eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool) -> Sizing:
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
    return Sizing(spq, gen_duration_ns, min_queries, 0)


def pad_for_equal_issue(sizing: Sizing, scenario: TestScenario, set_size: int) -> Sizing:
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


def _final_query_count(first_past_duration: int, sizing: Sizing) -> int:
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


def schedule(
    eff: EffectiveSettings, sizing: Sizing, arrivals: ArrivalProcess | None = None
) -> tuple[I64, int]:
    """(scheduled offset of every query, timestamp after the last query), in ns.

    Server queries follow ``arrivals`` (default: the reference's Poisson process)."""
    gen = sizing.gen_duration_ns
    if eff.scenario is TestScenario.Server:
        reference = ArrivalProcess(rate_qps=eff.target_qps, seed=eff.schedule_rng_seed)
        return server_schedule(eff, sizing, arrivals or reference)
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


def server_schedule(
    eff: EffectiveSettings, sizing: Sizing, arrivals: ArrivalProcess
) -> tuple[I64, int]:
    """The Server schedule of ``arrivals``: drawn gaps, even spacing or a trace, then the ramp."""
    if arrivals.kind == "trace":
        assert arrivals.trace is not None
        offsets = arrivals.trace.offsets_ns(arrivals.trace_speed)
        return offsets, int(offsets[-1])
    if not arrivals.rate_qps > 0.0:
        raise SettingsError(f"server_target_qps must be positive; got {arrivals.rate_qps}")
    gen = arrivals.operational_duration_ns(sizing.gen_duration_ns)
    if arrivals.kind == "constant":
        offsets, end = _constant_schedule(eff, sizing, gen, arrivals.rate_qps)
    else:
        offsets, end = _drawn_schedule(eff, sizing, gen, arrivals.gap_draw())
    if not arrivals.ramp_up_ns:
        return offsets, end
    return arrivals.to_real_ns(offsets), int(arrivals.to_real_ns(np.array([end]))[0])


def _drawn_schedule(
    eff: EffectiveSettings, sizing: Sizing, gen: int, draw: GapDraw
) -> tuple[I64, int]:
    """Gaps from ``draw`` accumulated in int64 (the reference's loop, for Poisson bit-exact)."""
    guess = int(gen / 1e9 * eff.target_qps * 1.05) + sizing.min_queries + 64
    gaps = draw(guess)
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
        more = draw(max(len(gaps) // 2, 64))
        gaps = np.concatenate([gaps, more])


def _constant_schedule(
    eff: EffectiveSettings, sizing: Sizing, gen: int, rate_qps: float
) -> tuple[I64, int]:
    """Query ``i`` at ``i / rate``, rounded to the ns: sized like the drawn schedules."""
    period = 1e9 / rate_qps
    first_past = 0 if gen <= 0 else math.ceil(gen / period) + 1
    while first_past > 1 and round((first_past - 2) * period) >= gen:  # rounding at the edge
        first_past -= 1
    count = _final_query_count(first_past, sizing)
    _check_query_count(count, eff)
    offsets: I64 = np.rint(np.arange(count, dtype=np.float64) * period).astype(np.int64)
    return offsets, round(count * period)
