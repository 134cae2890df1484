"""The written report: one self-contained HTML file with every figure, PNGs, and the CLI."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import asyncgen
from asyncgen._cli import main as cli_main
from asyncgen.report import (
    FIGURE_KEYS,
    INSTALL_HINT,
    TokenFigure,
    figures,
    load_run,
    write_report,
)
from asyncgen.report._plot import render
from tests.report.conftest import reference_folder

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[2]


def assert_self_contained(html: str) -> None:
    """Nothing on the page may fetch from the network (or from anywhere else)."""
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    sources = re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html)
    assert sources, "expected inline images"
    assert all(s.startswith("data:image/png;base64,") for s in sources), sources
    assert not re.search(r'(?:src|href)\s*=\s*["\']?https?://', html)


def figure_keys_in(html: str) -> list[str]:
    return re.findall(r'<figure id="[^"]+" data-figure="([^"]+)">', html)


def test_single_run_report_has_every_figure(
    server_run: asyncgen.TestResult, tmp_path: Path
) -> None:
    path = write_report([server_run], tmp_path)
    assert path == tmp_path / "report.html"
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    expected = set(FIGURE_KEYS) - {"tokens", "token_counts"}
    assert set(figure_keys_in(html)) == expected
    for key in expected:
        png = (tmp_path / "figures" / f"{key}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 5_000
    assert "Generator health:" in html
    assert ("VALID" if server_run.valid else "INVALID") in html
    assert "Completed samples per second" in html
    assert "Kolmogorov-Smirnov" in html


def test_token_run_draws_the_token_figure(token_run: asyncgen.TestResult) -> None:
    run = load_run(token_run)
    tokens = figures(run)["tokens"]
    assert isinstance(tokens, TokenFigure)
    summary = token_run.summary
    assert summary is not None and summary.first_token_latency is not None
    # asyncgen's Server trace carries first tokens (Token_Latency counters) and token counts
    # (n_tokens on each sample): the figure is drawn from per-sample data, not estimated.
    assert not any("no first-token times" in note for note in run.notes)
    assert tokens.ttft_per_sample
    assert not tokens.tokens_estimated
    assert tokens.mean_tokens_per_sample == pytest.approx(5.0)
    assert tokens.ttft_percentiles_ms == {
        p: v / 1e6 for p, v in summary.first_token_latency.percentiles_ns.items()
    }
    per_window = tokens.tokens_per_s * tokens.window_width_s
    assert per_window.sum() == pytest.approx(5 * summary.sample_count)
    assert render(tokens, run.label).startswith(PNG_MAGIC)


def test_comparison_report(
    server_run_b: asyncgen.TestResult,
    single_stream_untraced: asyncgen.TestResult,
    tmp_path: Path,
) -> None:
    baseline = single_stream_untraced.files["summary"].parent
    other = server_run_b.files["summary"].parent
    html = write_report([baseline, other], tmp_path, title="A vs B").read_text(encoding="utf-8")
    assert_self_contained(html)
    keys = figure_keys_in(html)
    assert {"compare-latency_cdf", "compare-throughput", "compare-metrics"} <= set(keys)
    assert keys.count("latency_distribution") == 2 and keys.count("throughput") == 1
    assert "<h1>A vs B</h1>" in html and "id='comparison'" in html
    assert "95% interval" in html and "different headline metrics" in html
    # The 20 ms SUT is slower at p50 than the 1 ms one; without a trace, no interval.
    assert f"{other.name} is slower than {baseline.name} at p50 by " in html
    assert "no confidence interval: no per-sample data (no trace)" in html
    assert "Not shown: latency_over_time" in html  # the untraced run says what it lacks
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert len(names) == len(keys) and all(n.endswith(".png") for n in names)


def test_reference_logs_report(tmp_path: Path) -> None:
    folder = reference_folder("Server", "token_latencies_acc_sampling")
    html = write_report([folder], tmp_path).read_text(encoding="utf-8")
    assert_self_contained(html)
    # the reference writes no results.json, which is where token counts come from
    assert set(figure_keys_in(html)) == set(FIGURE_KEYS) - {"token_counts"}
    assert "covers 103 of the 595 samples" in html
    assert "<th>first token</th>" in html and "<th>time per output token</th>" in html
    assert (tmp_path / "figures" / "tokens.png").read_bytes().startswith(PNG_MAGIC)


def test_the_cli_runs_the_report_command(
    single_stream_untraced: asyncgen.TestResult, tmp_path: Path
) -> None:
    folder = single_stream_untraced.files["summary"].parent
    assert cli_main(["report", str(folder), "-o", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file()
    assert cli_main(["report", str(tmp_path / "missing")]) == 2


def test_python_dash_m(single_stream_untraced: asyncgen.TestResult, tmp_path: Path) -> None:
    folder = single_stream_untraced.files["summary"].parent
    done = subprocess.run(
        [sys.executable, "-m", "asyncgen.report", str(folder), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (tmp_path / "report.html").is_file()


def test_missing_extra_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "asyncgen.report" or name.startswith("asyncgen.report."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)) as caught:
        importlib.import_module("asyncgen.report")
    assert "matplotlib" in str(caught.value) and "scipy" not in str(caught.value)


def test_cli_reports_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in list(sys.modules):
        if name == "asyncgen.report" or name.startswith("asyncgen.report."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scipy", None)
    assert cli_main(["report", str(tmp_path)]) == 2
    assert INSTALL_HINT in capsys.readouterr().err


def test_cli_reports_an_unwritable_output(
    single_stream_untraced: asyncgen.TestResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    folder = single_stream_untraced.files["summary"].parent
    assert cli_main(["report", str(folder), "-o", str(blocker / "out")]) == 2
    assert "asyncgen report:" in capsys.readouterr().err
