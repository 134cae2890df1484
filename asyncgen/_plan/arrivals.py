"""Server arrival processes: when each query of a performance series is scheduled.

``poisson`` is the reference's schedule, bit for bit (``asyncgen._plan.schedule``). The others
are asyncgen's own, and like it are planned in full before the first issue, from the settings
and ``schedule_rng_seed`` alone — a pure function, so a plan can be split across workers:

* ``constant``: query ``i`` at ``i / rate``, rounded to the nanosecond;
* ``gamma``: gamma inter-arrival times of shape ``B`` (``server_burstiness``) and scale
  ``1 / (rate B)``, so the mean rate is the target's and the coefficient of variation is
  ``1 / sqrt(B)`` (B = 1 is exponential, i.e. Poisson); each gap truncated to whole ns;
* ``trace``: the records of a trace file, at their offsets from the first (``trace``);
* a linear ramp-up over ``R`` ns (any process but a trace): the rate rises from 0 at the
  start to the target at ``R`` and holds. The process is drawn at the target rate in
  *operational time* ``tau`` and mapped to real time by the inverse of the cumulative rate,
  ``t = sqrt(2 R tau)`` while ``tau < R / 2`` and ``t = tau + R / 2`` after, which turns a
  Poisson process into one whose rate rises linearly (a time-changed Poisson process) and
  keeps the gap distribution of the others in operational time.

The first query of every process is at offset 0, as the reference's is. Sizing follows the
reference's generation loop (``Sizing``): queries are added while the last offset is short of
the duration or fewer than the minimum exist; a trace is its records, whatever the minimums.

``ArrivalProcess`` also says what a fidelity check should test sent arrivals against:
``operational_ns`` undoes the ramp, and ``gap_cdf`` is the distribution function of the
inter-arrival gaps in operational time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_S, EffectiveSettings
from asyncgen._errors import SettingsError
from asyncgen._plan.gamma import GammaStream, gamma_cdf
from asyncgen._plan.rng import F64, I64, Mt19937, exponential_ns_many
from asyncgen._plan.trace import Trace

GapDraw = Callable[[int], I64]  # the next n gaps of a process, ns


@attrs.frozen(kw_only=True, eq=False)
class ArrivalProcess:
    """What a Server performance series' arrivals follow (see the module docstring)."""

    kind: str = "poisson"  # poisson, constant, gamma or trace
    rate_qps: float = 1.0  # the target (mean) rate; a trace has its own
    burstiness: float = 1.0  # gamma shape
    ramp_up_ns: int = 0
    seed: int = 0  # schedule_rng_seed
    trace: Trace | None = None
    trace_speed: float = 1.0

    @property
    def is_reference(self) -> bool:
        """Whether this is the reference's own schedule (Poisson, no ramp-up)."""
        return self.kind == "poisson" and not self.ramp_up_ns

    def gap_draw(self) -> GapDraw:
        """A fresh source of this process's gaps at the target rate (not for a trace)."""
        rate = self.rate_qps
        if not (rate > 0 and math.isfinite(rate)):
            raise SettingsError(f"server_target_qps must be positive; got {rate}")
        rng = Mt19937(self.seed)
        match self.kind:
            case "poisson":
                return lambda n: exponential_ns_many(rng, rate, n)
            case "gamma":
                stream = GammaStream(rng, self.burstiness, 1.0 / (rate * self.burstiness))
                return lambda n: (stream.take(n) * NS_PER_S).astype(np.int64)  # truncates
        raise ValueError(f"no gap draws for {self.kind!r} arrivals")

    # -- planning ---------------------------------------------------------------------------

    def to_real_ns(self, operational_ns: I64) -> I64:
        """Offsets drawn in operational time, mapped through the ramp (in place when any)."""
        if not self.ramp_up_ns:
            return operational_ns
        ramp = float(self.ramp_up_ns)
        tau = operational_ns.astype(np.float64)
        real = np.where(tau < ramp / 2, np.sqrt(2.0 * ramp * tau), tau + ramp / 2)
        return np.floor(real).astype(np.int64)

    def operational_duration_ns(self, real_ns: int) -> int:
        """The operational time at which real time reaches ``real_ns`` (sizing with a ramp)."""
        ramp = self.ramp_up_ns
        if not ramp or real_ns <= 0:
            return real_ns
        if real_ns < ramp:
            return math.ceil(real_ns * real_ns / (2 * ramp))
        return real_ns - ramp // 2

    # -- what fidelity checks test against ---------------------------------------------------

    def operational_ns(self, offsets_ns: I64) -> F64:
        """Offsets from the series start mapped back to operational time (the ramp undone):
        there the gaps follow ``gap_cdf``."""
        t = np.asarray(offsets_ns, dtype=np.float64)
        ramp = float(self.ramp_up_ns)
        if not ramp:
            return t
        result: F64 = np.where(t < ramp, t * t / (2.0 * ramp), t - ramp / 2.0)
        return result

    @property
    def mean_gap_s(self) -> float:
        """The mean inter-arrival time, seconds (a trace's: its span over its gaps)."""
        if self.kind == "trace":
            gaps = self._trace_gaps_s()
            return float(gaps.mean()) if gaps.size else 0.0
        return 1.0 / self.rate_qps

    def gap_cdf(self, gaps_s: F64) -> F64:
        """``P(gap <= x)`` for inter-arrival gaps ``x`` in seconds (operational time).

        Exponential for Poisson, gamma for gamma, a step at the period for constant, and the
        trace's own gaps (their empirical distribution) for a trace.
        """
        x = np.asarray(gaps_s, dtype=np.float64)
        match self.kind:
            case "poisson":
                result: F64 = -np.expm1(-self.rate_qps * np.maximum(x, 0.0))
                return result
            case "gamma":
                return gamma_cdf(x, self.burstiness, 1.0 / (self.rate_qps * self.burstiness))
            case "constant":
                return np.where(x >= 1.0 / self.rate_qps, 1.0, 0.0)
        ordered = np.sort(self._trace_gaps_s())
        empirical: F64 = np.searchsorted(ordered, x, side="right") / max(ordered.size, 1)
        return empirical

    def _trace_gaps_s(self) -> F64:
        assert self.trace is not None
        gaps: F64 = np.diff(self.trace.offsets_ns(self.trace_speed)).astype(np.float64) / NS_PER_S
        return gaps

    def to_dict(self) -> dict[str, Any]:
        """For the detail log's ``arrival_process`` entry: what was asked for."""
        entry: dict[str, Any] = {"kind": self.kind, "seed": self.seed}
        if self.kind == "trace":
            assert self.trace is not None
            entry.update(path=self.trace.path, speed=self.trace_speed)
            entry["records"] = len(self.trace.records)
        else:
            entry["rate_qps"] = self.rate_qps
        if self.kind == "gamma":
            entry["burstiness"] = self.burstiness
        if self.ramp_up_ns:
            entry["ramp_up_ns"] = self.ramp_up_ns
        return entry


def arrival_process(eff: EffectiveSettings, trace: Trace | None = None) -> ArrivalProcess:
    """The arrival process the settings ask for, at the effective target rate (``trace``: the
    file ``server_trace_path`` names, read by the caller once per run)."""
    s = eff.requested
    if s.server_arrival == "trace" and trace is None:
        raise SettingsError("a trace arrival process needs the trace (read_trace)")
    return ArrivalProcess(
        kind=s.server_arrival,
        rate_qps=eff.target_qps,
        burstiness=s.server_burstiness,
        ramp_up_ns=s.server_ramp_up_ms * 1_000_000,
        seed=eff.schedule_rng_seed,
        trace=trace if s.server_arrival == "trace" else None,
        trace_speed=s.server_trace_speed,
    )


def process_from_dict(entry: dict[str, Any], trace: Trace | None = None) -> ArrivalProcess:
    """An ``ArrivalProcess`` from its detail-log entry (``to_dict``); a trace needs the file."""
    return ArrivalProcess(
        kind=str(entry.get("kind", "poisson")),
        rate_qps=float(entry.get("rate_qps", 1.0)),
        burstiness=float(entry.get("burstiness", 1.0)),
        ramp_up_ns=int(entry.get("ramp_up_ns", 0)),
        seed=int(entry.get("seed", 0)),
        trace=trace,
        trace_speed=float(entry.get("speed", 1.0)),
    )
