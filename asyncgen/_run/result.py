"""What a run returns: the verdict, its reasons and every statistic, without parsing a file.

``TestResult`` is what ``run_test`` returns; ``build_result`` makes it from a finished
``RunSession``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._engine.watchdog import LoopStalls
from asyncgen._metrics.goodput import Goodput
from asyncgen._metrics.health import RunHealth
from asyncgen._metrics.issue_lag import IssueLag
from asyncgen._metrics.sessions import QueueWait, TurnStats
from asyncgen._metrics.tokens import TokenCounts
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._output.writer import LogWriter
from asyncgen._run.session import RunSession


@attrs.frozen(kw_only=True)
class TestResult:
    """The outcome of ``run_test``.

    ``valid`` is the reference's VALID/INVALID verdict, made stricter in one way: a run whose
    samples did not all complete within the drain deadline is INVALID. ``summary`` holds the
    performance statistics (``None`` for AccuracyOnly, which has no performance result).
    """

    __test__ = False

    scenario: TestScenario
    mode: TestMode
    valid: bool
    reasons: tuple[str, ...]
    summary: PerformanceSummary | None
    latencies_ns: npt.NDArray[np.int64]
    issue_lag: IssueLag
    errors: int
    warnings: int
    missing_samples: tuple[tuple[int, int], ...]  # (seq_id, qsl_idx) never completed
    late_completions: int
    accuracy_entries: int
    peak_qps: float | None
    files: dict[str, Path]
    # failed samples per kind, from reasons "kind: detail" (see asyncgen._engine.tally)
    failures: dict[str, int] = attrs.field(factory=dict)
    # whether the generator kept to its schedule (see asyncgen._metrics.health); None: not judged
    health: RunHealth | None = None
    # event-loop stalls while queries were paced and drained (see asyncgen._engine.watchdog)
    loop_stalls: LoopStalls | None = None
    # with SLOs (``run_test(slos=...)``): goodput and each SLO at its percentile
    goodput: Goodput | None = None
    # waits for a slot under server_max_concurrency (see asyncgen._metrics.sessions); None: no limit
    queue_wait: QueueWait | None = None
    # latency and time to first token by turn number, in multi-turn runs (server_multi_turn)
    turns: tuple[TurnStats, ...] = ()
    # input tokens sent (a QSL that knows them) and output tokens reported (token mode)
    tokens: TokenCounts | None = None
    # the text of every warning in the detail log, in order (``warnings`` counts them)
    warning_messages: tuple[str, ...] = ()

    @property
    def latencies(self) -> npt.NDArray[np.int64]:
        """Per-sample latencies of the performance run, ns, in sample order."""
        return self.latencies_ns

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: what ``results.json`` holds (no per-sample arrays)."""
        summary = None if self.summary is None else self.summary.to_dict()
        return {
            "scenario": self.scenario.name,
            "mode": self.mode.name,
            "valid": self.valid,
            "result": "VALID" if self.valid else "INVALID",
            "reasons": list(self.reasons),
            "summary": summary,
            "issue_lag": self.issue_lag.to_dict(),
            "errors": self.errors,
            "warnings": self.warnings,
            "missing_samples": [{"seq_id": s, "qsl_idx": i} for s, i in self.missing_samples],
            "late_completions": self.late_completions,
            "accuracy_entries": self.accuracy_entries,
            "peak_qps": self.peak_qps,
            "failures": dict(self.failures),
            "health": None if self.health is None else self.health.to_dict(),
            "loop_stalls": None if self.loop_stalls is None else self.loop_stalls.to_dict(),
            "files": {kind: str(path) for kind, path in self.files.items()},
            "goodput": None if self.goodput is None else self.goodput.to_dict(),
            "queue_wait": None if self.queue_wait is None else self.queue_wait.to_dict(),
            "turns": [turn.to_dict() for turn in self.turns],
            "tokens": None if self.tokens is None else self.tokens.to_dict(),
            "warning_messages": list(self.warning_messages),
        }

    def to_json(self) -> str:
        """``to_dict`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


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


def build_result(
    session: RunSession, writer: LogWriter, *, fail_on_sample_errors: bool = True
) -> TestResult:
    """The result of a run that finished: the verdict, the reasons and every figure."""
    state = session.state
    summary = state.summary
    reasons = _verdict_reasons(summary) + state.invalid_reasons
    if session.eff.mode is TestMode.AccuracyOnly:
        valid = not state.missing
    else:
        valid = summary is not None and summary.valid and not state.missing
    # Failed samples (``QuerySample.fail``), counted by the kind their reason starts with.
    failures = session.tally.failures()
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
        scenario=session.eff.scenario,
        mode=session.eff.mode,
        valid=valid,
        reasons=tuple(reasons),
        summary=summary,
        latencies_ns=state.latencies,
        issue_lag=IssueLag.from_sorted(lags),
        errors=writer.errors,
        warnings=writer.warnings,
        missing_samples=tuple(state.missing),
        late_completions=session.tally.late_completions,
        accuracy_entries=writer.accuracy_entry_count,
        peak_qps=state.peak_qps,
        failures=failures,
        health=state.health,
        loop_stalls=session.watchdog.stalls(),
        goodput=state.goodput,
        queue_wait=state.queue_wait,
        turns=state.turns,
        tokens=state.tokens,
        warning_messages=tuple(writer.warning_messages),
        files={
            kind: path
            for kind, path in writer.paths.items()
            if kind != "trace" or writer.trace_enabled
        },
    )
