"""The SLO, goodput and request-export options of ``asyncgen run`` (and ``asyncgen sweep``),
and the rows the result table gives them.

``--slo ttft_ms=200 --slo tpot_ms=50 --slo e2e_ms=2000`` (any subset) with
``--slo-percentile 0.99`` become a ``ServiceLevelObjectives``; ``--export-requests [jsonl|
parquet]`` writes ``requests.jsonl`` (or ``.parquet``) in the log folder.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Callable
from typing import Any, TypeVar

from asyncgen._cli.progress_view import fmt_ms
from asyncgen._metrics.goodput import SLO_NAMES, Goodput, ServiceLevelObjectives
from asyncgen._output.request_export import EXPORT_FORMATS

SLO_KEYS = tuple(f"{name}_ms" for name in SLO_NAMES)
LABELS = {"ttft": "TTFT", "tpot": "TPOT", "e2e": "E2E"}
Row = tuple[str, str]
Number = TypeVar("Number", int, float)


def parse_slo(text: str) -> tuple[str, float]:
    """``ttft_ms=200`` as ``("ttft_ms", 200.0)``; an argparse ``type``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=MS, e.g. ttft_ms=200")
    if key not in SLO_KEYS:
        close = difflib.get_close_matches(key, SLO_KEYS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise argparse.ArgumentTypeError(
            f"{key!r}: not an SLO{hint}; use {', '.join(SLO_KEYS)} (limits in milliseconds)"
        )
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the limit must be a positive number of ms")
    return key, value


def bounded(kind: Callable[[str], Number], ok: Callable[[Number], bool], wanted: str) -> Any:
    """An argparse ``type``: ``kind(text)`` when ``ok`` accepts it, else an error that says
    what is ``wanted``."""

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            whole = "whole " if kind is int else ""
            raise argparse.ArgumentTypeError(f"{text!r} is not a {whole}number") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {wanted}")
        return value

    return parse


parse_percentile = bounded(float, lambda v: 0 < v < 1, "give a fraction between 0 and 1, e.g. 0.99")


def add_slo_options(parser: argparse.ArgumentParser) -> None:
    """The ``SLOs and per-request export`` argument group."""
    group = parser.add_argument_group("SLOs and per-request export")
    group.add_argument(
        "--slo",
        dest="slos",
        action="append",
        default=[],
        type=parse_slo,
        metavar="KEY=MS",
        help="a latency objective per request: ttft_ms, tpot_ms (vLLM's TPOT: (E2E - TTFT) / "
        "(output tokens - 1)) or e2e_ms, e.g. --slo ttft_ms=200; repeatable. The result adds "
        "goodput and whether each SLO holds at --slo-percentile",
    )
    group.add_argument(
        "--slo-percentile",
        type=parse_percentile,
        default=0.99,
        metavar="P",
        help="the percentile the SLOs are judged at (default 0.99)",
    )
    group.add_argument(
        "--export-requests",
        nargs="?",
        const="jsonl",
        choices=EXPORT_FORMATS,
        metavar="FORMAT",
        help="write one row per request to requests.jsonl in the log folder (FORMAT parquet: "
        "requests.parquet, needs pyarrow)",
    )


def slos_from_args(args: argparse.Namespace) -> ServiceLevelObjectives | None:
    """The objectives the options give, or None without ``--slo``."""
    if not args.slos:
        return None
    limits = dict(args.slos)  # a key given twice: the last wins
    return ServiceLevelObjectives(percentile=args.slo_percentile, **limits)


def goodput_rows(goodput: Goodput | None) -> list[Row]:
    """Goodput, then one row per SLO, then the verdict at the percentile."""
    if goodput is None:
        return []
    tokens = goodput.output_tokens_per_second
    rate = f"{goodput.requests_per_second:,.1f} requests/s"
    if tokens is not None:
        rate += f", {tokens:,.1f} output tokens/s"
    share = goodput.good_requests / goodput.requests if goodput.requests else 0.0
    rows: list[Row] = [
        ("goodput", rate),
        (
            "met every SLO",
            f"{goodput.good_requests:,} of {goodput.requests:,} requests ({100 * share:.1f}%)",
        ),
    ]
    p = percentile_label(goodput.percentile)
    for slo in goodput.slos:
        observed = "a failed request" if slo.observed_ms is None else fmt_ms(slo.observed_ms * 1e6)
        sign = "<=" if slo.holds else ">"
        verdict = "met" if slo.holds else "MISSED"
        rows.append(
            (
                f"SLO {LABELS[slo.name]}",
                f"{p} {observed} {sign} {slo.limit_ms:g} ms: {verdict} "
                f"({100 * slo.share_met:.1f}% met it)",
            )
        )
    if goodput.slos:
        missed = ", ".join(LABELS[slo.name] for slo in goodput.missed)
        rows.append(("SLOs", f"met at {p}" if goodput.slos_met else f"MISSED at {p}: {missed}"))
    return rows


def percentile_label(percentile: float) -> str:
    """``0.99`` as ``p99``, ``0.999`` as ``p99.9``."""
    return f"p{percentile * 100:g}"
