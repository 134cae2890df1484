"""What a run that did not finish leaves behind: one error to raise, and files that say so.

The reference writes no summary for an unfinished run. asyncgen writes a summary block whose
verdict is INVALID with the reason (it overrules any block the run wrote before it stopped) and
a ``results.json`` with ``"stopped"`` and ``"interrupted"``, so no reader can take a partial run
for a finished one. Event-loop stalls seen before the stop are in both (a blocked loop can be
why a drain deadline passed).
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import attrs

from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._engine.interrupt import being_cancelled, is_interrupt
from asyncgen._engine.watchdog import LoopStalls
from asyncgen._errors import AsyncgenError, OutputError, RunError
from asyncgen._log import get_logger
from asyncgen._output.writer import LogWriter

_log = get_logger("asyncgen")
_RULE = "================================================"


@attrs.frozen
class StoppedRun:
    """The facts about a stopped run that its summary and results.json report."""

    scenario: TestScenario
    mode: TestMode
    sut_name: str
    missing: list[tuple[int, int]]  # (seq_id, qsl_idx) that never completed
    loop_stalls: LoopStalls | None = None  # what the watchdog saw before the stop


def stop_error(caught: BaseException, writer: LogWriter) -> BaseException:
    """What ``run_test`` raises for what stopped it (logged in the detail log): our own errors
    and cancellation or interrupts as they are; anything else — an exception, or a
    ``BaseException`` the SUT raised (a ``CancelledError`` nobody asked for, ``GeneratorExit``,
    its own subclass) — as a ``RunError`` whose cause is the original. Of an exception group,
    the first failure is raised and every other one becomes a note on it. If the run's task is
    being cancelled, cancellation is raised whatever else failed, so that ``asyncio.timeout()``
    around ``run_test`` works."""
    cancelled = anyio.get_cancelled_exc_class()
    leaves = _leaves(caught) if isinstance(caught, BaseExceptionGroup) else [caught]
    exc = next((e for e in leaves if not isinstance(e, cancelled)), leaves[0])
    if being_cancelled():
        exc = next((e for e in leaves if isinstance(e, cancelled)), None) or cancelled()
    error = _raised_for(exc, writer)
    for other in leaves:
        if other is not exc and not isinstance(other, cancelled):
            writer.error("error_runtime", f"Run stopped: also raised {other!r}")
            error.add_note(f"also raised: {other!r}")
    return error


def _raised_for(exc: BaseException, writer: LogWriter) -> BaseException:
    if isinstance(exc, AsyncgenError) and not isinstance(exc, RunError):
        writer.error("error_runtime", f"Run stopped: {exc}")
        return exc
    if is_interrupt(exc):
        writer.error("error_runtime", f"Run interrupted: {exc!r}")
        return exc
    writer.error("error_runtime", f"Run stopped by an exception: {exc!r}")
    _log.info("run failed", error=repr(exc))  # raised as a RunError: reported by the caller
    error = RunError(f"the run stopped: {exc!r}")
    error.__cause__ = exc
    return error


def stop_reason(exc: BaseException) -> tuple[bool, str]:
    """(interrupted, reason) of a run that did not finish."""
    if not isinstance(exc, Exception):
        return True, f"the run was interrupted ({type(exc).__name__})"
    cause = exc.__cause__
    if isinstance(exc, RunError) and cause is not None:
        return False, f"the run stopped: {cause!r}"
    return False, f"the run stopped: {exc}"


def write_stopped_summary(writer: LogWriter, run: StoppedRun, exc: BaseException) -> None:
    """The summary block of a run that did not finish: INVALID, and why."""
    interrupted, reason = stop_reason(exc)
    lines = [
        _RULE,
        "MLPerf Results Summary",
        _RULE,
        f"SUT name : {run.sut_name}",
        f"Scenario : {run.scenario.name}",
        f"Mode     : {run.mode.name}",
        "Result is : INVALID",
        f"  Run {'interrupted' if interrupted else 'stopped'} : {reason}",
        f"  Samples never completed : {len(run.missing)}",
    ]
    stalls = run.loop_stalls
    if stalls is not None and stalls.count:  # a blocked loop may be why a drain deadline passed
        lines.append(f"  Event loop stalls : {stalls.count} (longest {stalls.max_ns / 1e6:.1f} ms)")
    writer.summary([*lines, _RULE])


def write_stopped_results(writer: LogWriter, run: StoppedRun, exc: BaseException) -> None:
    """results.json of a run that did not finish (after ``writer.close``: final counts)."""
    if "results" not in writer.paths:  # LogSettings.write_results_json is False
        return
    interrupted, reason = stop_reason(exc)
    body = {
        "scenario": run.scenario.name,
        "mode": run.mode.name,
        "result": "INVALID",
        "valid": False,
        "interrupted": interrupted,
        "stopped": reason,
        "reasons": [reason],
        "errors": writer.errors,
        "warnings": writer.warnings,
        "missing_samples": [{"seq_id": s, "qsl_idx": i} for s, i in run.missing],
        "loop_stalls": None if run.loop_stalls is None else run.loop_stalls.to_dict(),
        "accuracy_entries": writer.accuracy_entry_count,
        "files": {
            kind: str(path)
            for kind, path in writer.paths.items()
            if kind != "trace" or writer.trace_enabled
        },
    }
    try:
        write_text(writer.paths["results"], json.dumps(body, indent=2) + "\n")
    except OutputError as error:  # the run's own error is the one to raise
        _log.error("results.json not written", error=str(error))


def write_text(path: Path, text: str) -> None:
    """Write a whole file, or raise ``OutputError`` naming it."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return leaves
