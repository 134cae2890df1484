"""``asyncgen run``: one test of a SUT from the command line, with live progress.

Exit status: 0 VALID, 1 INVALID, 2 error (bad arguments, config or settings errors, a server
that cannot be reached, a SUT or QSL that raised), 128 + the signal number when interrupted
(130 for Ctrl-C, 143 for SIGTERM) after the run has written its files.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import structlog
from rich.console import Console

from asyncgen._cli import data_options, scale_out, targets
from asyncgen._cli.interrupts import InterruptedRunError, run_on_loop
from asyncgen._cli.lifetime import Lifetimes
from asyncgen._cli.progress_view import ProgressView, ViewKind
from asyncgen._cli.result_table import render_result
from asyncgen._cli.settings import (
    Shortcuts,
    build_settings,
    describe,
    field_table,
    finite_float,
    parse_mode,
    parse_scenario,
)
from asyncgen._cli.slo_options import add_slo_options, slos_from_args
from asyncgen._cli.workload import (
    add_workload_options,
    check_samples,
    replays_trace_data,
    trace_qsl,
    workload_changes,
)
from asyncgen._config.settings import LogOutputSettings, LogSettings, TestSettings
from asyncgen._config.validate import most_planned_samples
from asyncgen._engine.clock import (
    DEFAULT_MODE,
    PACING_MODES,
    MonotonicClock,
    kernel_timers_available,
)
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._errors import AsyncgenError
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._run.result import TestResult
from asyncgen._run.runner import run_test

EXIT_VALID, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
LIVE_INTERVAL_S = 0.25
DESCRIPTION = "Run one test of a system under test and write the MLPerf LoadGen log files."
EPILOG = """\
settings are applied in this order: TestSettings defaults (or --config, after the MLPerf rules
in mlperf.conf), --mode, the shortcuts (--qps, --latency-ms, --duration-ms, --min-queries), the
workload options (--arrival, --concurrency, ...), then each --set in order.

exit status: 0 VALID, 1 INVALID, 2 error (arguments, config, unreachable server, SUT raised),
130 interrupted by Ctrl-C, 143 by SIGTERM (the logs written so far are complete and parse).

examples:
  asyncgen run -s Server --qps 200 --sut http://127.0.0.1:8000/predict --dataset inputs.jsonl
  asyncgen run -s Offline -c demo-offline --sut mypkg.model:make_sut --qsl mypkg.model:qsl
  asyncgen run -s Server -c user.conf --model resnet50 --sut mysut.py:sut --set min_query_count=500
Full reference: docs/cli.md.
"""

_T = TypeVar("_T")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``run`` to the ``asyncgen`` sub-command parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="run one test of a SUT (URL or module:object) and write the log files",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(parser)
    scale_out.add_options(parser)  # run only: a sweep's steps are single-process runs
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Every option of ``asyncgen run`` (``asyncgen sweep`` takes them too)."""
    _test_options(parser.add_argument_group("test"))
    add_workload_options(parser.add_argument_group("workload (Server scenario)"))
    _sut_options(parser.add_argument_group("system under test"))
    _sample_options(parser.add_argument_group("samples"))
    data_options.add_options(parser.add_argument_group("token-shaped data"))
    _output_options(parser.add_argument_group("output"))
    _submission_options(parser.add_argument_group("MLPerf submission"))
    add_slo_options(parser)


def _test_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "-s",
        "--scenario",
        type=_arg(parse_scenario),
        metavar="SCENARIO",
        help="SingleStream, MultiStream, Server or Offline (any case); required",
    )
    group.add_argument(
        "-m",
        "--mode",
        type=_arg(parse_mode),
        metavar="MODE",
        help="performance, accuracy, submission, find-peak (or a TestMode name); "
        "default: the config's mode, else performance",
    )
    group.add_argument(
        "-c",
        "--config",
        metavar="FILE|PRESET",
        help="a user.conf-style file, or a preset name from scenarios/ (e.g. demo-server); "
        "the MLPerf rules (mlperf.conf) are applied first",
    )
    group.add_argument(
        "--model",
        default="*",
        help="model name the config lines are matched against (default: '*', only the "
        "lines for every model)",
    )
    group.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a TestSettings field, e.g. --set server_target_latency_ns=20000000 "
        "(repeatable; --list-settings shows the keys)",
    )
    group.add_argument(
        "--qps",
        type=finite_number,
        metavar="QPS",
        help="target QPS: server_target_qps (Server) or offline_expected_qps (Offline)",
    )
    group.add_argument(
        "--latency-ms",
        type=finite_number,
        metavar="MS",
        help="latency in ms: the Server bound (server_target_latency_ns), or the expected "
        "latency of SingleStream/MultiStream",
    )
    group.add_argument("--duration-ms", type=int, metavar="MS", help="min_duration_ms")
    group.add_argument("--min-queries", type=int, metavar="N", help="min_query_count")
    group.add_argument(
        "--allow-failures",
        action="store_true",
        help="failed samples (refused connections, timeouts, HTTP errors, a SUT's "
        "sample.fail) are counted but do not make the run INVALID",
    )
    group.add_argument(
        "--audit-config",
        default="audit.config",
        metavar="FILE",
        help="audit.config applied over the settings if it exists, as LoadGen does "
        "(default: audit.config in the working directory); 'none' to ignore it",
    )
    group.add_argument("--list-settings", action="store_true", help="list the --set keys and exit")


def _sut_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--sut",
        metavar="URL|MODULE:OBJECT",
        help="an http(s):// server URL (with the endpoint's path for --adapter http) "
        "driven through --adapter, or module:object (also path/to/file.py:object) naming "
        "a SUT, or a class or zero-argument (async) factory that makes one; required",
    )
    group.add_argument(
        "--adapter",
        choices=targets.ADAPTERS,
        default="http",
        help="how a URL SUT speaks: http (one request per sample, the response body "
        "completes it; default) or openai (OpenAI-compatible completions, streamed; turns on "
        "use_token_latencies unless --set says otherwise)",
    )
    group.add_argument(
        "-O",
        "--sut-option",
        dest="sut_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the URL adapter (value parsed as JSON when it parses, else a "
        "string); repeatable",
    )


def _sample_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--dataset",
        type=Path,
        metavar="PATH",
        help="the samples: a .jsonl/.ndjson/.json file (one request body or prompt per "
        "line; records with 'conversations' (ShareGPT) or 'messages' (OpenAI chat): one "
        "request per conversation), a .npy file (one sample per row), a folder (one file per "
        "sample), or synthetic:isl=N,osl=N,... (prompts of drawn token lengths; --tokenizer)",
    )
    group.add_argument(
        "-D",
        "--dataset-option",
        dest="dataset_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the dataset QSL, e.g. request_path=/predict, prompt_field=text, "
        "as_json=true (value parsed as JSON when it parses); repeatable",
    )
    group.add_argument(
        "--qsl", metavar="MODULE:OBJECT", help="a QSL object, or a class or factory making one"
    )
    group.add_argument(
        "--samples",
        type=int,
        default=1024,
        metavar="N",
        help="without --dataset/--qsl: how many data-less samples a Python SUT gets (default 1024)",
    )
    group.add_argument(
        "--performance-sample-count",
        type=int,
        metavar="N",
        help="performance_sample_count of a --dataset or --samples QSL: how many samples are "
        "loaded for performance runs (default: all of them)",
    )


def _output_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "-o",
        "--outdir",
        type=_arg(_folder),
        default=Path("out/run"),
        help="folder for the log files (default out/run; created if missing)",
    )
    group.add_argument("--no-trace", action="store_true", help="do not write mlperf_log_trace.json")
    group.add_argument(
        "--pacing",
        choices=("auto", *PACING_MODES),
        default="auto",
        help="how Server arrivals are paced: precise (timer, then polling; a whole core), "
        "hrtimer (a kernel timer 30 us ahead, then a short spin; Linux; far less CPU), timer (loop "
        "timers only; ~1 ms lag). auto (default): hrtimer for a URL SUT where the kernel has "
        "it, else precise",
    )
    group.add_argument(
        "--progress",
        choices=("auto", "live", "plain", "off"),
        default="auto",
        help="live: a panel redrawn in place; plain: one line per interval; "
        "auto (default): live on a terminal, plain otherwise",
    )
    group.add_argument(
        "--progress-interval",
        type=finite_number,
        default=2.0,
        metavar="SECONDS",
        help="seconds between plain progress lines (default 2)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors; the exit status tells the verdict",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the framework's lifecycle events on stderr",
    )


def _submission_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--mlperf-files-only",
        action="store_true",
        help="write only the reference LoadGen's files: no mlperf_log_results.json (the "
        "MLPerf submission checker rejects other files; add --no-trace for a folder it accepts "
        "as it is)",
    )


def _arg(parse: Any) -> Any:
    """An argparse ``type`` whose ``ValueError`` message reaches the user as it is."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


finite_number = _arg(finite_float)  # the argparse type of every number option


def _folder(text: str) -> Path:
    if not text.strip():  # Path("") is the working directory: never what was meant
        raise ValueError("must name a folder; an empty one would be the working directory")
    return Path(text)


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Argument combinations argparse cannot express; exits 2 with usage on a problem."""
    if args.scenario is None:
        parser.error("the following arguments are required: -s/--scenario")
    if args.sut is None:
        parser.error("the following arguments are required: --sut")
    if args.dataset is not None and args.qsl is not None:
        parser.error("--dataset and --qsl are alternatives; give one")
    problem = targets.url_problem(args.sut)
    if problem is not None:
        parser.error(problem)
    no_samples = args.dataset is None and args.qsl is None and not replays_trace_data(args)
    if targets.is_url(args.sut) and no_samples:
        parser.error(f"--sut {args.sut} needs the samples to send: --dataset or --qsl")
    if args.sut_options and not targets.is_url(args.sut):
        parser.error("--sut-option applies to URL SUTs only")
    if args.dataset_options and args.dataset is None and not replays_trace_data(args):
        parser.error("--dataset-option needs --dataset")
    if args.performance_sample_count is not None and args.qsl is not None:
        parser.error("--performance-sample-count applies to --dataset and --samples, not --qsl")
    for name in ("samples", "performance_sample_count"):
        value, most = getattr(args, name), most_planned_samples()
        if value is not None and not 1 <= value <= most:
            parser.error(
                f"--{name.replace('_', '-')} must be from 1 to {most:,} (what this machine's "
                "memory holds in one run)"
            )
    if args.progress_interval <= 0:
        parser.error("--progress-interval must be positive")
    data_options.check_arguments(parser, args)


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``asyncgen run``; returns the exit status."""
    out: TextIO = sys.stdout
    if args.list_settings:
        for name, kind, default in field_table():
            print(f"{name:45} {kind:6} {default}", file=out)
        return 0
    check_arguments(parser, args)
    scale_out.check(parser, args)
    try:
        settings = settings_from_args(args)
        with _framework_logging(args.verbose):
            result = run_on_loop(_session(args, settings, out), args.outdir)
    except AsyncgenError as exc:
        return _error(exc)
    except InterruptedRunError as exc:
        print(
            f"asyncgen run: interrupted by {exc}; the log files so far are in {args.outdir}",
            file=sys.stderr,
        )
        return 128 + exc.signum
    except KeyboardInterrupt:  # Ctrl-C before our handler was in place
        return 128 + signal.SIGINT
    return EXIT_VALID if result.valid else EXIT_INVALID


def settings_from_args(args: argparse.Namespace) -> TestSettings:
    """The settings the options give (see ``build_settings`` for the order)."""
    return build_settings(
        scenario=args.scenario,
        mode=args.mode,
        config=args.config,
        model=args.model,
        shortcuts=Shortcuts(
            qps=args.qps,
            latency_ms=args.latency_ms,
            duration_ms=args.duration_ms,
            min_queries=args.min_queries,
            token_latencies=data_options.token_latencies(args),
        ),
        assignments=args.assignments,
        workload=workload_changes(args),
    )


def _error(exc: AsyncgenError, prog: str = "asyncgen run") -> int:
    message = str(exc)
    if exc.__cause__ is not None and str(exc.__cause__) not in message:
        message += f" ({exc.__cause__!r})"
    for note in getattr(exc, "__notes__", ()):  # e.g. a second log file that failed too
        message += f"\n  {note}"
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _clock(args: argparse.Namespace, workers: int = 1) -> MonotonicClock:
    """The pacing clock; a network SUT's own costs dwarf the last microseconds of precision."""
    mode = args.pacing
    if mode == "auto":
        is_url = bool(args.sut) and args.sut.startswith(("http://", "https://"))
        # workers: a busy core each for precise pacing would starve the driver and Ray
        low_cpu = is_url or workers > 1
        mode = "hrtimer" if low_cpu and kernel_timers_available() else DEFAULT_MODE
    return MonotonicClock(mode)


def _view_kind(args: argparse.Namespace, out: TextIO) -> ViewKind:
    if args.quiet or args.progress == "off":
        return "off"
    if args.progress == "auto":
        return "live" if out.isatty() else "plain"
    kind: ViewKind = args.progress
    return kind


async def _session(args: argparse.Namespace, settings: TestSettings, out: TextIO) -> TestResult:
    """Make the QSL and SUT, run the test with progress, print the result."""
    console = Console(file=out, highlight=False)
    lifetimes = Lifetimes(close_timeout_s=settings.drain_timeout_ms / 1000)
    async with AsyncExitStack() as stack:
        sut: Any
        qsl: Any
        if args.workers > 1:  # each worker makes its own SUT and QSL
            if targets.is_url(args.sut):
                await targets.check_reachable(args.sut)
            sut, qsl = scale_out.factories(args, settings)
            what = f"{args.workers} workers, each with SUT {args.sut}"
        else:
            sut, qsl = await open_targets(args, settings, stack, lifetimes)
            what = f"SUT {sut.name}, QSL {qsl.name} ({qsl.total_sample_count} samples)"
        if not args.quiet:
            console.print(
                f"asyncgen run: {describe(settings)}\n  {what}, logs in {args.outdir}",
                soft_wrap=True,
            )
            if (note := targets.connections_note(sut)) is not None:
                console.print(f"  {note}", soft_wrap=True)
        result = await run_one(
            args,
            settings,
            sut=sut,
            qsl=qsl,
            console=console,
            outdir=args.outdir,
            slos=slos_from_args(args),
            workers=args.workers,
            ray_address=args.ray_address,
        )
    if not args.quiet:
        render_result(console, result)
    lifetimes.raise_errors()  # the run is over and its files written: still an error
    return result


async def open_targets(
    args: argparse.Namespace,
    settings: TestSettings,
    stack: AsyncExitStack,
    lifetimes: Lifetimes,
) -> tuple[SystemUnderTest, QuerySampleLibrary]:
    """The SUT and QSL the options name for ``settings`` (a synthetic QSL's seed, a
    conversation QSL's multi-turn, a trace's records), entered on ``stack`` (closed when it
    closes, each close bounded by ``lifetimes``)."""
    qsl = await lifetimes.enter(stack, await _make_qsl(args, settings), _qsl_label(args))
    check_samples(args, settings, qsl)  # asyncgen._cli.workload: multi-turn needs chats
    sut = await lifetimes.enter(stack, await _make_sut(args, qsl), f"--sut {args.sut}")
    return sut, qsl


def _qsl_label(args: argparse.Namespace) -> str:
    if args.dataset is not None:
        return f"--dataset {args.dataset}"
    return f"--qsl {args.qsl}" if args.qsl is not None else "the QSL"


async def run_one(
    args: argparse.Namespace,
    settings: TestSettings,
    *,
    sut: SystemUnderTest | Any,
    qsl: QuerySampleLibrary | Any,
    console: Console,
    outdir: Path,
    slos: ServiceLevelObjectives | None,
    workers: int = 1,
    ray_address: str | None = None,
) -> TestResult:
    """One test of ``sut`` into ``outdir``, with the progress view the options ask for
    (``workers > 1``: ``sut`` and ``qsl`` are the workers' factories)."""
    out = cast(TextIO, console.file)
    kind = _view_kind(args, out)
    log = LogSettings(
        log_output=LogOutputSettings(outdir=str(outdir)),
        enable_trace=not args.no_trace,
        write_results_json=not args.mlperf_files_only,
    )
    audit = None if args.audit_config.lower() == "none" else args.audit_config
    pacing = contextlib.closing(_clock(args, workers))
    with ProgressView(kind, out, console) as view, pacing as clock:
        return await run_test(
            sut,
            qsl,
            settings,
            log_settings=log,
            audit_config=audit,
            progress=view,
            progress_interval_s=LIVE_INTERVAL_S if kind == "live" else args.progress_interval,
            fail_on_sample_errors=not args.allow_failures,
            clock=clock,
            slos=slos,
            export_requests=args.export_requests,
            workers=workers,
            ray_address=ray_address,
            _entry="cli",
        )


async def _make_qsl(args: argparse.Namespace, settings: TestSettings) -> QuerySampleLibrary:
    if args.dataset is not None:
        return data_options.dataset_qsl(args, settings)
    if replays_trace_data(args):
        return trace_qsl(args, settings)
    if args.qsl is not None:
        return await targets.python_qsl(args.qsl)
    return targets.placeholder_qsl(args.samples, args.performance_sample_count)


async def _make_sut(args: argparse.Namespace, qsl: QuerySampleLibrary) -> SystemUnderTest:
    if not targets.is_url(args.sut):
        return await targets.python_sut(args.sut)
    options = targets.parse_options(args.sut_options)
    sut: SystemUnderTest = targets.http_sut(args.sut, args.adapter, qsl, options)  # checks them
    await targets.check_reachable(args.sut)
    return sut


@contextlib.contextmanager
def _framework_logging(verbose: bool) -> Iterator[None]:
    """Lifecycle events go to stderr, and only with ``-v``: stdout is the CLI's own."""
    was_configured, saved = structlog.is_configured(), structlog.get_config()
    level = logging.INFO if verbose else logging.WARNING
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        if was_configured:
            structlog.configure(**saved)
        else:  # unconfigured again: a library's events go back to the stdlib logger
            structlog.reset_defaults()
