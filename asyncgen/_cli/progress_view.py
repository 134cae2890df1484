"""How ``asyncgen run`` shows a run in progress: a live rich panel, plain lines, or nothing.

The renderers are pure functions of a ``Progress`` snapshot; ``ProgressView`` only decides where
they go. On a terminal the panel is redrawn in place; elsewhere (CI logs, pipes) one line is
printed per snapshot, so a log shows the run's pace without control characters.
"""

from __future__ import annotations

from types import TracebackType
from typing import Literal, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from asyncgen._engine.progress import Progress

ViewKind = Literal["live", "plain", "off"]


def fmt_ms(ns: int | float | None) -> str:
    """Nanoseconds as milliseconds with three significant-ish digits; '-' when unknown."""
    if ns is None:
        return "-"
    ms = ns / 1e6
    if abs(ms) >= 100:
        return f"{ms:.0f} ms"
    if abs(ms) >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


def _clock(p: Progress) -> str:
    if p.expected_s is None:
        return f"{p.elapsed_s:6.1f} s"
    return f"{p.elapsed_s:6.1f} s / {p.expected_s:.1f} s"


def _of(total: float, sep: str = "/", spec: str = "g") -> str:
    """``/total``, or nothing when there is none (a closed loop plans no count or rate)."""
    return f"{sep}{total:{spec}}" if total else ""


def plain_line(p: Progress) -> str:
    """One log line per snapshot."""
    return (
        f"[{_clock(p)}] {p.phase}: issued {p.queries_issued}{_of(p.queries_planned)} queries, "
        f"completed {p.samples_completed} samples, in flight {p.in_flight}, "
        f"{p.achieved_qps:.1f}{_of(p.target_qps)} QPS, "
        f"latency p50 {fmt_ms(p.recent_p50_latency_ns)} p99 {fmt_ms(p.recent_p99_latency_ns)}, "
        f"issue lag p99 {fmt_ms(p.recent_p99_issue_lag_ns)}"
    )


def live_panel(p: Progress | None) -> RenderableType:
    """The terminal panel: a bar over the expected duration and the current figures."""
    if p is None:
        return Text("starting: loading samples ...", style="dim")
    if p.expected_s:
        bar = ProgressBar(total=p.expected_s, completed=min(p.elapsed_s, p.expected_s), width=32)
    else:  # SingleStream, MultiStream, Offline: the end depends on the SUT's speed
        bar = ProgressBar(total=None, width=32)
    head = Table.grid(padding=(0, 2))
    head.add_row(Text(p.phase, style="bold"), bar, Text(_clock(p).strip()))
    figures = Table.grid(padding=(0, 2))  # four columns: fits an 80-column terminal
    figures.add_row(
        "issued",
        f"{p.queries_issued:,}{_of(p.queries_planned, ' / ', ',')} queries",
        "completed",
        f"{p.samples_completed:,} samples",
    )
    figures.add_row(
        "in flight",
        f"{p.in_flight:,}",
        "QPS",
        f"{p.achieved_qps:,.1f}" + (f" / {p.target_qps:g} target" if p.target_qps else ""),
    )
    figures.add_row(
        "latency",
        f"p50 {fmt_ms(p.recent_p50_latency_ns)}  p99 {fmt_ms(p.recent_p99_latency_ns)}",
        "issue lag",
        f"p99 {fmt_ms(p.recent_p99_issue_lag_ns)}",
    )
    return Group(head, figures)


class ProgressView:
    """A ``run_test`` progress callback that draws to ``stream`` in the chosen way.

    Use it as a context manager around the run so the live panel is taken down cleanly, also
    when the run is interrupted.
    """

    def __init__(self, kind: ViewKind, stream: TextIO, console: Console | None = None) -> None:
        self.kind = kind
        self._stream = stream
        self._console = console or Console(file=stream)
        self._live: Live | None = None
        self.snapshots = 0

    def __enter__(self) -> ProgressView:
        if self.kind == "live":
            self._live = Live(
                live_panel(None), console=self._console, refresh_per_second=4, transient=False
            )
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, progress: Progress) -> None:
        self.snapshots += 1
        if self._live is not None:
            self._live.update(live_panel(progress))
        elif self.kind == "plain":
            print(plain_line(progress), file=self._stream, flush=True)
