"""``asyncgen verify``: consistent files pass; each kind of tampering is caught."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.__main__ import main
from asyncgen._output.verify import verify
from tests.faults._support import ScriptedSUT, echo, fast_settings, log_to
from tests.helpers import ListQSL


async def _complete(sample: asyncgen.QuerySample) -> None:
    sample.complete(await echo(sample))


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("good")
    result = asyncgen.run(
        ScriptedSUT(_complete),
        ListQSL(),
        fast_settings(
            TestScenario.Server,
            TestMode.SubmissionRun,
            server_target_latency_percentile=0.9,
            # VALID even on a busy machine: every sample completes, so the bounds are slack
            server_target_latency_ns=60_000_000_000,
            drain_timeout_ms=120_000,
            min_query_count=200,
        ),
        log_settings=log_to(outdir),
        audit_config=None,
    )
    assert result.valid, result.reasons  # the tampering cases start from a VALID run
    return outdir


def _edit(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(outdir: Path) -> None:
        path = outdir / name
        path.write_text(change(path.read_text()))

    return apply


def _accuracy_twice(text: str) -> str:
    entries = json.loads(text)
    return json.dumps([*entries, entries[0]])


def _results(change: dict[str, object]) -> Callable[[str], str]:
    return lambda text: json.dumps({**json.loads(text), **change})


def _lose_an_accuracy_entry(outdir: Path) -> None:
    accuracy = outdir / "mlperf_log_accuracy.json"
    entries = json.loads(accuracy.read_text())
    accuracy.write_text(json.dumps(entries[1:]))
    _edit("mlperf_log_results.json", _results({"accuracy_entries": len(entries) - 1}))(outdir)


TAMPERING = {
    "summary cut short": (
        _edit("mlperf_log_summary.txt", lambda t: t[: t.index("No warnings")]),
        "footer",
    ),
    "detail line broken": (
        _edit("mlperf_log_detail.txt", lambda t: t.replace('"key"', '"key', 1)),
        "does not parse",
    ),
    "detail cut mid-line": (_edit("mlperf_log_detail.txt", lambda t: t[:-40]), "cut short"),
    "an extra error": (
        _edit(
            "mlperf_log_detail.txt", lambda t: t.replace('"is_error": false', '"is_error": true', 1)
        ),
        "errors",
    ),
    "accuracy entry twice": (
        _edit("mlperf_log_accuracy.json", _accuracy_twice),
        "more than once",
    ),
    "accuracy not JSON": (_edit("mlperf_log_accuracy.json", lambda t: t[:-5]), "not valid JSON"),
    "results count": (
        _edit("mlperf_log_results.json", _results({"accuracy_entries": 1})),
        "accuracy entries",
    ),
    "stopped but VALID": (
        _edit("mlperf_log_results.json", _results({"stopped": "x"})),
        "does not say INVALID",
    ),
    "missing but logged": (
        _edit(
            "mlperf_log_results.json",
            _results({"missing_samples": [{"seq_id": 0, "qsl_idx": 0}]}),
        ),
        "reported missing",
    ),
    "trace not JSON": (_edit("mlperf_log_trace.json", lambda t: t[:100]), "not valid JSON"),
    # a VALID run whose accuracy log silently lacks a response, though the counts agree
    "accuracy entry lost": (_lose_an_accuracy_entry, "lacks 1 samples of its accuracy pass"),
}


def test_a_consistent_run_passes_and_exits_0(
    good_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify(good_run) == []
    assert "Result is : VALID" in (good_run / "mlperf_log_summary.txt").read_text()
    assert main(["verify", str(good_run)]) == 0
    assert "consistent" in capsys.readouterr().out


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_caught_and_exits_1(
    good_run: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "run"
    shutil.copytree(good_run, outdir)
    tamper, fragment = TAMPERING[case]
    tamper(outdir)
    problems = verify(outdir)
    assert any(fragment in p for p in problems), problems
    assert main(["verify", str(outdir)]) == 1
    assert fragment in capsys.readouterr().out


def test_a_folder_without_a_run_exits_2(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path)]) == 2
