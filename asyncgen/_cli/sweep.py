"""``asyncgen sweep``: full runs at rising load, and the highest rate that met the SLOs.

It takes every option of ``asyncgen run`` plus ``--rates 50,100,...``, ``--rates auto`` or
``--concurrencies 1,2,4,...`` (the steps are chosen by ``asyncgen._run.sweep``). The SUT and
QSL are made once; each step is a whole run in its own subfolder of ``-o DIR`` with all the
usual files, and ``DIR/sweep.json`` is rewritten after every step.

Exit status: 0 when some step met the SLOs, 1 when none did, 2 on errors, 128 + the signal
number when interrupted (the finished steps are in sweep.json).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import attrs
from rich.console import Console

from asyncgen._cli import run as run_cli
from asyncgen._cli.interrupts import InterruptedRunError, run_on_loop
from asyncgen._cli.lifetime import Lifetimes
from asyncgen._cli.slo_options import bounded, slos_from_args
from asyncgen._cli.sweep_table import render_sweep, step_line
from asyncgen._cli.targets import connections_note
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._config.settings import TestSettings
from asyncgen._config.validate import validate_settings
from asyncgen._errors import AsyncgenError, ConfigError, OutputError
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._run import sweep
from asyncgen._run.result import TestResult

EXIT_MET, EXIT_NONE_MET, EXIT_ERROR = 0, 1, 2
# what an arrival process is made of: nothing of it applies to a closed loop or to Offline
ARRIVAL_FIELDS = (
    "server_arrival",
    "server_burstiness",
    "server_ramp_up_ms",
    "server_max_concurrency",
)
SWEEP_FILE = "sweep.json"
DESCRIPTION = "Run a test at rising load and find the highest rate that meets the SLOs."
EPILOG = """\
the steps: --rates 50,100,200 (Poisson rates, requests/s, ascending), --rates auto (an
unthrottled Offline step, or with --concurrency N or --max-concurrency N a closed loop of N
users, measures the saturation throughput R, then rates R*i/K for i = 1..K, then bisection on
the SLO verdict), or --concurrencies 1,2,4 (closed loops). Every step is a full run in
DIR/NN-rate-R/; DIR/sweep.json has the steps, best_rate and best_concurrency. Without --slo a
step passes when the run meets LoadGen's own latency bound (as FindPeakPerformance judges).
With --multi-turn a rate is conversations started per second. A trace replay (--arrival
trace:FILE) has its own times, and --rates auto cannot scale a multi-turn rate: both refused.

exit status: 0 some step met the SLOs, 1 none did, 2 error, 130/143 interrupted.

examples:
  asyncgen sweep --sut http://127.0.0.1:8000 --adapter openai --dataset prompts.jsonl \\
      --rates 2,4,8,16 --slo ttft_ms=200 --slo tpot_ms=50 --duration-ms 30000 -o out/sweep
  asyncgen sweep --sut http://127.0.0.1:8000 --adapter openai --dataset prompts.jsonl \\
      --rates auto --slo e2e_ms=2000 -o out/sweep
Full reference: docs/sweeps.md.
"""


def _number_list(kind: type[float] | type[int]) -> Any:
    def parse(text: str) -> list[float] | list[int]:
        try:
            values = [kind(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected numbers separated by commas, e.g. 1,2,4"
            ) from None
        if not values or any(v <= 0 for v in values):
            raise argparse.ArgumentTypeError(f"{text!r}: expected positive numbers")
        return values

    return parse


def _rates(text: str) -> list[float] | str:
    if text.strip().lower() == "auto":
        return "auto"
    parsed: list[float] = _number_list(float)(text)
    return parsed


_fraction = bounded(float, lambda v: 0 <= v < 1, "give a fraction from 0 to below 1")
_count = bounded(int, lambda v: v >= 0, "must not be negative")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``sweep`` to the ``asyncgen`` sub-command parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "sweep",
        help="run a SUT at rising load (rates or concurrencies) and find the highest rate "
        "that meets the SLOs",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_cli.add_run_options(parser)
    parser.set_defaults(outdir=Path("out/sweep"), sweep_parser=parser)
    for action in parser._actions:
        if action.dest == "outdir":
            action.help = "sweep.json and one subfolder per step (default out/sweep)"
    group = parser.add_argument_group("sweep")
    steps = group.add_mutually_exclusive_group()
    steps.add_argument(
        "--rates",
        type=_rates,
        metavar="R1,R2,...|auto",
        help="Poisson rates in requests/s, one step each (run in ascending order), or auto",
    )
    steps.add_argument(
        "--concurrencies",
        type=_number_list(int),
        metavar="N1,N2,...",
        help="closed-loop steps with N requests in flight each",
    )
    group.add_argument(
        "--stop-below",
        type=_fraction,
        default=sweep.DEFAULT_STOP_BELOW,
        metavar="FRACTION",
        help="stop after a step whose achieved rate is below FRACTION of its scheduled rate: "
        f"clearly past saturation (default {sweep.DEFAULT_STOP_BELOW}; 0: never stop)",
    )
    group.add_argument(
        "--auto-steps",
        type=_count,
        default=sweep.DEFAULT_AUTO_STEPS,
        metavar="K",
        help=f"--rates auto: rates spread up to the saturation rate (default "
        f"{sweep.DEFAULT_AUTO_STEPS})",
    )
    group.add_argument(
        "--bisect-steps",
        type=_count,
        default=sweep.DEFAULT_BISECT_STEPS,
        metavar="B",
        help=f"--rates auto: bisection steps after them at most (default "
        f"{sweep.DEFAULT_BISECT_STEPS})",
    )
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.rates is None and args.concurrencies is None:
        parser.error("give the steps: --rates R1,R2,..., --rates auto or --concurrencies N1,...")
    if args.scenario is None:
        args.scenario = TestScenario.Server
    if args.scenario is not TestScenario.Server:
        parser.error("a sweep runs Server steps: leave out --scenario or give Server")
    if args.mode not in (None, TestMode.PerformanceOnly):
        parser.error("a sweep runs performance steps: leave out --mode")
    if args.qps is not None:
        parser.error("a sweep sets the rate of each step: leave out --qps")
    if args.auto_steps < 1:
        parser.error("--auto-steps must be at least 1")
    if args.concurrency is not None and args.rates != "auto":
        parser.error(
            "--concurrency N in a sweep sets the saturation step of --rates auto (a closed "
            "loop of N users); use --concurrencies for a sweep of closed loops"
        )
    run_cli.check_arguments(parser, args)


def sweep_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``asyncgen sweep``; returns the exit status."""
    if args.list_settings:
        return run_cli.run_command(parser, args)
    _check(parser, args)
    out: TextIO = sys.stdout
    try:
        # a config file may name another mode: every step is a performance run
        settings = attrs.evolve(run_cli.settings_from_args(args), mode=TestMode.PerformanceOnly)
        check_steps(args, settings)
        with run_cli._framework_logging(args.verbose):
            outcome = run_on_loop(_sweep(args, settings, out), args.outdir)
    except AsyncgenError as exc:
        return run_cli._error(exc, "asyncgen sweep")
    except InterruptedRunError as exc:
        print(
            f"asyncgen sweep: interrupted by {exc}; the finished steps are in "
            f"{args.outdir / SWEEP_FILE}",
            file=sys.stderr,
        )
        return 128 + exc.signum
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    met = outcome.best_rate is not None or outcome.best_concurrency is not None
    return EXIT_MET if met else EXIT_NONE_MET


def check_steps(args: argparse.Namespace, settings: TestSettings) -> None:
    """Refuse, before any step runs, a workload the steps cannot vary and settings one of
    its steps could not run with (``ConfigError``/``SettingsError``, exit 2)."""
    if settings.server_arrival == "trace":
        raise ConfigError(
            "a sweep sets each step's rate, and a trace replay (--arrival trace:FILE) keeps "
            "the trace's own times: replay it with asyncgen run (--trace-speed to scale it)"
        )
    if settings.server_multi_turn and args.rates == "auto":
        raise ConfigError(
            "--rates auto with --multi-turn: the saturation step measures requests (turns) "
            "per second, and a multi-turn rate is conversations started per second; give "
            "--rates R1,R2,... (conversations/s) or --concurrencies N1,N2,..."
        )
    if args.concurrencies is not None:
        specs = [sweep.StepSpec("concurrency", float(min(args.concurrencies)))]
    elif args.rates == "auto":
        specs = [sweep.StepSpec("saturation"), sweep.StepSpec("rate", 1.0)]
    else:
        specs = [sweep.StepSpec("rate", min(args.rates))]
    for spec in specs:
        validate_settings(step_settings(settings, spec))


def step_settings(settings: TestSettings, spec: sweep.StepSpec) -> TestSettings:
    """A step's settings: a closed loop of N users for a concurrency step; for the saturation
    step a closed loop of the --concurrency N users, or of the --max-concurrency N slots, else
    every sample at once (LoadGen's Offline), with no arrival process either way; Poisson
    arrivals (or the --arrival process) for a rate."""
    if spec.kind == "saturation":
        unpaced = {name: getattr(_DEFAULTS, name) for name in ARRIVAL_FIELDS}
        users = settings.server_concurrency or settings.server_max_concurrency
        if users:
            return attrs.evolve(settings, **unpaced, server_concurrency=users)
        return attrs.evolve(settings, **unpaced, scenario=TestScenario.Offline)
    assert spec.value is not None
    if spec.kind == "concurrency":
        return attrs.evolve(settings, server_concurrency=int(spec.value))
    return attrs.evolve(settings, server_target_qps=spec.value, server_concurrency=0)


_DEFAULTS = TestSettings()


class _Sweep:
    """Runs the steps of one sweep on one SUT and QSL, and keeps ``sweep.json`` current."""

    def __init__(
        self,
        args: argparse.Namespace,
        settings: TestSettings,
        console: Console,
        slos: ServiceLevelObjectives | None,
    ) -> None:
        self.args, self.settings, self.console, self.slos = args, settings, console, slos
        self.steps: list[sweep.SweepStep] = []
        self.targets: tuple[Any, Any] | None = None

    async def run_step(self, spec: sweep.StepSpec) -> sweep.SweepStep:
        assert self.targets is not None
        sut, qsl = self.targets
        name = f"{len(self.steps):02d}-{spec.label}"
        outdir = Path(self.args.outdir) / name
        what = _describe(spec, self.settings)
        self.say(f"[bold]step {len(self.steps) + 1}[/]: {what} -> {outdir}")
        # every step is judged, so goodput and achieved rates exist even without --slo
        slos = self.slos or ServiceLevelObjectives(percentile=self.args.slo_percentile)
        result: TestResult = await run_cli.run_one(
            self.args,
            step_settings(self.settings, spec),
            sut=sut,
            qsl=qsl,
            console=self.console,
            outdir=outdir,
            slos=slos,
        )
        step = sweep.step_of(spec, result, name, judge_slos=self.slos is not None)
        self.steps.append(step)
        self.say("  " + step_line(step))
        self.write(sweep.SweepOutcome(steps=tuple(self.steps)))
        return step

    def say(self, text: str) -> None:
        if not self.args.quiet:
            self.console.print(text, soft_wrap=True, highlight=False)

    def write(self, outcome: sweep.SweepOutcome) -> None:
        document = sweep.sweep_document(
            outcome,
            slos=None if self.slos is None else self.slos.limits_ms(),
            slo_percentile=self.args.slo_percentile,
            stop_below=self.args.stop_below,
        )
        path = Path(self.args.outdir) / SWEEP_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


async def _sweep(
    args: argparse.Namespace, settings: TestSettings, out: TextIO
) -> sweep.SweepOutcome:
    console = Console(file=out, highlight=False)
    driver = _Sweep(args, settings, console, slos_from_args(args))
    lifetimes = Lifetimes(close_timeout_s=settings.drain_timeout_ms / 1000)
    async with AsyncExitStack() as stack:
        driver.targets = await run_cli.open_targets(args, settings, stack, lifetimes)
        sut, qsl = driver.targets
        driver.say(
            f"asyncgen sweep: {_plan_text(args)}, SUT {sut.name}, QSL {qsl.name}, "
            f"folders in {args.outdir}"
        )
        if (note := connections_note(sut)) is not None:
            driver.say(f"  {note}")
        if args.rates == "auto":
            outcome = await sweep.sweep_auto(
                driver.run_step,
                steps=args.auto_steps,
                bisect_steps=args.bisect_steps,
                stop_below=args.stop_below,
            )
        elif args.concurrencies is not None:
            outcome = await sweep.sweep_concurrencies(
                args.concurrencies, driver.run_step, stop_below=args.stop_below
            )
        else:
            outcome = await sweep.sweep_rates(
                args.rates, driver.run_step, stop_below=args.stop_below
            )
    driver.write(outcome)
    if not args.quiet:
        render_sweep(console, outcome, driver.slos)
    lifetimes.raise_errors()  # the sweep is over and its files written: still an error
    return outcome


def _plan_text(args: argparse.Namespace) -> str:
    if args.concurrencies is not None:
        return "concurrencies " + ", ".join(str(n) for n in sorted(set(args.concurrencies)))
    if args.rates == "auto":
        return (
            f"rates auto (saturation step, {args.auto_steps} rates, up to "
            f"{args.bisect_steps} bisection steps)"
        )
    return "rates " + ", ".join(f"{r:g}" for r in sorted(set(args.rates)))


def _describe(spec: sweep.StepSpec, settings: TestSettings) -> str:
    users = settings.server_concurrency or settings.server_max_concurrency
    if spec.kind == "saturation" and users:
        return f"saturation (a closed loop of {users} users)"
    if spec.kind == "saturation":
        return "saturation (unthrottled: every sample at once)"
    if spec.kind == "concurrency":
        return f"{spec.value:g} requests in flight"
    return f"{spec.value:g} requests/s"
