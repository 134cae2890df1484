"""Print the figures of ``benchmarks/results/*.json`` as the Markdown table of the docs.

``python -m benchmarks.table [--quick]``: one row per figure, in the order the benchmarks run,
so that docs/performance.md quotes exactly what the benchmarks wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._harness import RESULTS_DIR

ORDER = (
    "server_async_qps",
    "server_null_qps",
    "single_stream_overhead",
    "compat_overhead",
    "issue_lag",
    "offline_throughput",
    "peak_rss",
    "arrival_fidelity",
)


def _number(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit == "ns" and value >= 10_000:
        return f"{value / 1000:,.1f} µs"
    if unit == "ns":
        return f"{value:,.0f} ns"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.0f} {unit}"


def rows(report: dict[str, Any]) -> list[str]:
    out = []
    for figure in report["figures"]:
        target = figure["target"] or "—"
        met = {True: "yes", False: "**no**", None: "—"}[figure["met"]]
        out.append(
            f"| {report['benchmark']}: {figure['name']} "
            f"| {_number(figure['asyncgen'], figure['unit'])} "
            f"| {_number(figure['reference'], figure['unit'])} "
            f"| {figure['ratio']:.3f} | {target} | {met} |"
        )
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table")
    parser.add_argument("--quick", action="store_true", help="tabulate the --quick results")
    args = parser.parse_args(argv)
    suffix = "-quick" if args.quick else ""
    print("| figure | asyncgen | reference | ratio | target | met |")
    print("|---|---:|---:|---:|---|---|")
    for name in ORDER:
        path = Path(RESULTS_DIR) / f"{name}{suffix}.json"
        if path.exists():
            print("\n".join(rows(json.loads(path.read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
