"""The progress renderers: plain lines, the live panel, and where ``ProgressView`` draws."""

from __future__ import annotations

import io

import attrs
import pytest
from rich.console import Console

from asyncgen import Progress
from asyncgen._cli.progress_view import ProgressView, fmt_ms, live_panel, plain_line

SNAPSHOT = Progress(
    phase="performance",
    elapsed_s=3.21,
    expected_s=10.0,
    queries_issued=640,
    queries_planned=2000,
    samples_issued=640,
    samples_completed=630,
    target_qps=200.0,
    achieved_qps=196.26,
    recent_p50_latency_ns=4_120_000,
    recent_p99_latency_ns=19_870_000,
    recent_p99_issue_lag_ns=310_000,
)


@pytest.mark.parametrize(
    ("ns", "text"),
    [(None, "-"), (0, "0.00 ms"), (310_000, "0.31 ms"), (19_870_000, "19.9 ms"),
     (123_456_789, "123 ms"), (-2_000_000, "-2.00 ms")],
)  # fmt: skip
def test_fmt_ms(ns: int | None, text: str) -> None:
    assert fmt_ms(ns) == text


def test_plain_line() -> None:
    assert plain_line(SNAPSHOT) == (
        "[   3.2 s / 10.0 s] performance: issued 640/2000 queries, completed 630 samples, "
        "in flight 10, 196.3/200 QPS, latency p50 4.12 ms p99 19.9 ms, issue lag p99 0.31 ms"
    )


def test_plain_line_without_an_expected_duration_or_latencies() -> None:
    early = attrs.evolve(
        SNAPSHOT,
        phase="accuracy",
        expected_s=None,
        recent_p50_latency_ns=None,
        recent_p99_latency_ns=None,
    )
    line = plain_line(early)
    assert line.startswith("[   3.2 s] accuracy: ")
    assert "latency p50 - p99 -" in line


def _render(renderable: object, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_live_panel_shows_every_figure_in_80_columns() -> None:
    text = _render(live_panel(SNAPSHOT))
    lines = text.splitlines()
    assert len(lines) == 4  # the bar line and three rows of figures: no wrapping
    assert lines[0].startswith("performance")
    assert lines[0].rstrip().endswith("3.2 s / 10.0 s")
    for figure in ("640 / 2,000 queries", "630 samples", "in flight  10",
                   "196.3 / 200 target", "p50 4.12 ms  p99 19.9 ms", "p99 0.31 ms"):  # fmt: skip
        assert figure in text


def test_live_panel_before_the_first_snapshot() -> None:
    assert "starting" in _render(live_panel(None))


def test_live_view_draws_on_a_terminal() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=80, force_terminal=True, color_system=None)
    with ProgressView("live", stream, console) as view:
        view(SNAPSHOT)
    assert view.snapshots == 1
    assert "630 samples" in stream.getvalue()


def test_plain_view_prints_lines_and_off_prints_nothing() -> None:
    stream = io.StringIO()
    with ProgressView("plain", stream) as view:
        view(SNAPSHOT)
        view(SNAPSHOT)
    assert stream.getvalue() == (plain_line(SNAPSHOT) + "\n") * 2
    silent = io.StringIO()
    with ProgressView("off", silent) as view:
        view(SNAPSHOT)
    assert silent.getvalue() == ""
    assert view.snapshots == 1


def test_a_closed_loop_shows_no_planned_count_or_target_rate() -> None:
    closed = attrs.evolve(SNAPSHOT, queries_planned=0, target_qps=0.0, expected_s=None)
    line = plain_line(closed)
    assert "issued 640 queries" in line and "196.3 QPS" in line and "/0" not in line
