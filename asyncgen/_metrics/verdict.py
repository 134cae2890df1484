"""Validity, early stopping and the summary of one performance series: the reference's
``PerformanceSummary`` (``results.cc``) as pure functions of the effective settings and the
measurements.

Statistics and rates come from ``asyncgen._metrics.statistics``; the summary file and the
detail log's results are rendered from a ``PerformanceSummary`` by ``asyncgen._output``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._metrics import early_stopping as es
from asyncgen._metrics.measurements import IntArray, PerformanceResult
from asyncgen._metrics.statistics import LatencyStats, Measured, Rates, compute_rates, measure

EARLY_EXIT_RECOMMENDATION = (
    "The test exited early, before enough queries were issued.\n"
    "   See the detailed log for why this may have occurred."
)
EARLY_EXIT_REASON = "The test exited early, before enough queries were issued."
REDUCE_QPS = "Reduce target QPS to improve latency."
TTFT_NOT_MET = "TTFT constrain not met: Reduce target QPS to improve latency."  # sic
TPOT_NOT_MET = "TPOT constrain not met: Reduce target QPS to improve latency."  # sic
_FEWER_QUERIES = "Decrease the expected latency so the loadgen pre-generates more queries."
MIN_DURATION_RECOMMENDATIONS: Mapping[TestScenario, str] = {
    TestScenario.SingleStream: _FEWER_QUERIES,
    TestScenario.MultiStream: _FEWER_QUERIES,
    TestScenario.Server: "Increase the target QPS so the loadgen pre-generates more queries.",
    TestScenario.Offline: (
        "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query."
    ),
}


# --------------------------------------------------------------------------- validity


def min_duration_met(eff: EffectiveSettings, pr: PerformanceResult) -> tuple[bool, str]:
    """Did the series span ``min_duration``? Returns the recommendation when not."""
    min_duration_s = eff.min_duration_ms / 1000.0
    match eff.scenario:
        case TestScenario.Offline:
            met = pr.max_latency_s >= min_duration_s
        case TestScenario.Server:
            met = pr.final_query_scheduled_s >= min_duration_s
        case _:
            met = pr.final_query_issued_s >= min_duration_s
    return met, "" if met else MIN_DURATION_RECOMMENDATIONS[eff.scenario]


def _perf_constraints(eff: EffectiveSettings, m: Measured) -> tuple[bool, str]:
    if eff.scenario is not TestScenario.Server:
        return True, ""
    if not eff.use_token_latencies:
        met = m.samples.target_ns <= eff.target_latency_ns
        return met, "" if met else REDUCE_QPS
    ttft_target = m.first_token.target_ns if m.first_token else 0
    tpot_target = m.tpot.target_ns if m.tpot else 0
    failures = []
    if ttft_target > eff.ttft_latency_ns:
        failures.append(TTFT_NOT_MET)
    if tpot_target > eff.tpot_latency_ns:
        failures.append(TPOT_NOT_MET)
    return not failures, "\n * ".join(failures)


def perf_constraints_met(eff: EffectiveSettings, pr: PerformanceResult) -> tuple[bool, str]:
    """Server's latency bound (TTFT and TPOT bounds in token mode); other scenarios pass."""
    return _perf_constraints(eff, measure(eff, pr))


def _early_stopping_on(
    eff: EffectiveSettings, pr: PerformanceResult, values: IntArray, m: Measured, target: int
) -> es.EarlyStoppingResult:
    percentile = eff.target_latency_percentile
    match eff.scenario:
        case TestScenario.SingleStream:
            return es.single_stream_early_stopping(values, pr.queries_issued, percentile)
        case TestScenario.MultiStream:
            return es.multi_stream_early_stopping(m.query_latencies, pr.queries_issued, percentile)
        case TestScenario.Server:
            return es.server_early_stopping(values, pr.queries_issued, percentile, target)
    return es.EarlyStoppingResult(met=True, text="")


def _early_stopping(
    eff: EffectiveSettings, pr: PerformanceResult, m: Measured
) -> tuple[es.EarlyStoppingResult, es.EarlyStoppingResult | None, es.EarlyStoppingResult | None]:
    """(overall, ttft, tpot). Token mode checks TPOT first and TTFT only if TPOT passed,
    as the reference's ``&&`` does, so a failed TPOT leaves the TTFT text empty."""
    if not eff.use_token_latencies:
        plain = _early_stopping_on(eff, pr, m.sample_latencies, m, eff.target_latency_ns)
        return plain, None, None
    tpot = _early_stopping_on(eff, pr, m.time_per_output_token, m, eff.tpot_latency_ns)
    if not tpot.met:
        return tpot, es.EarlyStoppingResult(met=False, text=""), tpot
    ttft = _early_stopping_on(eff, pr, m.first_token_latencies, m, eff.ttft_latency_ns)
    return ttft, ttft, tpot


# --------------------------------------------------------------------------- summary


@attrs.frozen(kw_only=True)
class PerformanceSummary:
    """Everything the summary file and the detail log's ``result_*`` keys report."""

    sut_name: str
    settings: EffectiveSettings
    result: PerformanceResult

    valid: bool
    min_duration_met: bool
    min_queries_met: bool  # queries issued and samples recorded both reached their minimum
    perf_constraints_met: bool  # True when the scenario has none
    has_perf_constraints: bool  # Server only
    early_stopping_met: bool
    # The " * "-prefixed lines under "Recommendations:" (without the prefix), in order.
    recommendations: tuple[str, ...]
    invalid_reason: str  # the detail log's result_invalid_reason ("" when valid)
    early_stopping_text: str  # "" in token mode and for Offline
    early_stopping_ttft_text: str  # token mode only
    early_stopping_tpot_text: str  # token mode only
    early_stopping_latency_ss: int
    early_stopping_latency_ms: int

    sample_count: int
    query_count: int
    overlatency_query_count: int  # Server: samples over the latency target
    sample_latency: LatencyStats
    query_latency: LatencyStats | None  # MultiStream per-query latencies
    token_count: int
    first_token_latency: LatencyStats | None  # token mode
    time_per_output_token: LatencyStats | None  # token mode
    overlatency_first_token_count: int
    rates: Rates

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (no settings, no raw arrays) for ``results.json``."""

        def stats(value: LatencyStats | None) -> dict[str, object] | None:
            return None if value is None else value.to_dict()

        return {
            "sut_name": self.sut_name,
            "scenario": self.scenario.name,
            "mode": self.mode.name,
            "valid": self.valid,
            "min_duration_met": self.min_duration_met,
            "min_queries_met": self.min_queries_met,
            "perf_constraints_met": self.perf_constraints_met,
            "early_stopping_met": self.early_stopping_met,
            "recommendations": list(self.recommendations),
            "invalid_reason": self.invalid_reason,
            "early_stopping": {
                "text": self.early_stopping_text,
                "ttft_text": self.early_stopping_ttft_text,
                "tpot_text": self.early_stopping_tpot_text,
                "latency_ss": self.early_stopping_latency_ss,
                "latency_ms": self.early_stopping_latency_ms,
            },
            "sample_count": self.sample_count,
            "query_count": self.query_count,
            "overlatency_query_count": self.overlatency_query_count,
            "sample_latency": stats(self.sample_latency),
            "query_latency": stats(self.query_latency),
            "token_count": self.token_count,
            "first_token_latency": stats(self.first_token_latency),
            "time_per_output_token": stats(self.time_per_output_token),
            "rates": attrs.asdict(self.rates),
        }

    @property
    def scenario(self) -> TestScenario:
        """The scenario of the series."""
        return self.settings.scenario

    @property
    def mode(self) -> TestMode:
        """The test mode of the run."""
        return self.settings.mode

    @property
    def target_percentile(self) -> float:
        """The latency percentile the scenario is judged at (0.99 is the 99th)."""
        return self.settings.target_latency_percentile


def _invalid_reason(perf: str, duration: str, queries_met: bool) -> str:
    reason = ""
    if perf:
        reason += perf + " "
    if duration:
        reason += duration + " "
    if not queries_met:
        reason += EARLY_EXIT_REASON
    return reason.replace("\n", " ")


def summarize(eff: EffectiveSettings, pr: PerformanceResult, sut_name: str) -> PerformanceSummary:
    """Statistics, the four validity checks and their texts for one performance series."""
    m = measure(eff, pr)
    duration_met, duration_rec = min_duration_met(eff, pr)
    queries_met = pr.queries_issued >= eff.min_query_count and (
        m.sample_count >= eff.min_sample_count
    )
    perf_met, perf_rec = _perf_constraints(eff, m)
    overall, ttft, tpot = _early_stopping(eff, pr, m)
    valid = duration_met and queries_met and perf_met and overall.met
    recommendations: list[str] = []
    if not valid:
        recommendations += [perf_rec] if not perf_met else []
        recommendations += [duration_rec] if not duration_met else []
        recommendations += [EARLY_EXIT_RECOMMENDATION] if not queries_met else []
    return PerformanceSummary(
        sut_name=sut_name,
        settings=eff,
        result=pr,
        valid=valid,
        min_duration_met=duration_met,
        min_queries_met=queries_met,
        perf_constraints_met=perf_met,
        has_perf_constraints=eff.scenario is TestScenario.Server,
        early_stopping_met=overall.met,
        recommendations=tuple(recommendations),
        invalid_reason="" if valid else _invalid_reason(perf_rec, duration_rec, queries_met),
        early_stopping_text=overall.text if ttft is None else "",
        early_stopping_ttft_text="" if ttft is None else ttft.text,
        early_stopping_tpot_text="" if tpot is None else tpot.text,
        early_stopping_latency_ss=overall.latency_ss,
        early_stopping_latency_ms=overall.latency_ms,
        sample_count=m.sample_count,
        query_count=m.query_count,
        overlatency_query_count=m.overlatency_query_count,
        sample_latency=m.samples,
        query_latency=m.queries,
        token_count=m.token_count,
        first_token_latency=m.first_token,
        time_per_output_token=m.tpot,
        overlatency_first_token_count=m.overlatency_first_token_count,
        rates=compute_rates(eff, pr, m),
    )
