"""``asyncgen report`` on a sweep folder: the latency-throughput figure and the steps table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asyncgen.report import load_sweep, sweep_figure, write_sweep_report
from asyncgen.report._command import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _step(rate: float | None, achieved: float, met: bool, kind: str = "rate") -> dict[str, Any]:
    scale = 1.0 if met else 5.0
    return {
        "kind": kind, "rate": rate, "concurrency": None, "achieved_rps": achieved,
        "scheduled_rps": rate, "ttft_p50_ms": 10 * scale, "ttft_p99_ms": 30 * scale,
        "tpot_p50_ms": 5.0, "tpot_p99_ms": 6.0, "e2e_p50_ms": 50 * scale,
        "e2e_p99_ms": 90 * scale, "goodput_rps": achieved if met else 1.0, "slos_met": met,
        "issue_lag_p99_ms": 0.2, "valid": True, "outdir": f"0{int(rate or 0)}-x",
    }  # fmt: skip


def _write_sweep(folder: Path) -> None:
    folder.mkdir()
    steps = [
        _step(None, 82.0, False, "saturation"),
        _step(40, 40, True),
        _step(80, 72, False),
        _step(60, 59, True),  # a bisection step, out of order
    ]
    document = {"best_rate": 60.0, "slos": {"e2e": 250.0}, "slo_percentile": 0.9,
                "stopped": None, "steps": steps}  # fmt: skip
    (folder / "sweep.json").write_text(json.dumps(document))


def test_the_figure_and_page_of_a_sweep(tmp_path: Path) -> None:
    _write_sweep(tmp_path / "sweep")
    data = load_sweep(tmp_path / "sweep")
    assert [s["rate"] for s in data.curve_steps] == [40, 60, 80]
    assert data.slos_ms == {"e2e": 250.0} and data.best_rate == 60.0
    assert sweep_figure(data).startswith(PNG_MAGIC)
    page = write_sweep_report(data, tmp_path / "out").read_text()
    assert "best_rate: <b>60 requests/s</b> (SLOs: e2e 250 ms at p90)" in page
    assert page.count("<tr>") == 1 + 4  # the header and one row per step
    assert (tmp_path / "out" / "figures" / "sweep.png").read_bytes().startswith(PNG_MAGIC)


def test_the_report_command_recognises_a_sweep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_sweep(tmp_path / "sweep")
    assert main([str(tmp_path / "sweep")]) == 0
    assert "sweep.png" in capsys.readouterr().out
    assert (tmp_path / "sweep" / "report.html").is_file()
    (tmp_path / "sweep" / "sweep.json").write_text("{}")
    assert main([str(tmp_path / "sweep")]) == 2
    assert "not a sweep.json" in capsys.readouterr().err
