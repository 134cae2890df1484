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
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg

_TRACE_SAMPLE = re.compile(
    r'"name":"Sample".*"ph":"b".*"ts":(\d+)\.(\d{3}),.*'
    r'"sample_seq":(\d+),"query_seq":(\d+),"sample_idx":(\d+)'
)
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


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    series: list[dict[str, Any]] = []

    def load(indices: list[int]) -> None:
        series.append({"loaded": list(indices), "issued": [], "flushes": 0})

    def unload(_indices: list[int]) -> None:
        pass

    def issue(samples: list[Any]) -> None:
        series[-1]["issued"].append([s.index for s in samples])
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    def flush() -> None:
        series[-1]["flushes"] += 1

    outdir = Path(spec["outdir"])
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    log_settings.enable_trace = bool(spec.get("enable_trace", True))
    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(spec["total_count"], spec["performance_count"], load, unload)
    lg.StartTestWithLogSettings(
        sut, qsl, _settings(spec["settings"]), log_settings, str(outdir / "no-audit.config")
    )
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    generated, errors = _parse_detail(outdir / "mlperf_log_detail.txt")
    return {
        "series": series,
        "generated": generated,
        "trace_samples": _parse_trace(outdir / "mlperf_log_trace.json"),
        "accuracy_log": _parse_accuracy(outdir / "mlperf_log_accuracy.json"),
        "errors": errors,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    result = {"runs": [run_one(run) for run in spec["runs"]]}
    Path(argv[2]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
