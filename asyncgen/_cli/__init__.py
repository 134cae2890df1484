"""The ``asyncgen`` command line.

``asyncgen run`` runs one test of any SUT — a URL through an HTTP adapter, or a Python object —
with live progress and a result table (see ``asyncgen._cli.run`` and docs/cli.md).
``asyncgen sweep`` runs it at rising load and finds the highest rate that meets the SLOs
(``asyncgen._cli.sweep``, docs/sweeps.md).
``asyncgen demo`` runs a Server-scenario test against the simulated async SUT shipped in the
package and prints the summary; its options change the load and the simulated service time.
``asyncgen report`` turns run folders into an HTML report with figures, or compares runs
(``asyncgen.report``; needs the ``report`` extra).
``asyncgen verify OUTDIR`` cross-checks a run's log files (see ``asyncgen._output.verify``).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from asyncgen._cli import run as _cli_run
from asyncgen._cli import sweep as _cli_sweep
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.settings import LogOutputSettings, LogSettings, TestSettings
from asyncgen._errors import AsyncgenError
from asyncgen._output.verify import verify
from asyncgen._run.runner import run
from asyncgen.simulated import ServiceTime, SimulatedQSL, SimulatedSUT

REPORT_HELP = "write report.html and PNG figures for one run, or compare several runs"


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``asyncgen`` parser and its ``run`` sub-parser (which checks more on its own)."""
    parser = argparse.ArgumentParser(prog="asyncgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = _cli_run.add_parser(commands)
    _cli_sweep.add_parser(commands)
    # Listed for --help only: main() hands "report" to the report package's own parser.
    commands.add_parser("report", add_help=False, help=REPORT_HELP)
    verify = commands.add_parser(
        "verify", help="check that a run's log files agree with each other (exit 1 if not)"
    )
    verify.add_argument("outdir", type=Path, help="the run's log folder")
    demo = commands.add_parser(
        "demo", help="run a Server test against the built-in simulated SUT and print its summary"
    )
    demo.add_argument(
        "--qps",
        type=_cli_run.finite_number,
        default=500.0,
        help="target Poisson rate (default 500)",
    )
    demo.add_argument(
        "--duration-ms", type=int, default=5000, help="minimum test duration (default 5000)"
    )
    demo.add_argument(
        "--latency-ms",
        type=_cli_run.finite_number,
        default=15.0,
        help="Server latency bound at p99 (default 15)",
    )
    demo.add_argument(
        "--service-ms",
        type=_cli_run.finite_number,
        default=2.0,
        help="mean simulated service time (default 2)",
    )
    demo.add_argument(
        "--distribution",
        choices=["constant", "exponential", "lognormal", "uniform"],
        default="lognormal",
        help="service-time distribution (default lognormal, sigma 0.5)",
    )
    demo.add_argument(
        "--concurrency", type=int, default=8, help="simulated server workers (default 8)"
    )
    demo.add_argument(
        "--outdir", type=Path, default=Path("out/demo"), help="log folder (default out/demo)"
    )
    return parser, run_parser


def _demo(args: argparse.Namespace) -> int:
    settings = TestSettings(
        scenario=TestScenario.Server,
        mode=TestMode.PerformanceOnly,
        server_target_qps=args.qps,
        server_target_latency_ns=int(args.latency_ms * 1_000_000),
        min_duration_ms=args.duration_ms,
        min_query_count=100,
    )
    sut = SimulatedSUT(
        ServiceTime(distribution=args.distribution, mean_ms=args.service_ms),
        concurrency=args.concurrency,
    )
    qsl = SimulatedQSL(total_sample_count=1024, performance_sample_count=256)
    log = LogSettings(log_output=LogOutputSettings(outdir=str(args.outdir)))
    print(
        f"asyncgen demo: Server scenario, {args.qps:g} QPS for {args.duration_ms / 1000:g} s "
        f"against a simulated SUT ({args.distribution} service time, mean {args.service_ms:g} ms, "
        f"{args.concurrency} workers)",
        flush=True,
    )
    result = run(sut, qsl, settings, log_settings=log, audit_config=None)
    print(result.files["summary"].read_text(encoding="utf-8"))
    lag = result.issue_lag.percentiles_ns
    print(
        f"issue lag (issued - scheduled): p50 {lag[0.5] / 1000:.1f} us, "
        f"p99 {lag[0.99] / 1000:.1f} us, max {result.issue_lag.max_ns / 1000:.1f} us"
    )
    print("files:", *(f"  {path}" for path in result.files.values()), sep="\n")
    return 0 if result.valid else 1


def _verify_command(outdir: Path) -> int:
    """0: every run in ``outdir`` is consistent; 1: problems (listed); 2: no run there."""
    try:
        problems = verify(outdir)
    except AsyncgenError as exc:
        print(f"asyncgen verify: error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"asyncgen verify: {problem}")
    if problems:
        return 1
    print(f"asyncgen verify: {outdir}: the files are consistent")
    return 0


def _report(argv: list[str]) -> int:
    """``asyncgen report``: the report package's command line, imported only when it runs."""
    try:
        # Deferred: asyncgen.report needs the optional report extra (matplotlib, scipy), which
        # `asyncgen --help` and `asyncgen run` must neither need nor spend time importing.
        from asyncgen.report._command import main as report_main  # noqa: PLC0415
    except ImportError as exc:
        print(f"asyncgen report: {exc}", file=sys.stderr)
        return 2
    return report_main(argv, prog="asyncgen report")


def main(argv: list[str]) -> int:
    """Run the ``asyncgen`` command line; returns the exit status.

    Exit status 1 means INVALID, so nothing else may end in it: an error nothing below
    foresaw is still one line and exit status 2 (its traceback with ``-v``).
    """
    try:
        return _main(argv)
    except Exception as exc:
        if {"-v", "--verbose"} & set(argv):
            traceback.print_exc()
        print(
            f"asyncgen: error: {exc!r} (unexpected: please report it; -v shows the traceback)",
            file=sys.stderr,
        )
        return 2


def _main(argv: list[str]) -> int:
    if argv[:1] == ["report"]:
        return _report(argv[1:])
    parser, run_parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return _cli_run.run_command(run_parser, args)
    if args.command == "sweep":
        return _cli_sweep.sweep_command(args.sweep_parser, args)
    if args.command == "verify":
        return _verify_command(args.outdir)
    try:
        if args.command == "demo":
            return _demo(args)
    except AsyncgenError as exc:
        print(f"asyncgen: error: {exc}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse rejects unknown commands
