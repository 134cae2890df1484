"""The asyncgen side of the end-to-end comparison: ``_reference_plan_run.py``'s twin, in process.

``run_case(spec)`` takes one RUN of the reference runner's spec (same settings names, same
``sut`` and ``audit_config`` options), runs ``asyncgen.run_test`` with a recording SUT that
answers exactly like the reference runner's SUT, and returns the same record (``series``,
``generated``, ``trace_samples``, ``accuracy_log``, ``errors``, ``qsl_calls``, ``detail``,
``summary``, ``accuracy_text``, ``trace_sample_times``) read back from asyncgen's own files.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncgen
from asyncgen.sut import QuerySample

_ENUMS: dict[str, Any] = {"scenario": asyncgen.TestScenario, "mode": asyncgen.TestMode}


def settings_from_spec(raw: dict[str, Any]) -> asyncgen.TestSettings:
    """TestSettings from the reference runner's binding-named settings dict."""
    values = {k: _ENUMS[k][v] if k in _ENUMS else v for k, v in raw.items()}
    return asyncgen.TestSettings(**values)


class ScriptedSUT:
    """Completes every sample inside ``issue_query``, as the reference runner's SUT does."""

    name = "PySUT"  # the names the reference's Python bindings report, so the summaries match

    def __init__(self, spec: dict[str, Any], series: list[dict[str, Any]]) -> None:
        self._spec = spec
        self._series = series
        self._flushes = 0
        self._stalled: set[int] = set()

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self._series[-1]["issued"].append([s.index for s in samples])
        spec = self._spec
        number = self._flushes
        if number in spec.get("stall_series", ()) and number not in self._stalled:
            self._stalled.add(number)
            await asyncio.sleep(spec["stall_s"])  # blocks issuing, like the reference's sleep
        # One batch call each, as the reference runner does: one timestamp per batch.
        with_data = spec.get("response") == "index"
        if spec.get("first_token"):
            asyncgen.first_token_complete(
                [
                    asyncgen.QuerySampleResponse(
                        s.id, struct.pack("<i", s.index) if with_data else b""
                    )
                    for s in samples
                ]
            )
        responses = [
            asyncgen.QuerySampleResponse(
                s.id,
                struct.pack("<3i", s.index, 2 * s.index, 7) if with_data else b"",
                2 + s.index % 4 if spec.get("tokens") else None,
            )
            for s in samples
        ]
        for _ in range(2 if spec.get("duplicate") else 1):
            asyncgen.query_samples_complete(responses)

    async def flush_queries(self) -> None:
        self._series[-1]["flushes"] += 1
        self._flushes += 1


class RecordingQSL:
    """Records load/unload calls in order, with the reference bindings' name."""

    name = "PyQSL"

    def __init__(self, total: int, performance: int, series: list[dict[str, Any]]) -> None:
        self.total_sample_count = total
        self.performance_sample_count = performance
        self.calls: list[list[Any]] = []
        self._series = series

    async def load_samples(self, indices: Sequence[int]) -> None:
        self._series.append({"loaded": list(indices), "issued": [], "flushes": 0})
        self.calls.append(["load", list(indices)])

    async def unload_samples(self, indices: Sequence[int]) -> None:
        self.calls.append(["unload", list(indices)])


async def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one spec with asyncgen and read back what it issued and wrote."""
    outdir = Path(spec["outdir"])
    series: list[dict[str, Any]] = []
    sut = ScriptedSUT(spec.get("sut", {}), series)
    qsl = RecordingQSL(spec["total_count"], spec["performance_count"], series)
    audit: Path | None = None
    if "audit_config" in spec:
        audit = outdir / "audit.config"
        audit.write_text(spec["audit_config"])
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(outdir), **spec.get("log_output", {})),
        enable_trace=bool(spec.get("enable_trace", True)),
    )
    settings = settings_from_spec(spec["settings"])
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout) if spec.get("capture_stdout") else _no_redirect():
        result = await asyncgen.run_test(sut, qsl, settings, log_settings=log, audit_config=audit)
    record = _read_files(result, outdir)
    record.update(
        series=series,
        qsl_calls=qsl.calls,
        stdout=stdout.getvalue() if spec.get("capture_stdout") else None,
    )
    return record


def _read_files(result: asyncgen.TestResult, outdir: Path) -> dict[str, Any]:
    detail = _detail(result.files["detail"])
    trace = json.loads(result.files["trace"].read_text()) if "trace" in result.files else None
    accuracy_text = result.files["accuracy"].read_text()
    return {
        "generated": _generated(detail),
        "trace_samples": _trace_samples(trace),
        "accuracy_log": [[e["seq_id"], e["qsl_idx"]] for e in json.loads(accuracy_text)],
        "errors": [str(value) for key, value, is_error, _ in detail if is_error],
        "detail": detail,
        "summary": result.files["summary"].read_text(),
        "accuracy_text": accuracy_text,
        "trace_sample_times": _trace_sample_times(trace),
        "files": sorted(p.name for p in outdir.iterdir()),
        "paths": {kind: str(path) for kind, path in result.files.items()},
        "trace_ends": _sample_ends(trace),
        "trace_other": {k: v for k, v in (trace or {}).items() if k != "traceEvents"},
    }


@contextlib.contextmanager
def _no_redirect() -> Iterator[None]:
    yield


def _detail(path: Path) -> list[list[Any]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        assert line.startswith(":::MLLOG "), line  # asyncgen's detail log is strict JSON
        record = json.loads(line.removeprefix(":::MLLOG "))
        meta = record["metadata"]
        lines.append([record["key"], record["value"], meta["is_error"], meta["is_warning"]])
    return lines


def _generated(detail: list[list[Any]]) -> list[dict[str, int]]:
    names = {
        "generated_query_count": "query_count",
        "generated_samples_per_query": "samples_per_query",
        "generated_query_duration": "duration",
    }
    generated: list[dict[str, int]] = []
    for key, value, _, _ in detail:
        if key == "generated_query_count":
            generated.append({})
        if key in names:
            generated[-1][names[key]] = int(value)
    return generated


def _sample_begins(trace: dict[str, Any] | None) -> list[dict[str, Any]]:
    if trace is None:
        return []
    return [e for e in trace["traceEvents"] if e.get("name") == "Sample" and e.get("ph") == "b"]


def _sample_ends(trace: dict[str, Any] | None) -> dict[int, float]:
    """sample_seq -> end time in ns (not rounded) of every Sample end event."""
    events = trace["traceEvents"] if trace else []
    return {e["id"]: e["ts"] * 1000 for e in events if e.get("name") == "Sample" and e["ph"] == "e"}


def _ts_ns(event: dict[str, Any]) -> int:
    return round(float(event["ts"]) * 1000)


def _trace_samples(trace: dict[str, Any] | None) -> list[list[int]]:
    return [
        [a["sample_seq"], a["query_seq"], a["sample_idx"], _ts_ns(e)]
        for e in _sample_begins(trace)
        for a in (e["args"],)
    ]


def _trace_sample_times(trace: dict[str, Any] | None) -> list[list[int]]:
    return [
        [a["sample_seq"], _ts_ns(e), a["issue_start_ns"], a["complete_ns"]]
        for e in _sample_begins(trace)
        for a in (e["args"],)
    ]


def run_cases(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every spec, one after the other, on one uvloop event loop."""
    import uvloop  # noqa: PLC0415 - uvloop is what asyncgen.run uses too

    async def run_all() -> list[dict[str, Any]]:
        records = []
        for spec in specs:
            # The records kept so far are many small objects; frozen, a full collection
            # during the next run does not have to walk them (such pauses are ours, not
            # asyncgen's, and would show up as latency).
            gc.collect()
            gc.freeze()
            records.append(await run_case(spec))
        gc.unfreeze()
        return records

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_all())
