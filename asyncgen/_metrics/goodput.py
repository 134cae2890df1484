"""Service-level objectives (SLOs) and goodput: which requests met them, and at what rate.

A request is one sample of the performance series. Its latencies count from its scheduled
time, like every asyncgen latency:

* **TTFT** = first token - scheduled (a request that reported no first token: its E2E);
* **E2E** = completed - scheduled;
* **TPOT** = (E2E - TTFT) / (output tokens - 1), vLLM's TPOT (GuideLLM and AIPerf call it ITL).
  A request with fewer than two output tokens has no TPOT and meets a TPOT objective (vLLM
  counts its TPOT as 0). LoadGen's token mode records a count of 1 as 0 (with its error entry
  "Number of tokens need to be greater than 1"), so such a request adds no output tokens.

A request meets an SLO when its value is at most the limit; a failed request
(``sample.fail``) or one that never completed meets none. Per run:

* the **share** of requests meeting each SLO, over every request issued;
* the **observed** value at the percentile P: the reference's percentile rule,
  ``sorted[floor(n * P)]``, over every request, failed ones ranked as infinitely slow (None when
  that rank falls on a failed request);
* an SLO **holds** when its observed value is at most its limit — that is, when more than a
  fraction P of the requests met it; ``slos_met`` when every SLO holds;
* **goodput**: the requests that met every SLO at once, and their output tokens, per second of
  the series — from its start to its last answer (completion or failure), the span vLLM and
  AIPerf divide by too.

Pure functions of arrays; nothing here reads a clock.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.effective import NS_PER_MS, NS_PER_S
from asyncgen._engine.series import UNSET
from asyncgen._errors import SettingsError
from asyncgen._metrics.measurements import RequestTimes
from asyncgen._metrics.statistics import percentile_index

SLO_NAMES = ("ttft", "tpot", "e2e")  # the order they are reported in (limits_ms keeps it)
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _check_limit(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError(f"{attribute.name} must be a number of milliseconds, got {value!r}")
    if value <= 0:
        raise SettingsError(f"{attribute.name} must be positive, got {value!r}")


def _check_percentile(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise SettingsError(f"the SLO percentile must be between 0 and 1 (0.99), got {value!r}")


@attrs.frozen(kw_only=True)
class ServiceLevelObjectives:
    """Latency objectives per request, judged at ``percentile`` over a run.

    ``ttft_ms``, ``tpot_ms`` and ``e2e_ms`` are limits in milliseconds; leave one None to not
    judge it. ``ttft_ms`` and ``tpot_ms`` need token latencies
    (``TestSettings(use_token_latencies=True)``; the OpenAI adapter's CLI runs turn it on).
    Pass to ``run_test(..., slos=...)``; the result's ``goodput`` reports how the run did.
    """

    ttft_ms: float | None = attrs.field(default=None, validator=_check_limit)
    tpot_ms: float | None = attrs.field(default=None, validator=_check_limit)
    e2e_ms: float | None = attrs.field(default=None, validator=_check_limit)
    percentile: float = attrs.field(default=0.99, validator=_check_percentile)

    def limits_ms(self) -> dict[str, float]:
        """The objectives that are set, by name (``ttft``, ``tpot``, ``e2e``), in ms."""
        limits = {"ttft": self.ttft_ms, "tpot": self.tpot_ms, "e2e": self.e2e_ms}
        return {name: float(v) for name, v in limits.items() if v is not None}

    @property
    def needs_tokens(self) -> bool:
        """Whether an objective needs token latencies (TTFT or TPOT)."""
        return self.ttft_ms is not None or self.tpot_ms is not None


@attrs.frozen(kw_only=True)
class SloOutcome:
    """How a run did against one objective."""

    name: str  # ttft, tpot or e2e
    limit_ms: float
    observed_ms: float | None  # at the percentile; None when it falls on a failed request
    share_met: float  # of every request issued
    holds: bool  # observed_ms <= limit_ms

    def to_dict(self) -> dict[str, Any]:
        """``limit``, ``observed`` (ms), ``share_met`` and ``met``."""
        return {
            "limit": self.limit_ms,
            "observed": self.observed_ms,
            "share_met": self.share_met,
            "met": self.holds,
        }


@attrs.frozen(kw_only=True)
class Goodput:
    """The requests of a run that met every SLO, and how each SLO fared at the percentile."""

    percentile: float
    requests: int  # issued in the performance series
    answered_requests: int  # completed and not failed
    good_requests: int  # met every SLO
    output_tokens: int | None  # of the good requests; None without token latencies
    duration_s: float  # series start to its last answer
    slos: tuple[SloOutcome, ...]

    @property
    def requests_per_second(self) -> float:
        """Goodput: requests that met every SLO, per second."""
        return self.good_requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def output_tokens_per_second(self) -> float | None:
        """Output tokens of the requests that met every SLO, per second."""
        if self.output_tokens is None:
            return None
        return self.output_tokens / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def achieved_requests_per_second(self) -> float:
        """Every answered (not failed) request, per second: the throughput goodput is part of."""
        return self.answered_requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def slos_met(self) -> bool:
        """Whether every SLO holds at the percentile."""
        return all(slo.holds for slo in self.slos)

    @property
    def missed(self) -> tuple[SloOutcome, ...]:
        """The SLOs that do not hold."""
        return tuple(slo for slo in self.slos if not slo.holds)

    def to_dict(self) -> dict[str, Any]:
        """What ``mlperf_log_results.json`` holds under ``goodput``."""
        return {
            "requests_per_second": self.requests_per_second,
            "output_tokens_per_second": self.output_tokens_per_second,
            "slos_met": self.slos_met,
            "percentile": self.percentile,
            "slos": {f"{slo.name}_ms": slo.to_dict() for slo in self.slos},
            "requests": self.requests,
            "answered_requests": self.answered_requests,
            "good_requests": self.good_requests,
            "good_output_tokens": self.output_tokens,
            "achieved_requests_per_second": self.achieved_requests_per_second,
            "duration_s": self.duration_s,
        }


@attrs.frozen(kw_only=True)
class RequestLatencies:
    """Per request, in ns as floats: NaN where a request has no such value."""

    answered: BoolArray
    ttft_ns: FloatArray
    tpot_ns: FloatArray
    e2e_ns: FloatArray

    def of(self, name: str) -> FloatArray:
        """The latency an objective named ``name`` judges."""
        value: FloatArray = getattr(self, f"{name}_ns")
        return value


def request_latencies(times: RequestTimes) -> RequestLatencies:
    """TTFT, TPOT and E2E of each request, from its times (see the module docstring)."""
    completed = times.completed_ns
    answered = (completed != UNSET) & ~times.failed
    e2e = np.where(answered, completed - times.scheduled_ns, np.nan).astype(np.float64)
    if times.first_token_ns is None:
        ttft = np.full(e2e.shape, np.nan)
        tpot = np.full(e2e.shape, np.nan)
        return RequestLatencies(answered=answered, ttft_ns=ttft, tpot_ns=tpot, e2e_ns=e2e)
    first = times.first_token_ns
    ttft = np.where(first != UNSET, first - times.scheduled_ns, e2e).astype(np.float64)
    ttft[~answered] = np.nan
    tokens = times.output_tokens
    if tokens is None:
        tokens = np.zeros(e2e.shape, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(tokens > 1, (e2e - ttft) / (tokens - 1), 0.0)
    tpot[~answered] = np.nan
    return RequestLatencies(answered=answered, ttft_ns=ttft, tpot_ns=tpot, e2e_ns=e2e)


def slo_masks(slos: ServiceLevelObjectives, latencies: RequestLatencies) -> dict[str, BoolArray]:
    """Per objective, which requests met it (a failed request meets none)."""
    masks: dict[str, BoolArray] = {}
    for name, limit_ms in slos.limits_ms().items():
        values = latencies.of(name)
        with np.errstate(invalid="ignore"):
            masks[name] = latencies.answered & (values <= limit_ms * NS_PER_MS)
    return masks


def met_all(slos: ServiceLevelObjectives, latencies: RequestLatencies) -> BoolArray:
    """Which requests met every objective (with none set: every answered request)."""
    met = latencies.answered.copy()
    for mask in slo_masks(slos, latencies).values():
        met &= mask
    return met


def observed_at(values: FloatArray, percentile: float) -> float | None:
    """The value at ``percentile`` by the reference's rule, NaN (failed) ranked last; None
    when the rank falls on a failed request."""
    n = int(values.size)
    if n == 0:
        return None
    ordered = np.sort(values)  # NaN sorts last
    value = float(ordered[min(percentile_index(n, percentile), n - 1)])
    return None if math.isnan(value) else value


def evaluate(slos: ServiceLevelObjectives, times: RequestTimes, start_ns: int) -> Goodput:
    """How the requests of a series whose clock started at ``start_ns`` did against ``slos``."""
    latencies = request_latencies(times)
    n = int(times.samples.size)
    outcomes = []
    for name, mask in slo_masks(slos, latencies).items():
        observed_ns = observed_at(latencies.of(name), slos.percentile)
        limit_ms = slos.limits_ms()[name]
        outcomes.append(
            SloOutcome(
                name=name,
                limit_ms=limit_ms,
                observed_ms=None if observed_ns is None else observed_ns / NS_PER_MS,
                share_met=float(np.count_nonzero(mask)) / n if n else 0.0,
                # in ns, as the masks compare: the verdict and the shares never disagree
                holds=observed_ns is not None and observed_ns <= limit_ms * NS_PER_MS,
            )
        )
    good = met_all(slos, latencies)
    tokens = None
    if times.output_tokens is not None:
        tokens = int(times.output_tokens[good].sum())
    finished = times.completed_ns[times.completed_ns != UNSET]
    duration_ns = int(finished.max()) - start_ns if finished.size else 0
    return Goodput(
        percentile=slos.percentile,
        requests=n,
        answered_requests=int(np.count_nonzero(latencies.answered)),
        good_requests=int(np.count_nonzero(good)),
        output_tokens=tokens,
        duration_s=max(duration_ns, 0) / NS_PER_S,
        slos=tuple(outcomes),
    )
