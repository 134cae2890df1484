"""One run's data for the report, gathered from its output folder or a ``TestResult``.

Statistics come from what the run reported (the detail log, ``results.json``, the summary),
never recomputed from partial data. Per-sample timestamps come from the trace when one was
written: without it the report keeps to statistics and says so. A ``TestResult`` adds its
in-memory per-sample latencies, enough for distributions and confidence intervals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from asyncgen.report._arrays import IntArray, empty_int
from asyncgen.report._logs import (
    DetailLog,
    Headline,
    LatencySummary,
    latency_summary,
    latency_summary_from_json,
    read_detail,
    summary_headline,
    summary_result,
)
from asyncgen.report._trace import TraceSamples, read_trace
from asyncgen.result import IssueLag, TestResult

FILE_STEMS = {
    "summary": "mlperf_log_summary.txt",
    "detail": "mlperf_log_detail.txt",
    "trace": "mlperf_log_trace.json",
    "results": "mlperf_log_results.json",
}
NO_TRACE_NOTE = (
    "No trace was written for this run (enable_trace=False or an empty trace file): the "
    "report shows the reported statistics only. Latency over time, throughput and in-flight "
    "over time, issue lag per query and arrival fidelity need the per-sample trace."
)


@attrs.frozen(kw_only=True)
class RunData:
    """Everything the figures and the comparison read about one run."""

    label: str
    path: Path | None
    scenario: str
    mode: str
    valid: bool | None
    reasons: tuple[str, ...] = ()
    headline: Headline | None = None
    target_percentile: float = 0.99
    target_latency_ns: int = 0  # Server latency bound (0: the scenario has none)
    ttft_target_ns: int = 0  # Server token mode
    target_qps: float = 0.0
    samples_per_query: int = 1
    query_count: int | None = None  # queries the performance series issued
    token_mode: bool = False
    token_count: int | None = None  # tokens the performance series reported
    sample_latency: LatencySummary | None = None
    query_latency: LatencySummary | None = None  # MultiStream
    first_token_latency: LatencySummary | None = None
    tpot: LatencySummary | None = None
    rates: dict[str, float] = attrs.field(factory=dict)
    issue_lag: IssueLag | None = None  # asyncgen's reported lag percentiles
    engine_health: dict[str, Any] | None = None  # results.json "health": asyncgen's own check
    samples: TraceSamples | None = None  # the performance series' traced samples
    latencies_ns: IntArray = attrs.field(factory=empty_int)  # per sample, when known
    errors: int = 0
    warnings: int = 0
    summary_text: str = ""
    notes: tuple[str, ...] = ()
    # asyncgen's workload options, from the detail log: the arrival process asked for (None:
    # the reference's Poisson), and what makes queries depend on completions
    arrival_process: dict[str, Any] | None = None
    session_options: dict[str, Any] | None = None
    token_counts: dict[str, Any] | None = None  # results.json "tokens": input/output counts

    @property
    def expected_samples(self) -> int | None:
        """Samples the performance series issued, from the reported query count."""
        if self.query_count is None:
            return None
        return self.query_count * self.samples_per_query

    @property
    def trace_complete(self) -> bool:
        """Does the trace hold every sample the statistics were computed from?"""
        expected = self.expected_samples
        return self.samples is not None and expected is not None and self.samples.count >= expected

    @property
    def has_all_sample_latencies(self) -> bool:
        """Are ``sample_latencies_ns`` all the latencies the statistics came from?"""
        return self.trace_complete or bool(self.latencies_ns.size)

    @property
    def sample_latencies_ns(self) -> IntArray:
        """Per-sample latencies: the trace's when it is complete, else the in-memory ones,
        else whatever part of the trace there is (may be empty)."""
        if self.samples is not None and (self.trace_complete or not self.latencies_ns.size):
            return self.samples.latency_ns
        return self.latencies_ns


def load_run(source: str | Path | TestResult, *, label: str | None = None) -> RunData:
    """Read a run from its output folder, or from the ``TestResult`` that ``run`` returned."""
    if isinstance(source, TestResult):
        return _from_result(source, label)
    folder = Path(source)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a run output folder: {folder}")
    results = _read_json(folder / FILE_STEMS["results"])
    return _assemble(folder, label or folder.name, results, empty_int())


def unique_labels(runs: Sequence[RunData]) -> list[RunData]:
    """The runs with distinct labels: a repeated folder name gains its parent's name, and a
    number if that is not enough."""
    seen: dict[str, int] = {}
    unique = []
    for run in runs:
        label = run.label
        if label in seen and run.path is not None:
            label = f"{run.path.parent.name}/{run.path.name}"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} #{seen[label]}"
        unique.append(attrs.evolve(run, label=label) if label != run.label else run)
    return unique


def _from_result(result: TestResult, label: str | None) -> RunData:
    summary_path = result.files.get("summary")
    folder = summary_path.parent if summary_path is not None else None
    results = result.to_dict()
    name = label or (folder.name if folder is not None else result.scenario.name)
    run = _assemble(folder, name, results, np.asarray(result.latencies_ns, dtype=np.int64))
    if result.summary is not None:  # settings the files may not carry
        eff = result.summary.settings
        run = attrs.evolve(
            run,
            target_percentile=eff.target_latency_percentile,
            target_latency_ns=run.target_latency_ns or _server_only(run, eff.target_latency_ns),
            ttft_target_ns=run.ttft_target_ns or _server_only(run, eff.ttft_latency_ns),
            target_qps=run.target_qps or eff.target_qps,
            samples_per_query=eff.samples_per_query,
            token_mode=eff.use_token_latencies,
        )
    return run


def _server_only(run: RunData, value: int) -> int:
    return value if run.scenario == "Server" else 0


def _assemble(
    folder: Path | None, label: str, results: dict[str, Any] | None, latencies: IntArray
) -> RunData:
    detail = read_detail(folder / FILE_STEMS["detail"]) if folder else None
    summary_text = _read_text(folder / FILE_STEMS["summary"]) if folder else ""
    fields = _from_detail(detail) if detail else {}
    if results is not None:
        fields = _merge_results(fields, results)
    scenario = str(fields.pop("scenario", "") or _summary_field(summary_text, "Scenario"))
    mode = str(fields.pop("mode", "") or _summary_field(summary_text, "Mode"))
    valid = fields.pop("valid", None)
    if valid is None and summary_result(summary_text):
        valid = summary_result(summary_text) == "VALID"
    run = RunData(
        label=label,
        path=folder,
        scenario=scenario,
        mode=mode,
        valid=valid,
        summary_text=summary_text,
        latencies_ns=latencies,
        **fields,
    )
    headline = summary_headline(summary_text) or _headline_from_stats(run)
    samples, notes = _performance_samples(run, folder)
    return attrs.evolve(run, headline=headline, samples=samples, notes=tuple(notes))


def _from_detail(detail: DetailLog) -> dict[str, Any]:
    rates = {
        key.removeprefix("result_"): float(value)
        for key, value in detail.values.items()
        if key.startswith("result_")
        and ("per_sec" in key or "per_second" in key or "qps" in key or "throughput" in key)
        and isinstance(value, int | float)
    }
    validity = detail.get("result_validity")
    is_server = detail.get("effective_scenario") == "Server"
    return {
        "scenario": detail.get("effective_scenario", ""),
        "mode": detail.get("effective_test_mode", ""),
        "valid": None if validity is None else validity == "VALID",
        "target_percentile": float(detail.get("effective_target_latency_percentile", 0.99)),
        "target_latency_ns": int(detail.get("effective_target_latency_ns", 0) or 0),
        "ttft_target_ns": int(detail.get("requested_server_ttft_latency", 0) or 0)
        if is_server
        else 0,
        "target_qps": float(detail.get("effective_target_qps", 0.0) or 0.0),
        "samples_per_query": int(detail.get("effective_samples_per_query", 1) or 1),
        "query_count": _int_or_none(detail.get("result_query_count")),
        "token_mode": bool(detail.get("requested_use_token_latencies", False))
        or "result_first_token_min_latency_ns" in detail.values,
        "sample_latency": latency_summary(detail, "sample"),
        "query_latency": latency_summary(detail, "query"),
        "first_token_latency": latency_summary(detail, "first_token"),
        "tpot": latency_summary(detail, "tpot"),
        "rates": rates,
        "errors": detail.errors,
        "warnings": detail.warnings,
        "arrival_process": _mapping(detail.get("arrival_process")),
        "session_options": _mapping(detail.get("session_options")),
    }


def _mapping(value: object) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def _merge_results(fields: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """``results.json`` (asyncgen only): the verdict, its reasons, the issue lag, token count;
    and the statistics too when the detail log is missing."""
    merged = dict(fields)
    merged["scenario"] = merged.get("scenario") or results.get("scenario", "")
    merged["mode"] = merged.get("mode") or results.get("mode", "")
    merged["valid"] = bool(results.get("valid"))
    merged["reasons"] = tuple(str(r) for r in results.get("reasons", ()))
    merged["errors"] = int(results.get("errors", merged.get("errors", 0)))
    merged["warnings"] = int(results.get("warnings", merged.get("warnings", 0)))
    if isinstance(results.get("health"), dict):
        merged["engine_health"] = results["health"]
    if isinstance(results.get("tokens"), dict):
        merged["token_counts"] = results["tokens"]
    lag = results.get("issue_lag")
    if lag and lag.get("count"):
        merged["issue_lag"] = IssueLag(
            count=int(lag["count"]),
            mean_ns=float(lag["mean_ns"]),
            max_ns=int(lag["max_ns"]),
            percentiles_ns={
                round(float(k) / 100.0, 6): int(v) for k, v in lag["percentiles_ns"].items()
            },
        )
    summary = results.get("summary")
    if summary:
        merged["token_count"] = int(summary.get("token_count", 0)) or None
        if merged.get("query_count") is None:
            merged["query_count"] = int(summary.get("query_count", 0))
        for name, key in (
            ("sample_latency", "sample_latency"),
            ("query_latency", "query_latency"),
            ("first_token_latency", "first_token_latency"),
            ("tpot", "time_per_output_token"),
        ):
            if merged.get(name) is None:
                merged[name] = latency_summary_from_json(summary.get(key))
        if not merged.get("rates"):
            merged["rates"] = {
                k: float(v) for k, v in (summary.get("rates") or {}).items() if v is not None
            }
    return merged


def _headline_from_stats(run: RunData) -> Headline | None:
    """The summary's headline, rebuilt from the statistics when the summary is missing."""
    rate_names = {  # detail-log key, results.json key
        "Server": (
            "Completed samples per second",
            "completed_samples_per_sec",
            "completed_samples_per_second",
        ),
        "Offline": ("Samples per second", "samples_per_second", "samples_per_second"),
    }
    if run.scenario in rate_names:
        name, *keys = rate_names[run.scenario]
        value = next((run.rates[k] for k in keys if k in run.rates), None)
        if value is None:
            return None
        return Headline(name=name, value=value, higher_is_better=True, percentile=None)
    stats = run.query_latency if run.scenario == "MultiStream" else run.sample_latency
    p = run.target_percentile
    if stats is None or p not in stats.percentiles_ns:
        return None
    return Headline(
        name=f"{p * 100:.1f}th percentile latency (ns)",
        value=float(stats.percentiles_ns[p]),
        higher_is_better=False,
        percentile=p,
    )


def _performance_samples(
    run: RunData, folder: Path | None
) -> tuple[TraceSamples | None, list[str]]:
    """The traced samples of the performance series, and notes on what is missing."""
    notes: list[str] = []
    trace = read_trace(folder / FILE_STEMS["trace"]) if folder else None
    if trace is None:
        notes.append(NO_TRACE_NOTE)
        if run.latencies_ns.size:
            notes.append("Latency distributions use the in-memory per-sample latencies.")
        return None, notes
    if run.query_count and trace.query_seq.size:
        # Accuracy sets or FindPeakPerformance probes come first: keep the last series.
        first_query = int(trace.query_seq.max()) + 1 - run.query_count
        if first_query > int(trace.query_seq.min()):
            trace = trace.take(trace.query_seq >= first_query)
    expected = run.expected_samples
    if expected is not None and trace.count < expected:
        notes.append(
            f"The trace covers {trace.count:,} of the {expected:,} samples the statistics were "
            "computed from (truncated, or samples never completed): figures drawn from it show "
            "that part only; the reported statistics cover the whole run."
        )
    if run.token_mode and not trace.first_token_ns.size:
        notes.append(
            "The trace has no first-token times: TTFT and TPOT are shown from the reported "
            "percentiles only, and tokens per second over time is estimated from the mean "
            "tokens per sample."
        )
    return trace, notes


def _summary_field(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.startswith(name) and ":" in line:
            return line.split(":", 1)[1].strip()
    return ""


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
