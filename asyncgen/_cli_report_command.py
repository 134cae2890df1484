"""``asyncgen report``: the command-line glue, for the main CLI to mount.

    add_report_command(subparsers)   # registers "report" on an argparse sub-parser set
    run_report(args) -> int          # runs it

Kept free of the plotting imports until it runs, so ``asyncgen --help`` works without the
``report`` extra and a missing extra is one clear line, not a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_COMPARISON_DIR = Path("asyncgen-report")


def add_report_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to ``subparsers`` (what ``ArgumentParser.add_subparsers`` returned)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write report.html and PNG figures for one run, or compare several runs",
        description=(
            "Read run output folders (results.json, the detail log, the summary, the trace "
            "when present; asyncgen's or the reference LoadGen's) and write a self-contained "
            "report.html plus PNG figures. With several folders the report compares them "
            "against the first, with bootstrap confidence intervals."
        ),
    )
    configure_parser(parser)
    return parser


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("outdirs", nargs="+", type=Path, metavar="OUTDIR", help="run folders")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=(
            "where to write report.html and figures/ (default: the run's folder for one run, "
            f"./{DEFAULT_COMPARISON_DIR} for several)"
        ),
    )
    parser.add_argument("--title", default=None, help="page title")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write the report; 0 on success, 2 on bad input or a missing extra."""
    try:
        report = importlib.import_module("asyncgen.report")  # the extra is optional
    except ImportError as exc:
        print(f"asyncgen report: {exc}", file=sys.stderr)
        return 2
    outdirs: list[Path] = list(args.outdirs)
    missing = [str(p) for p in outdirs if not p.is_dir()]
    if missing:
        print(f"asyncgen report: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    output = args.output or (outdirs[0] if len(outdirs) == 1 else DEFAULT_COMPARISON_DIR)
    started = time.perf_counter()
    try:
        runs = [report.load_run(p) for p in outdirs]
        comparison = report.compare(runs) if len(runs) > 1 else None
        path = report.write_report(runs, output, title=args.title, comparison=comparison)
    except OSError as exc:  # an unreadable log or an unwritable output folder
        print(f"asyncgen report: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    size_kb = path.stat().st_size / 1024
    print(f"wrote {path} ({size_kb:,.0f} kB) and {path.parent / 'figures'} in {elapsed:.1f} s")
    if comparison is not None:
        print(comparison.verdict)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncgen.report", description=__doc__)
    configure_parser(parser)
    return run_report(parser.parse_args(argv))
