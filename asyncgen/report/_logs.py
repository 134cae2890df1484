"""Readers for the text logs: the ``:::MLLOG`` detail log and the summary.

asyncgen writes the reference's keys, so one reader serves both. Values are taken as logged;
a key logged more than once (a FindPeakPerformance run logs a series per probe) keeps its
last value, which belongs to the series the summary reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

DETAIL_PREFIX = ":::MLLOG "
_RESULT_LINE = re.compile(r"^Result is\s*:\s*(\S+)", re.MULTILINE)
_HEADLINE_PERCENTILE = re.compile(r"^([0-9.]+)th percentile")


@attrs.frozen(kw_only=True)
class DetailLog:
    """The last value of every key, and the error/warning entry counts."""

    values: Mapping[str, Any]
    errors: int
    warnings: int

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


@attrs.frozen(kw_only=True)
class LatencySummary:
    """Reported statistics of one latency array, ns; percentiles keyed 0.5, 0.9, 0.999..."""

    min_ns: int
    max_ns: int
    mean_ns: int
    percentiles_ns: Mapping[float, int]


@attrs.frozen(kw_only=True)
class Headline:
    """The metric on the summary's first result line (``Completed samples per second``,
    ``90.0th percentile latency (ns)``, ``Samples per second``...)."""

    name: str
    value: float
    higher_is_better: bool  # throughput; latency headlines are better when lower
    percentile: float | None  # latency headlines: which percentile

    @property
    def unit(self) -> str:
        return "samples/s" if self.higher_is_better else "ns"


def read_detail(path: Path) -> DetailLog | None:
    """Parse a detail log; lines that are not ``:::MLLOG`` JSON are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    values: dict[str, Any] = {}
    errors = warnings = 0
    for line in text.splitlines():
        if not line.startswith(DETAIL_PREFIX):
            continue
        try:
            entry = json.loads(line[len(DETAIL_PREFIX) :])
        except ValueError:
            continue
        if not isinstance(entry, dict) or "key" not in entry:
            continue
        values[str(entry["key"])] = entry.get("value")
        metadata = entry.get("metadata") or {}
        errors += bool(metadata.get("is_error"))
        warnings += bool(metadata.get("is_warning"))
    return DetailLog(values=values, errors=errors, warnings=warnings) if values else None


def latency_summary(detail: DetailLog, kind: str) -> LatencySummary | None:
    """``kind``: ``sample``, ``query`` (MultiStream per query), ``first_token`` or ``tpot``."""
    percentile_key, min_key, max_key, mean_key = {
        "sample": (
            re.compile(r"^result_([0-9.]+)_percentile_latency_ns$"),
            "result_min_latency_ns",
            "result_max_latency_ns",
            "result_mean_latency_ns",
        ),
        "query": (
            re.compile(r"^result_([0-9.]+)_percentile_per_query_latency_ns$"),
            "result_min_query_latency_ns",
            "result_max_query_latency_ns",
            "result_mean_query_latency_ns",
        ),
        "first_token": (
            re.compile(r"^result_first_token_([0-9.]+)_percentile_latency_ns$"),
            "result_first_token_min_latency_ns",
            "result_first_token_max_latency_ns",
            "result_first_token_mean_latency_ns",
        ),
        "tpot": (
            re.compile(r"^result_time_per_output_token_([0-9.]+)_percentile_ns$"),
            "result_time_to_output_token_min",  # sic: the reference's key names
            "result_time_to_output_token_max",
            "result_time_to_output_token_mean",
        ),
    }[kind]
    percentiles = {}
    for key, value in detail.values.items():
        match = percentile_key.match(key)
        if match and isinstance(value, int | float):
            percentiles[round(float(match.group(1)) / 100.0, 6)] = int(value)
    if not percentiles:
        return None
    return LatencySummary(
        min_ns=int(detail.get(min_key, 0) or 0),
        max_ns=int(detail.get(max_key, 0) or 0),
        mean_ns=int(detail.get(mean_key, 0) or 0),
        percentiles_ns=dict(sorted(percentiles.items())),
    )


def latency_summary_from_json(stats: Mapping[str, Any] | None) -> LatencySummary | None:
    """The same from a ``results.json`` statistics block."""
    if not stats:
        return None
    return LatencySummary(
        min_ns=int(stats.get("min_ns", 0)),
        max_ns=int(stats.get("max_ns", 0)),
        mean_ns=int(stats.get("mean_ns", 0)),
        percentiles_ns={
            round(float(k) / 100.0, 6): int(v) for k, v in stats.get("percentiles_ns", {}).items()
        },
    )


def summary_result(text: str) -> str | None:
    """``VALID`` / ``INVALID`` from a summary, if it says."""
    match = _RESULT_LINE.search(text)
    return match.group(1) if match else None


def summary_headline(text: str) -> Headline | None:
    """The metric line between ``Mode :`` and ``Result is :`` in a summary."""
    lines = text.splitlines()
    mode_at = next((i for i, line in enumerate(lines) if line.startswith("Mode ")), None)
    if mode_at is None or mode_at + 1 >= len(lines):
        return None
    name, sep, value = lines[mode_at + 1].rpartition(":")
    if not sep:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    name = name.strip()
    match = _HEADLINE_PERCENTILE.match(name)
    return Headline(
        name=name,
        value=number,
        higher_is_better="per second" in name.lower(),
        percentile=float(match.group(1)) / 100.0 if match else None,
    )
