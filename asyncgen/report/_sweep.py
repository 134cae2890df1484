"""The report of a sweep folder (``asyncgen sweep -o DIR``): latency-throughput curves.

``DIR/sweep.json`` lists the steps; the figure has one panel each for TTFT, TPOT and E2E (p50
and p99 against the achieved rate, the SLO limit as a line) and one for throughput and goodput
against the target rate (or the concurrency, for ``--concurrencies``), with ``best_rate`` (or
``best_concurrency``) marked in every panel. The saturation step of
``--rates auto`` (everything at once) is listed in the table, not drawn: its latencies are those
of a burst, not of a rate.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from matplotlib.axes import Axes

from asyncgen._version import __version__
from asyncgen.report._html import CSS, FigureBlock, figure_html
from asyncgen.report._plot import MARK_COLOR, new_figure, png_bytes

SWEEP_FILE = "sweep.json"
FIGURE_NAME = "sweep.png"
PANELS = (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "E2E"))


@attrs.frozen(kw_only=True)
class SweepData:
    """What ``sweep.json`` says: its steps (dicts, as written), best_rate and the SLOs."""

    folder: Path
    steps: tuple[dict[str, Any], ...]
    best_rate: float | None
    best_concurrency: int | None
    slos_ms: dict[str, float]  # e.g. {"e2e": 250.0}; empty without --slo
    slo_percentile: float
    stopped: str | None

    @property
    def load_key(self) -> str:
        """``rate``, or ``concurrency`` for a sweep of closed loops."""
        return "rate" if any(s.get("rate") is not None for s in self.steps) else "concurrency"

    @property
    def best(self) -> float | None:
        """best_rate, or best_concurrency for a sweep of closed loops."""
        return self.best_rate if self.load_key == "rate" else self.best_concurrency

    @property
    def curve_steps(self) -> list[dict[str, Any]]:
        """The steps at a rate (or concurrency), in its order (bisection steps come out of
        order); not the saturation step."""
        key = self.load_key
        return sorted((s for s in self.steps if s.get(key) is not None), key=lambda s: s[key])


def is_sweep(folder: Path) -> bool:
    """Whether ``folder`` is the output of ``asyncgen sweep``."""
    return (folder / SWEEP_FILE).is_file()


def load_sweep(folder: str | Path) -> SweepData:
    """Read ``folder/sweep.json``; ``ValueError`` if it is not a sweep's file."""
    folder = Path(folder)
    path = folder / SWEEP_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        steps = tuple(document["steps"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a sweep.json written by asyncgen sweep ({exc})") from exc
    return SweepData(
        folder=folder,
        steps=steps,
        best_rate=document.get("best_rate"),
        best_concurrency=document.get("best_concurrency"),
        slos_ms=dict(document.get("slos") or {}),
        slo_percentile=float(document.get("slo_percentile", 0.99)),
        stopped=document.get("stopped"),
    )


def _values(steps: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.asarray([np.nan if s.get(key) is None else s[key] for s in steps], dtype=float)


def _best_step(data: SweepData) -> dict[str, Any] | None:
    for step in data.curve_steps:
        if step[data.load_key] == data.best:
            return step
    return None


def _latency_panel(ax: Axes, data: SweepData, name: str, label: str) -> None:
    steps = data.curve_steps
    achieved = _values(steps, "achieved_rps")
    for percentile, style in (("p50", "o-"), ("p99", "s--")):
        ax.plot(achieved, _values(steps, f"{name}_{percentile}_ms"), style, label=percentile)
    limit = data.slos_ms.get(name)
    if limit is not None:
        judged = f"p{data.slo_percentile * 100:g}"
        ax.axhline(limit, color="#555", linestyle=":", label=f"SLO {limit:g} ms at {judged}")
    best = _best_step(data)
    if best is not None:
        ax.axvline(best["achieved_rps"], color=MARK_COLOR, alpha=0.6, label=f"best_{data.load_key}")
    values = _values(steps, f"{name}_p99_ms")
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    ax.set_title(f"{label} against achieved rate")
    ax.set_xlabel("achieved requests/s")
    ax.set_ylabel(f"{label} (ms)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _throughput_panel(ax: Axes, data: SweepData) -> None:
    steps, key = data.curve_steps, data.load_key
    loads = _values(steps, key)
    ax.plot(loads, _values(steps, "achieved_rps"), "o-", label="achieved")
    ax.plot(loads, _values(steps, "goodput_rps"), "s-", label="goodput")
    if loads.size and key == "rate":
        ax.plot([0, loads.max()], [0, loads.max()], color="#999", linestyle=":", label="target")
    if data.best is not None:
        unit = "/s" if key == "rate" else ""
        ax.axvline(data.best, color=MARK_COLOR, alpha=0.6)
        ax.annotate(
            f"best_{key} {data.best:g}{unit}",
            (data.best, 0),
            xytext=(-4, 6),
            textcoords="offset points",
            ha="right",
            color=MARK_COLOR,
        )
    what = "target rate" if key == "rate" else "concurrency"
    ax.set_title(f"throughput and goodput against {what}")
    ax.set_xlabel("target requests/s" if key == "rate" else "requests in flight")
    ax.set_ylabel("requests/s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def sweep_figure(data: SweepData) -> bytes:
    """The PNG: TTFT, TPOT and E2E against achieved rate, and goodput, best_rate marked."""
    fig = new_figure((11.0, 8.0), bottom=0.08)
    fig.subplots_adjust(hspace=0.4, top=0.92)
    axes = fig.subplots(2, 2).ravel()
    for ax, (name, label) in zip(axes, PANELS, strict=False):
        _latency_panel(ax, data, name, label)
    _throughput_panel(axes[3], data)
    fig.suptitle(f"asyncgen sweep: {len(data.steps)} steps, {_best_text(data)}")
    return png_bytes(fig)


def _best_text(data: SweepData, *, html_bold: bool = False) -> str:
    """``best_rate: 80 requests/s`` (or ``best_concurrency: 4``; ``none`` when no step met)."""
    value = data.best
    text = "none" if value is None else f"{value:g}"
    if value is not None and data.load_key == "rate":
        text += " requests/s"
    return f"best_{data.load_key}: " + (f"<b>{text}</b>" if html_bold else text)


def _cell(value: Any, digits: str = ".3g") -> str:
    if value is None:
        return "-"
    return format(value, digits) if isinstance(value, float) else str(value)


def _steps_table(data: SweepData) -> str:
    header = (
        "step", "load", "achieved/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99",
        "E2E p50", "E2E p99", "goodput/s", "SLOs", "issue lag p99", "folder",
    )  # fmt: skip
    rows = []
    for i, s in enumerate(data.steps, 1):
        load = s["kind"] if s.get("rate") is None else f"{s['rate']:g}/s"
        if s.get("concurrency") is not None:
            load = f"{s['concurrency']} in flight"
        cells = [str(i), load, _cell(s["achieved_rps"], ".4g")]
        cells += [_cell(s.get(f"{m}_{p}_ms")) for m, _ in PANELS for p in ("p50", "p99")]
        cells += [
            _cell(s.get("goodput_rps"), ".4g"),
            "met" if s.get("slos_met") else "missed",
            _cell(s.get("issue_lag_p99_ms")),
            f"<a href='{html.escape(s['outdir'])}/'>{html.escape(s['outdir'])}</a>",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in header)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><p class='meta'>latencies in ms</p>"


def write_sweep_report(data: SweepData, out: str | Path) -> Path:
    """Write ``out/report.html`` and ``out/figures/sweep.png``; returns the HTML's path."""
    folder = Path(out)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    png = sweep_figure(data)
    (folder / "figures" / FIGURE_NAME).write_bytes(png)
    slos = ", ".join(f"{name} {ms:g} ms" for name, ms in data.slos_ms.items())
    judged = f"{slos} at p{data.slo_percentile * 100:g}" if slos else "LoadGen's latency bound"
    caption = "p50 and p99 latencies against achieved rate; goodput against target rate"
    name = html.escape(data.folder.resolve().name)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>asyncgen sweep: {name}</title><style>{CSS}</style></head><body>",
        f"<h1>asyncgen sweep: {name}</h1>",
        f"<p class='meta'>asyncgen {__version__}, generated {time.strftime('%Y-%m-%d %H:%M:%S')}"
        "</p>",
        f"<p class='verdict'>{_best_text(data, html_bold=True)} (SLOs: {judged})</p>",
    ]
    if data.stopped:
        parts.append(f"<p class='notes'>stopped early: {html.escape(data.stopped)}</p>")
    parts.append(figure_html(FigureBlock(anchor="sweep", key="sweep", png=png, caption=caption)))
    parts += [_steps_table(data), "</body></html>"]
    path = folder / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
