"""The ``TestResult`` of a finished run: its verdict, its reasons, and every figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from asyncgen._config.enums import TestMode
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._output.writer import LogWriter
from asyncgen.result import IssueLag, TestResult

if TYPE_CHECKING:
    from asyncgen._run_series import _Run


def _verdict_reasons(summary: PerformanceSummary | None) -> list[str]:
    """Why a performance result is INVALID, in plain words, then the reference's advice."""
    if summary is None:
        return []
    failed = [
        ("performance constraints not met", summary.perf_constraints_met),
        ("min duration not met", summary.min_duration_met),
        ("min queries not met", summary.min_queries_met),
        ("early stopping not satisfied", summary.early_stopping_met),
    ]
    return [text for text, met in failed if not met] + list(summary.recommendations)


def build_result(run: _Run, writer: LogWriter, *, fail_on_sample_errors: bool = True) -> TestResult:
    state = run.state
    summary = state.summary
    reasons = _verdict_reasons(summary) + state.invalid_reasons
    if run.eff.mode is TestMode.AccuracyOnly:
        valid = not state.missing
    else:
        valid = summary is not None and summary.valid and not state.missing
    # Failed samples (``QuerySample.fail``), counted by the kind their reason starts with.
    failures = run.tally.failures()
    if failures and fail_on_sample_errors:
        valid = False
        kinds = ", ".join(f"{kind}: {n}" for kind, n in failures.items())
        reasons.append(f"{sum(failures.values())} samples failed ({kinds})")
    # Each series' lags are sorted already: one series (the usual case) needs no copy and no
    # sort (a million entries at a million queries); several are merged and sorted once.
    if len(state.lags) == 1:
        lags = state.lags[0]
    else:
        lags = np.concatenate([np.zeros(0, dtype=np.int64), *state.lags])
        lags.sort()
    return TestResult(
        scenario=run.eff.scenario,
        mode=run.eff.mode,
        valid=valid,
        reasons=tuple(reasons),
        summary=summary,
        latencies_ns=state.latencies,
        issue_lag=IssueLag.from_sorted(lags),
        errors=writer.errors,
        warnings=writer.warnings,
        missing_samples=tuple(state.missing),
        late_completions=run.tally.late_completions,
        accuracy_entries=writer.accuracy_entry_count,
        peak_qps=state.peak_qps,
        failures=failures,
        health=state.health,
        loop_stalls=run.watchdog.stalls(),
        files={
            kind: path
            for kind, path in writer.paths.items()
            if kind != "trace" or writer.trace_enabled
        },
    )
