"""Output problems: a folder that cannot be created or written fails before the run; a disk
that fills up during the run stops it with an error naming the file, never a silent gap."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import IO

import pytest

import asyncgen
from asyncgen import TestScenario
from asyncgen._output import writer as _writer
from asyncgen._output.verify import verify
from tests.faults._support import (
    FillsUp,
    ScriptedSUT,
    detail_errors,
    echo,
    fast_settings,
    final_verdict,
    log_to,
    results_json,
    summary_text,
)
from tests.helpers import ListQSL, RecordingSUT


async def _complete(sample: asyncgen.QuerySample) -> None:
    sample.complete(await echo(sample))


def _blocked_outdirs(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    taken = tmp_path / "taken"
    (taken / "mlperf_log_summary.txt").mkdir(parents=True)  # a folder where a log must go
    return {"is a file": a_file, "under a file": a_file / "logs", "log path taken": taken}


@pytest.mark.parametrize("case", ["is a file", "under a file", "log path taken"])
def test_an_output_folder_that_cannot_be_written_fails_before_the_run(
    tmp_path: Path, case: str
) -> None:
    outdir = _blocked_outdirs(tmp_path)[case]
    sut = RecordingSUT()
    with pytest.raises(asyncgen.OutputError) as info:
        asyncgen.run(
            sut,
            ListQSL(),
            fast_settings(TestScenario.Offline),
            log_settings=log_to(outdir),
            audit_config=None,
        )
    assert str(outdir) in str(info.value)
    assert sut.calls == [] and sut.flushes == 0  # nothing ran


@pytest.mark.parametrize("kind", ["detail", "accuracy"])
def test_a_full_disk_stops_the_run_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    real_open = _writer._open

    def open_small(path: Path) -> IO[str]:
        f = real_open(path)
        return FillsUp(f, 1000) if kind in path.name else f  # type: ignore[return-value]

    monkeypatch.setattr(_writer, "_open", open_small)
    settings = fast_settings(TestScenario.Server, asyncgen.TestMode.AccuracyOnly)
    with pytest.raises(asyncgen.OutputError) as info:
        asyncgen.run(
            ScriptedSUT(_complete),
            ListQSL(),
            settings,
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert f"mlperf_log_{kind}" in str(info.value)
    assert "No space left on device" in str(info.value)
    # the other files are complete and say the run stopped; the cut one is named, and
    # verify sees the gap: never a silently truncated log
    assert final_verdict(tmp_path) == "INVALID"
    assert f"mlperf_log_{kind}" in results_json(tmp_path)["stopped"]
    assert verify(tmp_path) != []


@pytest.mark.parametrize(
    "mode", [asyncgen.TestMode.PerformanceOnly, asyncgen.TestMode.SubmissionRun]
)
def test_a_full_disk_while_writing_the_trace_makes_the_summary_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: asyncgen.TestMode
) -> None:
    """The trace of the last series is written after its performance summary said VALID:
    a failure there still stops the run, so the summary ends INVALID naming the file."""
    real_open = _writer._open

    def open_small(path: Path) -> IO[str]:
        f = real_open(path)
        return FillsUp(f, 2000) if "trace" in path.name else f  # type: ignore[return-value]

    monkeypatch.setattr(_writer, "_open", open_small)
    with pytest.raises(asyncgen.OutputError) as info:
        asyncgen.run(
            ScriptedSUT(_complete),
            ListQSL(),
            fast_settings(TestScenario.Server, mode),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    trace = tmp_path / "mlperf_log_trace.json"
    assert str(info.value) == f"cannot write {trace}: No space left on device"
    assert final_verdict(tmp_path) == "INVALID"
    summary = summary_text(tmp_path)
    assert f"Run stopped : the run stopped: cannot write {trace}" in summary
    assert "1 ERROR encountered" in summary or "ERRORS encountered" in summary
    assert any(f"cannot write {trace}" in e for e in detail_errors(tmp_path))
    results = results_json(tmp_path)
    assert results["valid"] is False and str(trace) in results["stopped"]
    problems = verify(tmp_path)
    assert problems and all("trace" in p for p in problems), problems  # only the cut file


def _mount_tiny_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_a_real_tiny_tmpfs_filling_up(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount_tiny_tmpfs(disk):
        pytest.skip("needs root and tmpfs mounts")
    try:
        settings = fast_settings(TestScenario.Server, asyncgen.TestMode.AccuracyOnly)
        with pytest.raises(asyncgen.OutputError) as info:
            asyncgen.run(
                ScriptedSUT(_complete),
                ListQSL(total=4096, performance=4096),
                settings,
                log_settings=log_to(disk),
                audit_config=None,
            )
        assert str(disk) in str(info.value)
    finally:
        subprocess.run(["umount", str(disk)], check=True)
