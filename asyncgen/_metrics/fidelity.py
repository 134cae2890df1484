"""Arrival fidelity: did the queries go out as the arrival process that was asked for?

The plan draws each Server query's scheduled time from an arrival process (the reference's
Poisson: gaps exponential at the target rate; asyncgen's gamma, constant, trace replay, each
with an optional ramp-up). What the SUT sees is the process of the times queries were
actually *sent* — scheduled time plus issue lag. A generator that is late by a steady amount
sends the same process; one that is held up now and then and then sends what piled up sends
bunches, which a SUT under test answers differently (queues form at once, batches fill).

The check is the Kolmogorov-Smirnov statistic ``D`` of the sent gaps against the process: each
gap is mapped to the probability that the process gives a gap at most that long (the
probability integral transform, which also covers processes whose rate changes over time, by
the time-rescaling theorem), and ``D`` is the largest distance between the empirical
distribution of those probabilities and the uniform one. An exact process has a small ``D`` of
its own, by chance: its distribution is Kolmogorov's, shrinking like ``1/sqrt(n)``, so a run of
``n`` gaps exceeds ``noise_ks(n)`` (≈ 1.95/sqrt(n)) once in a thousand. The plan's own ``D`` is
reported beside the sent one: it is that chance, plus how far the plan's process is from the
ideal one (the gaps are whole nanoseconds).

Fidelity is **poor** when ``D`` exceeds both ``POOR_KS`` (a distance that matters: 5% of the
gaps are off by the most the ideal and sent distributions differ) and ``NOISE_MARGIN`` times
the noise level, so a short run's chance deviation is never called poor (the warning needs
``D`` > 3.9/sqrt(n): an exact process gets there with a probability of about 10⁻¹³).

A process is a ``GapModel``: its name, whether its gaps are continuous, and
``probabilities(starts_ns, gaps_ns)``. ``ProcessGaps`` makes one of the plan's
``ArrivalProcess`` (Poisson, gamma, constant, a trace; with or without a ramp-up). A constant
period or a trace's recorded gaps have no continuous distribution: ties make D large whatever
the generator does, so their D is reported and not judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import NS_PER_S, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._plan.arrivals import ArrivalProcess, arrival_process
from asyncgen._plan.trace import Trace

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.signedinteger[Any]]

POOR_KS = 0.05  # a D above this is a real difference between sent and asked-for gaps...
NOISE_MARGIN = 2.0  # ...if also this many times the 99.9% point of D for an exact process
KOLMOGOROV_999 = 1.9495  # the Kolmogorov distribution's 99.9% point
MIN_GAPS = 2  # below this there is nothing to test
CHUNK = 1 << 16  # gaps turned into probabilities at a time (bounded temporaries)


class GapModel(Protocol):
    """What an arrival process says about the gap after each arrival."""

    @property
    def process(self) -> str:
        """The process's name, for reports: ``"poisson"``, ``"gamma with ramp-up"``, ..."""
        ...

    @property
    def continuous(self) -> bool:
        """Whether its gaps have a continuous distribution; for others (a constant period, a
        trace's recorded gaps) D measures ties as much as the generator, and is not judged."""
        ...

    def probabilities(self, starts_ns: IntArray, gaps_ns: IntArray) -> FloatArray:
        """For each gap, the probability that the process makes a gap at most this long,
        given that the gap starts ``starts_ns`` after the series started."""
        ...


@attrs.frozen
class ProcessGaps:
    """The gaps of an ``ArrivalProcess`` (``asyncgen._plan.arrivals``): its gap distribution in
    operational time, where a ramp-up is undone (the time-rescaling theorem)."""

    arrivals: ArrivalProcess

    @property
    def process(self) -> str:
        ramp = " with ramp-up" if self.arrivals.ramp_up_ns else ""
        return self.arrivals.kind + ramp

    @property
    def continuous(self) -> bool:
        return self.arrivals.kind in ("poisson", "gamma")

    def probabilities(self, starts_ns: IntArray, gaps_ns: IntArray) -> FloatArray:
        """``gap_cdf`` of each gap, measured in operational time."""
        arrivals = self.arrivals
        begin = arrivals.operational_ns(starts_ns)
        end = arrivals.operational_ns(starts_ns + gaps_ns)
        return arrivals.gap_cdf((end - begin) / NS_PER_S)


def gap_model(eff: EffectiveSettings, trace: Trace | None = None) -> GapModel | None:
    """The arrival process the settings ask for (``trace``: the one a trace replay reads);
    None where arrivals are not a planned process: the closed loops, Offline, and Server
    queries that wait on completions (closed-loop users, multi-turn sessions, a concurrency
    limit)."""
    s = eff.requested
    dependent = s.server_concurrency or s.server_multi_turn or s.server_max_concurrency
    if eff.scenario is not TestScenario.Server or dependent or not eff.target_qps > 0:
        return None
    return ProcessGaps(arrival_process(eff, trace))


@attrs.frozen(kw_only=True)
class ArrivalFidelity:
    """How closely the arrivals of a Server series followed the process asked for.

    ``ks_statistic`` is the Kolmogorov-Smirnov statistic D of the gaps between the times the
    queries were sent (scheduled time plus issue lag) against the arrival process
    (``process``: ``"poisson"``, ``"gamma"``, ...); ``planned_ks_statistic`` is the same for
    the scheduled times, the plan's own distance from the process (chance, for an exact
    plan). ``noise_ks`` is the D an exact
    process of ``gaps`` gaps exceeds once in a thousand runs; fidelity is ``poor`` when it is
    ``judged`` and D exceeds ``threshold_ks``, the larger of 0.05 and twice ``noise_ks``. Runs
    of fewer than 1000 queries, coalesced queries (which leave in bunches on purpose), and
    processes without a continuous gap distribution (constant, a trace) are reported but not
    judged.
    """

    process: str
    gaps: int
    ks_statistic: float  # D of the sent gaps against the process
    planned_ks_statistic: float  # D of the scheduled gaps: the plan's own
    noise_ks: float  # D an exact process exceeds once in a thousand runs of this length
    threshold_ks: float  # D above this is poor
    judged: bool  # long enough to judge, and not coalesced on purpose
    poor: bool

    @property
    def text(self) -> str:
        """One line for a console or a log."""
        verdict = "poor" if self.poor else "followed" if self.judged else "not judged"
        return (
            f"arrival fidelity ({self.process}): KS D {self.ks_statistic:.4f} of the sent gaps "
            f"over {self.gaps:,} gaps (the plan's own: {self.planned_ks_statistic:.4f}; "
            f"poor above {self.threshold_ks:.4f}): {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return attrs.asdict(self)


def noise_ks(gaps: int) -> float:
    """The 99.9% point of D for ``gaps`` draws of an exact process (Stephens' approximation
    of the Kolmogorov distribution, within a percent from a handful of gaps up)."""
    root = math.sqrt(gaps)
    return KOLMOGOROV_999 / (root + 0.12 + 0.11 / root)


def threshold_ks(gaps: int) -> float:
    """D above which ``gaps`` sent gaps are poor: ``POOR_KS``, or ``NOISE_MARGIN`` times the
    noise level where that is larger (short runs)."""
    return max(POOR_KS, NOISE_MARGIN * noise_ks(gaps))


def ks_uniform(probabilities: FloatArray) -> float:
    """D of ``probabilities`` against the uniform distribution on [0, 1]; sorts them in place."""
    n = int(probabilities.size)
    if n == 0:
        return 0.0
    probabilities.sort()
    worst = 0.0
    for lo in range(0, n, CHUNK):
        chunk = probabilities[lo : lo + CHUNK].astype(np.float64)
        below = np.arange(lo, lo + chunk.size, dtype=np.float64) / n  # (i - 1) / n
        worst = max(worst, float(np.max(below + 1 / n - chunk)), float(np.max(chunk - below)))
    return worst


def gap_probabilities(
    model: GapModel, offsets_ns: IntArray, lags: Callable[[int, int], IntArray] | None = None
) -> npt.NDArray[np.float32]:
    """The probability of each gap between consecutive arrivals at ``offsets_ns`` (from the
    series' start) plus, when given, ``lags(lo, hi)`` (the issue lags of arrivals ``lo..hi-1``),
    computed a chunk at a time into four bytes a gap. Queries go out one at a time, so send
    times never decrease; were one earlier than the one before, its gap would count as 0."""
    n = int(offsets_ns.size) - 1
    out = np.empty(max(n, 0), dtype=np.float32)
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        times = offsets_ns[lo : hi + 1].astype(np.int64)
        if lags is not None:
            times += lags(lo, hi + 1)
        gaps = np.diff(times)
        np.maximum(gaps, 0, out=gaps)
        out[lo:hi] = model.probabilities(times[:-1], gaps)
    return out


def arrival_fidelity(
    model: GapModel,
    offsets_ns: IntArray,
    lags: Callable[[int, int], IntArray],
    *,
    judge: bool = True,
) -> ArrivalFidelity | None:
    """The fidelity of arrivals scheduled at ``offsets_ns`` and sent ``lags(lo, hi)`` late;
    ``judge`` False reports it without calling it poor. None with fewer than two gaps."""
    gaps = int(offsets_ns.size) - 1
    if gaps < MIN_GAPS:
        return None
    planned = ks_uniform(gap_probabilities(model, offsets_ns))
    sent = ks_uniform(gap_probabilities(model, offsets_ns, lags))
    threshold = threshold_ks(gaps)
    return ArrivalFidelity(
        process=model.process,
        gaps=gaps,
        ks_statistic=sent,
        planned_ks_statistic=planned,
        noise_ks=noise_ks(gaps),
        threshold_ks=threshold,
        judged=judge,
        poor=judge and sent > threshold,
    )
