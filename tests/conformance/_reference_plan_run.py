"""Drive the reference mlperf_loadgen and record what it loaded, issued and logged.

Standalone (run it in a subprocess: the reference keeps process-global state):

    python _reference_plan_run.py SPEC.json RESULT.json

SPEC is ``{"runs": [RUN, ...]}``; each RUN is

    {"outdir": "/tmp/x",                # must exist; the reference writes its four logs here
     "total_count": 64, "performance_count": 16,
     "settings": {"scenario": "Server", "mode": "PerformanceOnly", "server_target_qps": 2000, ...},
     "enable_trace": true}

Settings use the binding's attribute names; enum values are given by member name. The SUT
completes every sample synchronously inside IssueQuery with an empty response, so the run
takes about the scenario's minimum duration. RESULT is ``{"runs": [OUT, ...]}`` with, per run:

* ``series``: one entry per LoadSamplesToRam call, in order: ``loaded`` (the indices passed to
  it), ``issued`` (the QSL indices of each IssueQuery call until the next load), ``flushes``;
* ``generated``: the ``generated_query_count`` / ``_samples_per_query`` / ``_duration``
  values from the detail log, one dict per generated series;
* ``trace_samples``: ``[sample_seq, query_seq, sample_idx, ts_ns]`` for every sample-begin
  event of the trace (ts is the scheduled time from the trace origin, in integer ns);
* ``accuracy_log``: ``[seq_id, qsl_idx]`` for every entry of mlperf_log_accuracy.json;
* ``errors``: the ``error_*`` messages of the detail log.

Optional RUN keys for the end-to-end comparison (``test_end_to_end_reference.py``); without
them a run behaves exactly as above:

* ``"sut": {"response": "index", "tokens": true, "first_token": true, "stall_series": [1],
  "stall_s": 0.03}``: answer each sample with the 12 bytes ``int32 [idx, 2*idx, 7]``; in
  token mode send ``FirstTokenComplete`` with ``int32 [idx]`` first (when ``first_token``)
  and ``n_tokens = 2 + idx % 4``; sleep ``stall_s`` before the first IssueQuery of the
  series numbered in ``stall_series`` (0-based, counted by FlushQueries calls); with
  ``duplicate``, complete every sample twice;
* ``"audit_config": TEXT``: written to ``outdir/audit.config`` and passed to StartTest;
* ``"log_output": {...}``: LogOutputSettings fields (prefix, suffix, prefix_with_datetime,
  copy_*_to_stdout); ``"capture_stdout": true`` records what the run wrote to fd 1;
* ``"record": true`` adds ``qsl_calls`` (``["load"|"unload", indices]`` in call order),
  ``detail`` (``[key, value, is_error, is_warning]`` per line; values of lines that are not
  JSON -- the reference does not escape strings -- are read as raw strings), ``summary``,
  ``accuracy_text`` and ``trace_sample_times`` (``[sample_seq, ts_ns, issue_start_ns,
  complete_ns]`` per sample-begin event), ``files`` (the names in outdir) and ``stdout``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg

_TRACE_SAMPLE = re.compile(
    r'"name":"Sample".*"ph":"b".*"ts":(\d+)\.(\d{3}),.*'
    r'"sample_seq":(\d+),"query_seq":(\d+),"sample_idx":(\d+)'
)
_TRACE_TIMES = re.compile(
    r'"name":"Sample".*"ph":"b".*"ts":(\d+)\.(\d{3}),.*'
    r'"sample_seq":(\d+),.*"issue_start_ns":(-?\d+),"complete_ns":(-?\d+)'
)
_DETAIL_KEY = re.compile(r'^:::MLLOG \{"key": "([^"]*)", "value": (.*), "time_ms": ')
_DETAIL_FLAGS = re.compile(r'"is_error": (true|false), "is_warning": (true|false)')
_ACCURACY_ENTRY = re.compile(r'"seq_id"\s*:\s*(\d+)\s*,\s*"qsl_idx"\s*:\s*(\d+)')
_GENERATED = {
    "generated_query_count": "query_count",
    "generated_samples_per_query": "samples_per_query",
    "generated_query_duration": "duration",
}


def _settings(spec: dict[str, Any]) -> Any:
    settings = lg.TestSettings()
    enums = {"scenario": lg.TestScenario, "mode": lg.TestMode}
    for name, value in spec.items():
        setattr(settings, name, enums[name].__members__[value] if name in enums else value)
    return settings


def _parse_detail(path: Path) -> tuple[list[dict[str, int]], list[str]]:
    generated: list[dict[str, int]] = []
    errors: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        try:
            record = json.loads(line[len(":::MLLOG ") :])
        except json.JSONDecodeError:
            continue  # the reference does not escape strings; such lines are not ours
        key = record.get("key")
        if key == "generated_query_count":
            generated.append({})
        if key in _GENERATED:
            generated[-1][_GENERATED[key]] = int(record["value"])
        elif str(key).startswith("error") or record.get("metadata", {}).get("is_error"):
            errors.append(str(record.get("value")))
    return generated, errors


def _parse_trace(path: Path) -> list[list[int]]:
    """The trace is not valid JSON; its sample-begin events are one per line."""
    samples = []
    for line in path.read_text().splitlines():
        match = _TRACE_SAMPLE.search(line)
        if match:
            whole, frac, seq, query, idx = match.groups()
            samples.append([int(seq), int(query), int(idx), int(whole) * 1000 + int(frac)])
    return samples


def _parse_accuracy(path: Path) -> list[list[int]]:
    return [[int(a), int(b)] for a, b in _ACCURACY_ENTRY.findall(path.read_text())]


def _parse_detail_lines(path: Path) -> list[list[Any]]:
    """Every detail line as [key, value, is_error, is_warning]; unescaped strings kept raw."""
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line[len(":::MLLOG ") :])
            meta = record["metadata"]
            lines.append([record["key"], record["value"], meta["is_error"], meta["is_warning"]])
        except (json.JSONDecodeError, KeyError):
            match, flags = _DETAIL_KEY.match(line), _DETAIL_FLAGS.search(line)
            if match is None or flags is None:
                continue
            raw = match.group(2)
            value = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
            is_error, is_warning = (flag == "true" for flag in flags.groups())
            lines.append([match.group(1), value, is_error, is_warning])
    return lines


def _parse_trace_times(path: Path) -> list[list[int]]:
    times = []
    for line in path.read_text().splitlines():
        match = _TRACE_TIMES.search(line)
        if match:
            whole, frac, seq, issue, complete = match.groups()
            times.append([int(seq), int(whole) * 1000 + int(frac), int(issue), int(complete)])
    return times


def _response(sample: Any, spec: dict[str, Any], done: list[Any]) -> Any:
    """A response for ``sample`` as the spec asks; keeps its buffer alive in ``done``."""
    n_tokens = 2 + sample.index % 4 if spec.get("tokens") else None
    if spec.get("response") != "index":
        if n_tokens is None:
            return lg.QuerySampleResponse(sample.id, 0, 0)
        return lg.QuerySampleResponse(sample.id, 0, 0, n_tokens)
    data = array("i", [sample.index, 2 * sample.index, 7])
    done.append(data)
    address, count = data.buffer_info()
    if n_tokens is None:
        return lg.QuerySampleResponse(sample.id, address, count * data.itemsize)
    return lg.QuerySampleResponse(sample.id, address, count * data.itemsize, n_tokens)


def _first_tokens(samples: list[Any], spec: dict[str, Any]) -> None:
    """FirstTokenComplete for ``samples``, with ``int32 [idx]`` as the token when asked."""
    if spec.get("response") != "index":
        lg.FirstTokenComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])
        return
    buffers = [array("i", [s.index]) for s in samples]  # alive until the call returns
    responses = []
    for sample, data in zip(samples, buffers, strict=True):
        address, count = data.buffer_info()
        responses.append(lg.QuerySampleResponse(sample.id, address, count * data.itemsize))
    lg.FirstTokenComplete(responses)


def _find(outdir: Path, kind: str) -> Path:
    """The log file of ``kind`` whatever its prefix, suffix and date."""
    (path,) = (p for p in outdir.iterdir() if f"{kind}" in p.name and p.name != "stdout.txt")
    return path


def _start_test(sut: Any, qsl: Any, spec: dict[str, Any], log: Any, audit: Path) -> str | None:
    """StartTest, with fd 1 sent to a file while it runs when ``capture_stdout`` is set."""
    settings = _settings(spec["settings"])
    if not spec.get("capture_stdout"):
        lg.StartTestWithLogSettings(sut, qsl, settings, log, str(audit))
        return None
    path = Path(spec["outdir"]) / "stdout.txt"
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    with path.open("wb") as f:
        os.dup2(f.fileno(), 1)
        try:
            lg.StartTestWithLogSettings(sut, qsl, settings, log, str(audit))
        finally:
            libc.fflush(None)  # std::cout goes through C stdio's buffer
            os.dup2(saved, 1)
            os.close(saved)
    return path.read_text()


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    series: list[dict[str, Any]] = []
    qsl_calls: list[list[Any]] = []
    sut_spec: dict[str, Any] = spec.get("sut", {})
    flushes = [0]
    stalled: set[int] = set()

    def load(indices: list[int]) -> None:
        series.append({"loaded": list(indices), "issued": [], "flushes": 0})
        qsl_calls.append(["load", list(indices)])

    def unload(indices: list[int]) -> None:
        qsl_calls.append(["unload", list(indices)])

    def issue(samples: list[Any]) -> None:
        series[-1]["issued"].append([s.index for s in samples])
        number = flushes[0]
        if number in sut_spec.get("stall_series", ()) and number not in stalled:
            stalled.add(number)
            time.sleep(sut_spec["stall_s"])
        if sut_spec.get("first_token"):
            _first_tokens(samples, sut_spec)
        keep: list[Any] = []
        for _ in range(2 if sut_spec.get("duplicate") else 1):
            lg.QuerySamplesComplete([_response(s, sut_spec, keep) for s in samples])

    def flush() -> None:
        series[-1]["flushes"] += 1
        flushes[0] += 1

    outdir = Path(spec["outdir"])
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    for name, value in spec.get("log_output", {}).items():
        setattr(log_settings.log_output, name, value)
    log_settings.enable_trace = bool(spec.get("enable_trace", True))
    audit = outdir / "no-audit.config"
    if "audit_config" in spec:
        audit = outdir / "audit.config"
        audit.write_text(spec["audit_config"])
    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(spec["total_count"], spec["performance_count"], load, unload)
    stdout = _start_test(sut, qsl, spec, log_settings, audit)
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    generated, errors = _parse_detail(_find(outdir, "detail"))
    out = {
        "series": series,
        "generated": generated,
        "trace_samples": _parse_trace(_find(outdir, "trace")),
        "accuracy_log": _parse_accuracy(_find(outdir, "accuracy")),
        "errors": errors,
    }
    if spec.get("record"):
        out.update(
            qsl_calls=qsl_calls,
            detail=_parse_detail_lines(_find(outdir, "detail")),
            summary=_find(outdir, "summary").read_text(),
            accuracy_text=_find(outdir, "accuracy").read_text(),
            trace_sample_times=_parse_trace_times(_find(outdir, "trace")),
            files=sorted(p.name for p in outdir.iterdir()),
            stdout=stdout,
        )
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    result = {"runs": [run_one(run) for run in spec["runs"]]}
    Path(argv[2]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
