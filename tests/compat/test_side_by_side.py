"""The same harnesses against ``mlperf_loadgen`` and ``asyncgen.compat``: same calls, same logs.

``harness.py`` runs every case against the reference in a subprocess (it keeps process-wide
state and may abort at exit) while the same cases run here, in-process, against
``asyncgen.compat``. Compared: what the harness's callbacks were called with (loaded and
unloaded sets, the QSL indices of every issue call in order, flushes, ``response_cb`` calls),
the accuracy-log entries, and the structure of the logs: every detail-log key in order, with
the values of all keys that do not measure time; the summary with its numbers masked.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import asyncgen
import asyncgen.compat
from tests.compat import harness
from tests.conformance._e2e_compare import OURS_ONLY

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        importlib.util.find_spec("mlperf_loadgen") is None, reason="mlperf_loadgen missing"
    ),
]

HARNESS = Path(harness.__file__)
CASES = sorted(harness.CASES)

# Keys whose values are clocks, versions or measurements: compared by position only. The
# reference's logger_* counters count real retries of its lock-free logger under contention,
# so on a busy machine they are not 0 (asyncgen always logs 0).
TIMED = re.compile(
    r"^(loadgen_|logger_|test_datetime$|get_sut_name_duration_ns$|power_|"
    r"early_stopping_(?!met$)|result_(?!validity$|.*_met$|query_count$|invalid_reason$))"
)
# The reference's logger reports its own buffer growth; asyncgen has no such buffers. asyncgen
# reports its own timing (a stalled loop, a late schedule, arrival fidelity); the reference
# measures none of it.
ONE_SIDED = ("Logging allocation detected", *(prefix for _, prefix in OURS_ONLY))
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")


def _reference(outdir: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, str(HARNESS), "--module", "mlperf_loadgen", "--outdir", str(outdir)]
    return subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("side_by_side")
    reference = _reference(root / "ref")
    ours = {name: harness.run_case(asyncgen.compat, name, root / "ours" / name) for name in CASES}
    _, stderr = reference.communicate(timeout=120)
    assert reference.returncode == 0, stderr
    return {
        "root": root,
        "ref": json.loads((root / "ref" / "harness.json").read_text()),
        "ours": ours,
    }


def _files(runs: dict[str, Any], case: str, name: str) -> tuple[Path, Path]:
    root = runs["root"]
    return root / "ref" / case / name, root / "ours" / case / name


def _detail(path: Path) -> list[tuple[str, Any]]:
    entries = []
    for line in path.read_text().splitlines():
        record = json.loads(line.removeprefix(":::MLLOG "))
        if not str(record["value"]).startswith(ONE_SIDED):
            entries.append((record["key"], None if TIMED.match(record["key"]) else record["value"]))
    return entries


def _summary(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    # The warning count includes the reference's logger noise; the detail log is compared.
    return [NUMBER.sub("#", line) for line in lines if "warning" not in line]


@pytest.mark.parametrize("case", CASES)
def test_the_harness_sees_the_same_calls(runs: dict[str, Any], case: str) -> None:
    assert runs["ours"][case] == runs["ref"][case]
    assert runs["ours"][case]["issued"]  # the case did run


@pytest.mark.parametrize("case", CASES)
def test_the_detail_log_has_the_same_entries(runs: dict[str, Any], case: str) -> None:
    ref, ours = (_detail(p) for p in _files(runs, case, "mlperf_log_detail.txt"))
    assert [k for k, _ in ours] == [k for k, _ in ref]
    assert ours == ref


@pytest.mark.parametrize("case", CASES)
def test_the_summary_has_the_same_lines(runs: dict[str, Any], case: str) -> None:
    ref, ours = (_summary(p) for p in _files(runs, case, "mlperf_log_summary.txt"))
    assert ours == ref
    verdicts = [line for line in ours if line.startswith("Result is")]
    assert len(verdicts) == (0 if "accuracy" in case else 1)


@pytest.mark.parametrize("case", CASES)
def test_the_accuracy_log_has_the_same_entries(runs: dict[str, Any], case: str) -> None:
    ref, ours = (
        sorted(json.loads(p.read_text()), key=lambda e: e["seq_id"])
        for p in _files(runs, case, "mlperf_log_accuracy.json")
    )
    assert ours == ref
    assert len(ours) == runs["ours"][case]["response_cb_calls"]
    if "accuracy" in case:
        assert {e["qsl_idx"] for e in ours} == set(range(harness.TOTAL))
    for entry in ours:
        expected = (
            harness.tokens(entry["qsl_idx"]).tobytes()
            if "tokens" in case
            else harness.response_bytes(entry["qsl_idx"])
        )
        assert bytes.fromhex(entry["data"]) == expected


@pytest.mark.parametrize("case", ["sync_single_stream", "asyncio_offline"])
def test_without_results_json_the_folder_holds_the_reference_files(
    runs: dict[str, Any], case: str, tmp_path: Path
) -> None:
    """What the MLPerf submission checker sees: no file the reference does not write."""
    harness.run_case(asyncgen.compat, case, tmp_path, write_results_json=False)
    reference = sorted(p.name for p in (runs["root"] / "ref" / case).iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == reference
    assert "mlperf_log_results.json" in {p.name for p in (runs["root"] / "ours" / case).iterdir()}


def test_the_cases_cover_valid_runs_and_sampling(runs: dict[str, Any]) -> None:
    """Guards the comparisons above against cases that stopped exercising anything."""
    root = runs["root"] / "ours"
    valid = [
        c for c in CASES if "Result is : VALID" in (root / c / "mlperf_log_summary.txt").read_text()
    ]
    assert {"sync_single_stream", "asyncio_offline", "tokens_single_stream"} <= set(valid)
    sampled = json.loads((root / "sync_single_stream" / "mlperf_log_accuracy.json").read_text())
    assert 0 < len(sampled) < 200


def _probe(tmp_path: Path, name: str, module: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    outdir = tmp_path / module
    completed = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            "--module",
            module,
            "--outdir",
            str(outdir),
            "--probe",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:  # the reference may die while writing
        return completed, None
    return completed, json.loads((outdir / f"{name}.json").read_text())


def test_names_defaults_and_conversions_read_back_alike(tmp_path: Path) -> None:
    reference = _reference(tmp_path / "ref", "--probe", "describe")
    ours = harness.probe_describe(asyncgen.compat, tmp_path / "ours")
    _, stderr = reference.communicate(timeout=60)
    assert reference.returncode == 0, stderr
    # asyncgen's one extension of LogSettings (docs/porting.md), on by default
    assert ours["log_settings"].pop("write_results_json") == "True"
    assert ours == json.loads((tmp_path / "ref" / "describe.json").read_text())


MULTIPLE = "Multiple conf files are used. This is not valid for official submission."


def _pretest_errors(detail_path: Path, stderr: str) -> list[tuple[str, Any]]:
    """The error entries that open the detail log, in order.

    The reference's logger writes entries logged before a test to stderr if its IO thread
    gets to them before the test opens its files (rare, more likely on a loaded machine);
    those lines are read from ``stderr`` instead.
    """
    detail = _detail(detail_path)
    head = list(itertools.takewhile(lambda entry: entry[0].startswith("error"), detail))
    if head:
        return head
    lines = [line for line in stderr.splitlines() if line.startswith(":::MLLOG ")]
    return [(r["key"], r["value"]) for r in (json.loads(line[9:]) for line in lines)]


def test_from_config_codes_and_the_multiple_conf_files_error(tmp_path: Path) -> None:
    modules = ("mlperf_loadgen", "asyncgen.compat")
    (ref_run, ref), (our_run, ours) = (_probe(tmp_path, "from_config", m) for m in modules)
    assert ref_run.returncode == 0 and our_run.returncode == 0, ref_run.stderr + our_run.stderr
    assert ours["codes"] == ref["codes"] == [0, 0, -2, -22, 0, -2]
    assert ours["values"] == ref["values"]  # mlperf.conf only on the first user.conf load
    for module, run in zip(modules, (ref_run, our_run), strict=True):
        detail = _detail(tmp_path / module / "mlperf_log_detail.txt")
        errors = _pretest_errors(tmp_path / module / "mlperf_log_detail.txt", run.stderr)
        missing = f"can't open file {tmp_path / module / 'missing.conf'}"
        assert [k for k, _ in errors] == ["error_invalid_config"] * 6
        assert [v for _, v in errors[:4]] == [MULTIPLE, MULTIPLE, missing, MULTIPLE]
        assert errors[5][1] == missing
        # errors[4] is the parse error: "value needs to be integer or double, line=1" in the
        # reference, asyncgen's ConfigError text (file, line, reason) here.
        assert "bad.conf:1:" in errors[4][1] or "line=1" in errors[4][1]
        assert not [k for k, _ in detail[len(errors) :] if k.startswith("error")]
    assert _detail(tmp_path / "asyncgen.compat" / "mlperf_log_detail.txt")[0][0].startswith("error")


def test_a_raising_issue_callback(tmp_path: Path) -> None:
    """The reference crashes the process; compat ends the run and raises RunError."""
    ref_run, _ = _probe(tmp_path, "raising_issue", "mlperf_loadgen")
    assert ref_run.returncode != 0  # aborts or segfaults, at exit or sooner
    ours = harness.probe_raising_issue(asyncgen.compat, tmp_path / "ours")
    assert ours == {"raised": "RunError", "cause": "ValueError('boom')", "issued": 3}
    assert issubclass(asyncgen.RunError, asyncgen.AsyncgenError)
    summary = (tmp_path / "ours" / "mlperf_log_summary.txt").read_text()
    assert summary.rstrip().endswith(
        ("ERROR encountered. See detailed log.", "ERRORS encountered. See detailed log.")
    )
    detail = _detail(tmp_path / "ours" / "mlperf_log_detail.txt")
    assert any(k == "error_runtime" and "ValueError('boom')" in str(v) for k, v in detail)
    assert json.loads((tmp_path / "ours" / "mlperf_log_accuracy.json").read_text()) == []
