"""``asyncgen report`` and ``python -m asyncgen.report``: the command line of the report.

    main(argv, prog=...) -> int      # parses the arguments and writes the report

Importing this module imports ``asyncgen.report``, which needs the ``report`` extra: the main
CLI therefore imports it only when the ``report`` command runs (and names the missing extra
in one clear line), so ``asyncgen --help`` and ``asyncgen run`` never load the plotting stack.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from asyncgen.report._compare import compare
from asyncgen.report._load import load_run
from asyncgen.report._report import write_report
from asyncgen.report._sweep import is_sweep, load_sweep, write_sweep_report

DEFAULT_COMPARISON_DIR = Path("asyncgen-report")


DESCRIPTION = (
    "Read run output folders (results.json, the detail log, the summary, the trace "
    "when present; asyncgen's or the reference LoadGen's) and write a self-contained "
    "report.html plus PNG figures. With several folders the report compares them "
    "against the first, with bootstrap confidence intervals. A folder written by "
    "asyncgen sweep gets latency-throughput curves with best_rate marked."
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The report's arguments: the run folders, ``--output`` and ``--title``."""
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


def run_report(args: argparse.Namespace) -> int:
    """Write the report; 0 on success, 2 on bad input."""
    outdirs: list[Path] = list(args.outdirs)
    missing = [str(p) for p in outdirs if not p.is_dir()]
    if missing:
        print(f"asyncgen report: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    output = args.output or (outdirs[0] if len(outdirs) == 1 else DEFAULT_COMPARISON_DIR)
    started = time.perf_counter()
    if len(outdirs) == 1 and is_sweep(outdirs[0]):
        return _sweep_report(outdirs[0], output, started)
    try:
        runs = [load_run(p) for p in outdirs]
        comparison = compare(runs) if len(runs) > 1 else None
        path = write_report(runs, output, title=args.title, comparison=comparison)
    except OSError as exc:  # an unreadable log or an unwritable output folder
        print(f"asyncgen report: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    size_kb = path.stat().st_size / 1024
    print(f"wrote {path} ({size_kb:,.0f} kB) and {path.parent / 'figures'} in {elapsed:.1f} s")
    if comparison is not None:
        print(comparison.verdict)
    return 0


def _sweep_report(folder: Path, output: Path, started: float) -> int:
    try:
        path = write_sweep_report(load_sweep(folder), output)
    except (OSError, ValueError) as exc:
        print(f"asyncgen report: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(f"wrote {path} and {path.parent / 'figures' / 'sweep.png'} in {elapsed:.1f} s")
    return 0


def main(argv: list[str] | None = None, *, prog: str = "python -m asyncgen.report") -> int:
    """Parse ``argv`` (default: the process's arguments) and write the report."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    configure_parser(parser)
    return run_report(parser.parse_args(argv))
