"""Token mode: time to first token, time per output token, tokens per second over time.

Per-sample first-token times come from ``Token`` events (SingleStream, MultiStream) or
Server ``Token_Latency`` counters, which both asyncgen and the reference write; per-sample
token counts come from asyncgen's ``n_tokens`` sample arg (the reference has none). What a
trace lacks is drawn from the reported percentiles, and tokens per second over time is then
completions per window times the mean tokens per sample — labelled as an estimate.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from asyncgen.report._arrays import NS_PER_MS, NS_PER_S, FloatArray, IntArray, empty_float
from asyncgen.report._binning import Distribution, distribution, percentiles_of, window_edges
from asyncgen.report._load import RunData
from asyncgen.report._logs import LatencySummary
from asyncgen.report._trace import UNKNOWN, TraceSamples

_MARKS = (0.5, 0.9, 0.95, 0.97, 0.99, 0.999)


@attrs.frozen(kw_only=True)
class TokenFigure:
    key: ClassVar[str] = "tokens"
    title: ClassVar[str] = "Token latencies and throughput"
    ttft_ms: Distribution | None
    ttft_per_sample: bool  # False: the CDF runs through the reported percentiles only
    ttft_percentiles_ms: dict[float, float]
    ttft_target_ms: float | None  # Server token mode's TTFT bound
    tpot_ms: Distribution | None
    tpot_per_sample: bool
    tpot_percentiles_ms: dict[float, float]
    window_start_s: FloatArray
    window_width_s: float
    tokens_per_s: FloatArray
    tokens_estimated: bool  # completions x mean tokens per sample, not per-sample counts
    mean_tokens_per_sample: float | None


def token_figure(run: RunData, samples: TraceSamples | None) -> TokenFigure:
    ttft_ns = _per_sample_ttft(samples)
    tpot_ns = _per_sample_tpot(samples)
    ttft, ttft_marks = _distribution(ttft_ns, run.first_token_latency)
    tpot, tpot_marks = _distribution(tpot_ns, run.tpot)
    mean_tokens = mean_tokens_per_sample(run)
    starts, width, rate, estimated = _tokens_over_time(samples, mean_tokens)
    return TokenFigure(
        ttft_ms=ttft,
        ttft_per_sample=ttft_ns is not None,
        ttft_percentiles_ms=ttft_marks,
        ttft_target_ms=run.ttft_target_ns / NS_PER_MS if run.ttft_target_ns > 0 else None,
        tpot_ms=tpot,
        tpot_per_sample=tpot_ns is not None,
        tpot_percentiles_ms=tpot_marks,
        window_start_s=starts,
        window_width_s=width,
        tokens_per_s=rate,
        tokens_estimated=estimated,
        mean_tokens_per_sample=mean_tokens,
    )


def _per_sample_ttft(samples: TraceSamples | None) -> IntArray | None:
    if samples is None or not samples.first_token_ns.size:
        return None
    known = samples.first_token_ns != UNKNOWN
    if not known.any():
        return None
    ttft: IntArray = (samples.first_token_ns - samples.scheduled_ns)[known]
    return ttft


def _per_sample_tpot(samples: TraceSamples | None) -> IntArray | None:
    """(completion - first token) / (tokens - 1), for samples with both and > 1 token."""
    if samples is None or not samples.first_token_ns.size or not samples.n_tokens.size:
        return None
    usable = (samples.first_token_ns != UNKNOWN) & (samples.n_tokens > 1)
    if not usable.any():
        return None
    gaps = samples.completed_ns[usable] - samples.first_token_ns[usable]
    tpot: IntArray = gaps // (samples.n_tokens[usable] - 1)
    return tpot


def _distribution(
    per_sample_ns: IntArray | None, reported: LatencySummary | None
) -> tuple[Distribution | None, dict[float, float]]:
    if per_sample_ns is not None:
        values = per_sample_ns.astype(np.float64) / NS_PER_MS
        return distribution(values), percentiles_of(values, _MARKS)
    if reported is None or not reported.percentiles_ns:
        return None, {}
    marks = {p: v / NS_PER_MS for p, v in reported.percentiles_ns.items()}
    points = Distribution(
        count=0,
        bin_edges=np.zeros(0),
        bin_counts=np.zeros(0, dtype=np.int64),
        cdf_x=np.array([reported.min_ns / NS_PER_MS, *marks.values(), reported.max_ns / NS_PER_MS]),
        cdf_y=np.array([0.0, *marks.keys(), 1.0]),
        log_bins=False,
    )
    return points, marks


def mean_tokens_per_sample(run: RunData) -> float | None:
    """Reported tokens over reported samples: the token count when ``results.json`` has it,
    else the ratio of the token and sample rates (same denominator in the reference)."""
    samples = run.expected_samples
    if run.token_count and samples:
        return run.token_count / samples
    rates = run.rates
    for tokens_key, samples_key, one_less in (
        ("completed_tokens_per_second", "completed_samples_per_sec", True),
        ("completed_tokens_per_second", "completed_samples_per_second", True),
        ("tokens_per_second", "samples_per_second", False),
    ):
        token_rate, sample_rate = rates.get(tokens_key), rates.get(samples_key)
        if token_rate and sample_rate and samples:
            # Server's sample rate counts n - 1 samples over the same time as n samples' tokens.
            scale = (samples - 1) / samples if one_less and samples > 1 else 1.0
            return token_rate / sample_rate * scale
    return None


def _tokens_over_time(
    samples: TraceSamples | None, mean_tokens: float | None
) -> tuple[FloatArray, float, FloatArray, bool]:
    if samples is None or not samples.count:
        return empty_float(), 0.0, empty_float(), True
    origin = int(samples.scheduled_ns.min())
    done = (samples.completed_ns - origin).astype(np.float64) / NS_PER_S
    edges = window_edges(0.0, float(done.max()))
    width = float(edges[1] - edges[0])
    if samples.n_tokens.size:
        counts = np.where(samples.n_tokens == UNKNOWN, 0, samples.n_tokens).astype(np.float64)
        tokens, _ = np.histogram(done, bins=edges, weights=counts)
        return edges[:-1], width, tokens / width, False
    if mean_tokens is None:
        return empty_float(), 0.0, empty_float(), True
    completed, _ = np.histogram(done, bins=edges)
    return edges[:-1], width, completed * mean_tokens / width, True
