"""The HTML page: one self-contained file (inline CSS, figures as base64 PNG data URIs,
no scripts, no external links), readable without a network connection."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

import attrs

from asyncgen.report._compare import Comparison
from asyncgen.report._load import RunData
from asyncgen.report._logs import LatencySummary

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; }
.valid { color: #1e7d32; font-weight: bold; } .invalid { color: #b71c1c; font-weight: bold; }
.healthy { color: #1e7d32; } .strained { color: #b26a00; } .behind { color: #b71c1c; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.4em 1em; }
.verdict { font-size: 1.1em; background: #eef5ff; padding: 0.6em 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.meta { color: #666; }
"""


@attrs.frozen(kw_only=True)
class FigureBlock:
    """A figure ready for the page."""

    anchor: str  # unique id on the page
    key: str  # figure kind (``latency_over_time``...)
    png: bytes
    caption: str


@attrs.frozen(kw_only=True)
class RunBlock:
    run: RunData
    anchor: str
    figures: tuple[FigureBlock, ...]
    missing: dict[str, str]  # figure key -> why it is absent
    health: str  # verdict sentence ("" when unknown)
    health_class: str


def page(
    title: str,
    meta: str,
    runs: Sequence[RunBlock],
    comparison: Comparison | None,
    comparison_figures: Sequence[FigureBlock],
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class='meta'>{_e(meta)}</p>",
    ]
    if comparison is not None:
        parts.append(_comparison(comparison, comparison_figures))
    parts.extend(_run(block) for block in runs)
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def figure_html(block: FigureBlock) -> str:
    encoded = base64.b64encode(block.png).decode("ascii")
    return (
        f'<figure id="{_e(block.anchor)}" data-figure="{_e(block.key)}">'
        f'<img alt="{_e(block.caption)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{_e(block.caption)}</figcaption></figure>"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(
        f"<th class='name'>{_e(h)}</th>" if i == 0 else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='name'>{_e(c)}</td>" if i == 0 else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _result(valid: bool | None) -> str:
    if valid is None:
        return "<span>unknown</span>"
    return "<span class='valid'>VALID</span>" if valid else "<span class='invalid'>INVALID</span>"


def _run(block: RunBlock) -> str:
    run = block.run
    facts = [
        ("Scenario", run.scenario or "?"),
        ("Mode", run.mode or "?"),
        ("Folder", str(run.path) if run.path else "(in memory)"),
    ]
    if run.headline is not None:
        facts.insert(2, (run.headline.name, f"{run.headline.value:,.6g}"))
    out = [
        f"<section class='run' id='{_e(block.anchor)}'><h2>{_e(run.label)}</h2>",
        f"<p>Result: {_result(run.valid)}</p>",
        _table(("Fact", "Value"), facts),
    ]
    if run.reasons:
        out.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in run.reasons) + "</ul>")
    if run.notes:
        out.append(
            "<div class='notes'><ul>"
            + "".join(f"<li>{_e(n)}</li>" for n in run.notes)
            + "</ul></div>"
        )
    stats = _stats_table(run)
    if stats:
        out.append(stats)
    tokens = _token_counts_table(run)
    if tokens:
        out.append(tokens)
    if block.health:
        out.append(
            f"<p class='{_e(block.health_class)}'><b>Generator health:</b> {_e(block.health)}</p>"
        )
    out.extend(figure_html(f) for f in block.figures)
    if block.missing:
        out.append(
            "<p class='meta'>Not shown: "
            + "; ".join(f"{_e(k)} ({_e(v)})" for k, v in block.missing.items())
            + "</p>"
        )
    if run.summary_text:
        out.append(
            f"<details><summary>Summary file</summary><pre>{_e(run.summary_text)}</pre></details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _stats_table(run: RunData) -> str:
    columns: list[tuple[str, LatencySummary]] = [
        (name, stats)
        for name, stats in (
            ("sample latency", run.sample_latency),
            ("query latency", run.query_latency),
            ("first token", run.first_token_latency),
            ("time per output token", run.tpot),
        )
        if stats is not None
    ]
    if not columns:
        return ""
    percentiles = sorted({p for _, stats in columns for p in stats.percentiles_ns})
    rows: list[list[object]] = [
        ["min", *(_ms(s.min_ns) for _, s in columns)],
        ["mean", *(_ms(s.mean_ns) for _, s in columns)],
    ]
    for p in percentiles:
        rows.append([f"p{p * 100:g}", *(_ms(s.percentiles_ns.get(p)) for _, s in columns)])
    rows.append(["max", *(_ms(s.max_ns) for _, s in columns)])
    return _table(("ms (reported)", *(name for name, _ in columns)), rows)


def _token_counts_table(run: RunData) -> str:
    """Input and output tokens per request, as ``results.json`` reported them."""
    sides = [(name, (run.token_counts or {}).get(name)) for name in ("input", "output")]
    known = [(name, side) for name, side in sides if isinstance(side, dict)]
    if not known:
        return ""
    rows: list[list[object]] = [
        [key, *(_count(side.get(key)) for _, side in known)]
        for key in ("count", "total", "mean", "min")
    ]
    marks = sorted({p for _, side in known for p in side.get("percentiles", {})}, key=float)
    rows += [[f"p{p}", *(_count(side["percentiles"].get(p)) for _, side in known)] for p in marks]
    rows.append(["max", *(_count(side.get("max")) for _, side in known)])
    return _table(("tokens per request", *(f"{name} tokens" for name, _ in known)), rows)


def _count(value: object) -> str:
    return (
        f"{value:,.1f}" if isinstance(value, float) else f"{value:,}" if value is not None else ""
    )


def _ms(ns: int | None) -> str:
    return "" if ns is None else f"{ns / 1e6:,.3f}"


def _comparison(comparison: Comparison, figures: Sequence[FigureBlock]) -> str:
    header = ["metric", *comparison.labels]
    rows = []
    for key, name in comparison.metric_names.items():
        cells: list[object] = [name]
        for estimate in comparison.estimates[key]:
            if estimate is None:
                cells.append("")
            elif estimate.low is None or estimate.high is None:
                cells.append(_value(name, estimate.value))
            else:
                cells.append(
                    f"{_value(name, estimate.value)} "
                    f"[{_value(name, estimate.low)}, {_value(name, estimate.high)}]"
                )
        rows.append(cells)
    diffs = [
        [
            comparison.metric_names[d.metric],
            f"{d.other} vs {d.baseline}",
            f"{d.relative * 100:+.1f}%",
            _interval_text(d.low, d.high),
            d.verdict,
        ]
        for d in comparison.differences
    ]
    level = f"{comparison.confidence * 100:g}%"
    out = [
        "<section id='comparison'><h2>Comparison</h2>",
        f"<p class='verdict'>{_e(comparison.verdict)}</p>",
        f"<p class='meta'>Values with bootstrap {level} intervals in brackets.</p>",
        _table(header, rows),
        _table(("metric", "runs", "difference", f"{level} interval", "verdict"), diffs),
    ]
    if comparison.notes:
        out.append(
            "<div class='notes'><ul>"
            + "".join(f"<li>{_e(n)}</li>" for n in comparison.notes)
            + "</ul></div>"
        )
    out.extend(figure_html(f) for f in figures)
    out.append("</section>")
    return "\n".join(out)


def _value(metric_name: str, value: float) -> str:
    """Latencies (reported in ns) in ms; rates as they are."""
    if metric_name.endswith("(ns)"):
        return f"{value / 1e6:,.3f} ms"
    return f"{value:,.2f}"


def _interval_text(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"[{low * 100:+.1f}%, {high * 100:+.1f}%]"
