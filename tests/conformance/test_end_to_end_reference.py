"""Whole runs side by side: the reference ``mlperf_loadgen`` and asyncgen, same settings, same SUT.

Every case of ``_e2e_cases.py`` runs once in the reference (all in one subprocess, through
``_reference_plan_run.py``) and once in asyncgen (in process, ``_asyncgen_run.py``), both with
a SUT that answers inside ``issue_query``. The two runs must agree on:

* the QSL load/unload calls, in order, and the sample indices of every ``issue_query`` call;
* the ``generated_*``, ``requested_*`` and ``effective_*`` values;
* the detail log's key sequence and every value that is not a measurement;
* the summary file line for line, measured numbers masked;
* the accuracy log: which seq_ids are in it, each entry's exact text, one entry per line;
* the trace: every sample's sequence ids and index, and Server's scheduled offsets in ns.

What is masked or dropped, and why, is listed in ``_e2e_compare.py``; the deliberate
differences are in ``docs/conformance.md``. Closed-loop runs that end on min_duration issue
as many queries as the machine manages; for them only the common prefix and the
count-independent text are compared (``exact`` is False).
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conformance._asyncgen_run import run_cases
from tests.conformance._e2e_cases import all_cases, runner_spec
from tests.conformance._e2e_compare import (
    accuracy_entries,
    comparable_detail,
    comparable_summary,
    footer_counts,
)

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        importlib.util.find_spec("mlperf_loadgen") is None, reason="mlperf_loadgen missing"
    ),
]

RUNNER = Path(__file__).with_name("_reference_plan_run.py")
CASES = all_cases()
TRACED = [name for name, case in CASES.items() if case.get("trace", True)]
Pair = tuple[dict[str, Any], dict[str, Any]]
# Completing a sample twice is undefined behaviour in the reference: it logs the error, and
# now and then aborts the process (std::bad_alloc, seen on a busy machine). Such a case runs in
# a reference process of its own, and an abort skips its comparisons, saying why.
UNDEFINED = {name for name, case in CASES.items() if case["sut"].get("duplicate")}
REFERENCE_ABORTED = "the reference aborted: completing a sample twice is undefined behaviour there"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pair | None]:
    """(reference, ours) per case, None where the reference aborted: the reference's
    subprocesses first, then asyncgen.

    One after the other, not side by side: on a 2-core machine the two compete for the CPU
    and the hiccups show up as latency in either run."""
    root = tmp_path_factory.mktemp("end_to_end")
    ref_specs: dict[str, dict[str, Any]] = {}
    our_specs: list[dict[str, Any]] = []
    for name, case in CASES.items():
        for side in ("ref", "ours"):
            outdir = root / side / name
            outdir.mkdir(parents=True)
            spec = runner_spec(case, str(outdir))
            if side == "ref":
                ref_specs[name] = spec
            else:
                our_specs.append(spec)
    ordinary = [name for name in CASES if name not in UNDEFINED]
    reference = _reference(root / "ordinary", [ref_specs[name] for name in ordinary])
    assert reference is not None, "the reference aborted"
    by_name: dict[str, dict[str, Any] | None] = dict(zip(ordinary, reference, strict=True))
    for name in sorted(UNDEFINED):
        alone = _reference(root / name, [ref_specs[name]])
        by_name[name] = None if alone is None else alone[0]
    ours = dict(zip(CASES, run_cases(our_specs), strict=True))
    return {name: _pair(by_name[name], ours[name]) for name in CASES}


def _reference(stem: Path, specs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The reference's records of ``specs``, run in one subprocess; None if it aborted."""
    spec_path, result_path = stem.with_suffix(".spec.json"), stem.with_suffix(".result.json")
    spec_path.write_text(json.dumps({"runs": specs}))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(spec_path), str(result_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode == -signal.SIGABRT:
        return None
    assert proc.returncode == 0, proc.stderr[-4000:]
    records: list[dict[str, Any]] = json.loads(result_path.read_text())["runs"]
    for record, spec in zip(records, specs, strict=True):
        record["outdir"] = spec["outdir"]
    return records


def _pair(reference: dict[str, Any] | None, ours: dict[str, Any]) -> Pair | None:
    return None if reference is None else (reference, ours)


@pytest.fixture(autouse=True)
def _skip_where_the_reference_aborted(
    request: pytest.FixtureRequest, runs: dict[str, Pair | None]
) -> None:
    name = getattr(request.node, "callspec", None) and request.node.callspec.params.get("name")
    if name in UNDEFINED and runs[name] is None:
        pytest.skip(REFERENCE_ABORTED)


@pytest.mark.parametrize("name", list(CASES))
def test_qsl_calls_match(name: str, runs: dict[str, Pair]) -> None:
    ref, ours = runs[name]
    assert ours["qsl_calls"] == ref["qsl_calls"]
    assert ref["qsl_calls"], "the reference loaded nothing"


@pytest.mark.parametrize("name", list(CASES))
def test_issued_samples_match(name: str, runs: dict[str, Pair]) -> None:
    """Per series: the loaded set, the flush count and the indices of every issue_query call."""
    ref, ours = runs[name]
    case = CASES[name]
    assert len(ours["series"]) == len(ref["series"])
    for got, want in zip(ours["series"], ref["series"], strict=True):
        assert (got["loaded"], got["flushes"]) == (want["loaded"], want["flushes"])
        if case.get("coalesce"):  # how many arrivals share a call depends on timing
            assert _flat(got["issued"]) == _flat(want["issued"])
        elif case["exact"]:
            assert got["issued"] == want["issued"]
        else:
            common = min(len(got["issued"]), len(want["issued"]))
            assert common > 0
            assert got["issued"][:common] == want["issued"][:common]


def _flat(calls: list[list[int]]) -> list[int]:
    return [index for call in calls for index in call]


@pytest.mark.parametrize("name", list(CASES))
def test_generated_queries_match(name: str, runs: dict[str, Pair]) -> None:
    ref, ours = runs[name]
    assert ref["generated"]
    assert ours["generated"] == ref["generated"]


def _settings_entries(detail: list[list[Any]]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v, _, _ in detail if k.startswith(("requested_", "effective_"))]


@pytest.mark.parametrize("name", list(CASES))
def test_requested_and_effective_values_match(name: str, runs: dict[str, Pair]) -> None:
    ref, ours = runs[name]
    assert _settings_entries(ours["detail"]) == _settings_entries(ref["detail"])


@pytest.mark.parametrize("name", list(CASES))
def test_detail_log_matches(name: str, runs: dict[str, Pair]) -> None:
    """Same keys in the same order, same values except measurements (see _e2e_compare)."""
    ref, ours = runs[name]
    exact = CASES[name]["exact"]
    assert comparable_detail(ours["detail"], ours=True, exact=exact) == comparable_detail(
        ref["detail"], ours=False, exact=exact
    )
    versions = [v for k, v, _, _ in ours["detail"] + ref["detail"] if k == "loadgen_version"]
    assert len(versions) == 2
    assert all(v.startswith("6.0.17 @ ") for v in versions)


@pytest.mark.parametrize("name", list(CASES))
def test_summary_matches(name: str, runs: dict[str, Pair]) -> None:
    ref, ours = runs[name]
    exact = CASES[name]["exact"]
    want = comparable_summary(
        ref["summary"], exact=exact, counts=footer_counts(ref["detail"], ours=False)
    )
    got = comparable_summary(
        ours["summary"], exact=exact, counts=footer_counts(ours["detail"], ours=True)
    )
    assert got == want


@pytest.mark.parametrize("name", list(CASES))
def test_accuracy_log_matches(name: str, runs: dict[str, Pair]) -> None:
    """The same entries, byte for byte, for every sample both runs issued."""
    ref, ours = runs[name]
    want, got = accuracy_entries(ref["accuracy_text"]), accuracy_entries(ours["accuracy_text"])
    if name not in TRACED:  # no trace to tell which samples were issued: an exact case
        assert got == want
        return
    issued_ref = {s[0] for s in ref["trace_samples"]}
    issued_ours = {s[0] for s in ours["trace_samples"]}
    if CASES[name]["exact"]:
        assert issued_ours == issued_ref
    common = issued_ref & issued_ours
    assert {k: v for k, v in got.items() if k in common} == {
        k: v for k, v in want.items() if k in common
    }
    assert set(got) <= issued_ours  # nothing logged that was not issued


@pytest.mark.parametrize("name", TRACED)
def test_trace_samples_match(name: str, runs: dict[str, Pair]) -> None:
    """Sample events: same ids and indices; Server samples begin at the same scheduled offsets."""
    ref, ours = runs[name]
    want = {s[0]: s[:3] for s in ref["trace_samples"]}
    got = {s[0]: s[:3] for s in ours["trace_samples"]}
    common = set(want) & set(got)
    assert common
    assert {k: got[k] for k in common} == {k: want[k] for k in common}
    if CASES[name]["settings"]["scenario"] == "Server":
        assert _scheduled_offsets(ours) == _scheduled_offsets(ref)


def _scheduled_offsets(run: dict[str, Any]) -> list[list[int]]:
    """Per generated series: each issued sample's begin time minus the series' first one."""
    begins = {seq: ts for seq, ts, _, _ in run["trace_sample_times"]}
    offsets, first = [], 0
    for generated in run["generated"]:
        n = generated["query_count"] * generated["samples_per_query"]
        seqs = [s for s in range(first, first + n) if s in begins]
        offsets.append([begins[s] - begins[seqs[0]] for s in seqs] if seqs else [])
        first += n
    return offsets


@pytest.mark.parametrize("name", TRACED)
def test_our_trace_sample_events_are_consistent(name: str, runs: dict[str, Pair]) -> None:
    """Valid JSON (parsed by the runner); each sample begins at its scheduled time and ends at
    its completion, with the reference's args."""
    ours = runs[name][1]
    ends = ours["trace_ends"]
    assert {seq for seq, _, _, _ in ours["trace_sample_times"]} == set(ends)
    for seq, begin_ns, issue_start_ns, complete_ns in ours["trace_sample_times"]:
        assert 0 <= issue_start_ns <= complete_ns
        assert abs(ends[seq] - (begin_ns + complete_ns)) <= 1.0
    assert ours["trace_other"]["displayTimeUnit"] == "ns"


def test_detail_lines_have_the_reference_schema(runs: dict[str, Pair]) -> None:
    """Field names and order of every ``:::MLLOG`` object, ours against the reference's."""
    for name in ("Server-tokens", "SingleStream-submission", "Server-find-peak"):
        ref, ours = runs[name]
        want = _schemas(_detail_file(Path(ref["outdir"])))
        assert _schemas(Path(ours["paths"]["detail"])) == want
        assert want == {
            (
                ("key", "value", "time_ms", "namespace", "event_type", "metadata"),
                ("is_error", "is_warning", "file", "line_no", "pid", "tid"),
                ("mlperf::logging", "POINT_IN_TIME"),
            )
        }


@pytest.mark.parametrize("name", ["Server-tokens", "SingleStream-submission", "Offline-perf-zero"])
def test_entries_of_one_logging_call_share_their_time_ms(runs: dict[str, Pair], name: str) -> None:
    """The blocks the reference logs in one call (version, identity, requested and effective
    settings, generated counts, logger counters, power, results) share one ``time_ms``."""
    ref, ours = runs[name]
    # The reference logs its logger counters with a warning of its own when a thread's log
    # buffer had to grow ("Logging allocation detected"): an artifact asyncgen has no cause for.
    want = [
        [key for key in block if key != "warning_generic_message"]
        for block in _same_time_blocks(_detail_file(Path(ref["outdir"])))
    ]
    assert len(want) >= 7
    assert _same_time_blocks(Path(ours["paths"]["detail"])) == want


def _same_time_blocks(path: Path) -> list[list[str]]:
    """The keys of each run of two or more consecutive entries with the same ``time_ms``."""
    blocks: list[list[str]] = []
    last_time = None
    for line in path.read_text(errors="replace").splitlines():
        found = re.match(r':::MLLOG \{"key": "(\w+)".*"time_ms": ([\d.]+), "namespace"', line)
        if found is None:  # a line the reference broke with an unescaped newline
            continue
        key, time_ms = found.groups()
        if time_ms == last_time:
            blocks[-1].append(key)
        else:
            blocks.append([key])
        last_time = time_ms
    return [block for block in blocks if len(block) > 1]


def _detail_file(outdir: Path) -> Path:
    (path,) = outdir.glob("*detail*.txt")
    return path


def _schemas(path: Path) -> set[tuple[tuple[str, ...], ...]]:
    """The field layout of every line that parses (the reference leaves strings unescaped)."""
    schemas: set[tuple[tuple[str, ...], ...]] = set()
    for line in path.read_text(errors="replace").splitlines():
        assert line.startswith(":::MLLOG {")
        assert re.search(r'"time_ms": \d+\.\d{6}, ', line), line
        try:
            record = json.loads(line.removeprefix(":::MLLOG "))
        except json.JSONDecodeError:
            continue
        schemas.add(
            (
                tuple(record),
                tuple(record["metadata"]),
                (record["namespace"], record["event_type"]),
            )
        )
    return schemas


# -- the cases really exercise what they are named after (on both sides) ---------------------


def _messages(run: dict[str, Any], key: str) -> list[str]:
    return [str(v) for k, v, _, _ in run["detail"] if k == key]


def _value(run: dict[str, Any], key: str) -> Any:
    (value,) = (v for k, v, _, _ in run["detail"] if k == key)
    return value


def _logged(run: dict[str, Any]) -> int:
    return len(accuracy_entries(run["accuracy_text"]))


def _issued_samples(run: dict[str, Any]) -> int:
    return len(run["trace_samples"])


def _calls(run: dict[str, Any]) -> int:
    return sum(len(s["issued"]) for s in run["series"])


FEATURES: dict[str, Any] = {
    "Server-perf-conf": lambda r: 0 < _logged(r) < _issued_samples(r),
    "SingleStream-probability": lambda r: 0 < _logged(r) < _issued_samples(r),
    "Server-tokens": lambda r: 0 < _logged(r) < _issued_samples(r),
    "Offline-tokens": lambda r: 0 < _logged(r) < _issued_samples(r),
    "MultiStream-acc-zero": lambda r: _logged(r) == 45,  # 40 samples + 3 sets x 2 padding
    "SingleStream-perf-zero": lambda r: _value(r, "result_query_count") >= 700,
    "MultiStream-perf-conf": lambda r: _value(r, "result_query_count") >= 700,
    "Server-find-peak": lambda r: (
        "FindPeakPerformance: Found peak performance field: "
        "1006.008000" in _messages(r, "generic_message")
    ),
    "Server-find-peak-base-fails": lambda r: any(
        "Initial lower bound does not satisfy" in m for m in _messages(r, "error_runtime")
    ),
    "Server-coalesce": lambda r: _calls(r) < _issued_samples(r),
    "SingleStream-duplicates": lambda r: (
        _messages(r, "error_runtime").count("Attempted to complete a sample twice.") == 30
    ),
    "SingleStream-ran-out": lambda r: any(
        m.startswith("Ending early: Ran out") for m in _messages(r, "error_runtime")
    ),
    "SingleStream-max-query-count": lambda r: (
        "IssueQueryThread 0 Ending early: Max query "
        "count reached. query_count 50" in _messages(r, "error_runtime")
    ),
    "SingleStream-max-duration": lambda r: any(
        "Max test duration reached" in m for m in _messages(r, "error_runtime")
    ),
    "Server-audit-config": lambda r: (
        _value(r, "requested_server_target_qps") == 4000
        and _value(r, "requested_min_query_count") == 100  # the resnet50 line is ignored
        and _value(r, "requested_test_mode") == "PerformanceOnly"
        and len(_messages(r, "warning_generic_message")) >= 1
    ),
    "Server-test05": lambda r: (
        "Test05 flag detected Overriding random seeds" in _messages(r, "warning_generic_message")
    ),
    "SingleStream-concat": lambda r: (
        _value(r, "effective_min_query_count") == 10016 and _value(r, "result_query_count") == 10016
    ),
}


@pytest.mark.parametrize("name", list(FEATURES))
def test_case_exercises_its_feature(name: str, runs: dict[str, Pair]) -> None:
    """Guards the comparisons above against passing on runs that did not do the thing."""
    ref, ours = runs[name]
    assert FEATURES[name](ref), "reference"
    assert FEATURES[name](ours), "asyncgen"


def test_trace_file_only_when_enabled(runs: dict[str, Pair]) -> None:
    """The reference leaves an empty trace file behind; asyncgen writes none."""
    ref, ours = runs["Offline-no-trace"]
    (trace,) = Path(ref["outdir"]).glob("*trace*")
    assert trace.read_text() == ""
    assert "mlperf_log_trace.json" not in ours["files"]
    assert "mlperf_log_trace.json" in runs["Offline-perf-zero"][1]["files"]


# -- log file names and stdout copies ----------------------------------------------------------

_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_log_file_names_follow_prefix_suffix_and_datetime(runs: dict[str, Pair]) -> None:
    ref, ours = runs["Server-log-output"]
    want = {_DATETIME.sub("<datetime>", n) for n in ref["files"]} - {"stdout.txt"}
    got = {_DATETIME.sub("<datetime>", n) for n in ours["files"]}
    assert want == {f"run_<datetime>_{kind}_x.{ext}" for kind, ext in _LOG_KINDS}
    assert got == want | {"run_<datetime>_results_x.json"}  # asyncgen's extra file


_LOG_KINDS = (("summary", "txt"), ("detail", "txt"), ("accuracy", "json"), ("trace", "json"))


def test_stdout_copies_detail_summary_and_timestamps(runs: dict[str, Pair]) -> None:
    """copy_detail/summary_to_stdout and print_timestamps write what the reference writes."""
    ref, ours = runs["Server-log-output"]
    ref_detail, ref_summary, ref_stamps = _stdout_parts(ref["stdout"])
    our_detail, our_summary, our_stamps = _stdout_parts(ours["stdout"])
    # asyncgen's copies are exactly its files' lines.
    assert our_detail == Path(ours["paths"]["detail"]).read_text(encoding="utf-8").splitlines()
    assert our_summary == ours["summary"].splitlines()
    # The reference's ratio line leaves std::cout in fixed notation with 4 decimals, so its
    # copies print doubles as "5000.0000" and "4948.4271" (its files: "5000", "4948.43"):
    # its detail copy is compared by key, its summary copy with that notation undone.
    in_file = _detail_file(Path(ref["outdir"])).read_text().splitlines()
    assert [_key(line) for line in ref_detail] == [_key(line) for line in in_file]
    assert [re.sub(r"(\d)\.0000$", r"\1", line) for line in ref_summary] == ref[
        "summary"
    ].splitlines()
    assert len(our_stamps) == 5
    assert _masked_numbers(our_stamps) == _masked_numbers(ref_stamps)


def _stdout_parts(stdout: str) -> tuple[list[str], list[str], list[str]]:
    """(detail copies, summary copies, print_timestamps lines) of a run's stdout."""
    # asyncgen's lifecycle events ("<date> <time> [info ] run started ...") reach stdout only
    # if the process has configured structlog to print them; they are not stdout copies.
    lines = [line for line in stdout.splitlines() if not _LIFECYCLE.match(line)]
    detail = [line for line in lines if line.startswith(":::MLLOG ")]
    stamps = [line for line in lines if line.startswith("Loadgen :: ")]
    summary = [line for line in lines if line not in detail and line not in stamps]
    return detail, summary, stamps


def _masked_numbers(lines: list[str]) -> list[str]:
    return [re.sub(r"\d+(\.\d+)?", "#", line) for line in lines]


_LIFECYCLE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\w+\s*\] ")


def _key(line: str) -> str:
    return line.split('"key": "', 1)[1].split('"', 1)[0]


# -- batch completion ----------------------------------------------------------------------------


def test_one_batch_completion_shares_one_timestamp(runs: dict[str, Pair]) -> None:
    """The SUT completes Offline's 550 samples in one call: one timestamp, one latency."""
    ref, ours = runs["Offline-perf-zero"]
    for run in (ref, ours):
        completions = {complete for _, _, _, complete in run["trace_sample_times"]}
        assert len(completions) == 1
