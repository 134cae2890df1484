"""``asyncgen run --workers N [--ray-address ADDRESS]``: one test across N worker processes.

Each worker makes its own SUT and QSL from what the command line names, so nothing here makes
them: a URL SUT becomes a factory of the same adapter (given the worker's own dataset QSL,
whose payloads it sends), ``module:object`` stays a name the worker imports, and a dataset or
the data-less samples become factories of the same QSL. See docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from asyncgen._cli import data_options, targets, workload
from asyncgen._config.settings import TestSettings
from asyncgen._run.scale_out.factories import WithQSL


def add_options(parser: argparse.ArgumentParser) -> None:
    """The scale-out argument group of ``asyncgen run``."""
    group = parser.add_argument_group("scale-out (docs/scale-out.md)")
    group.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run the test on N worker processes on Ray (Server, Offline; needs the ray "
        "extra); each makes its own SUT and QSL; default 1: this process, no Ray",
    )
    group.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join the Ray cluster at ADDRESS (e.g. 10.0.0.5:6379 or auto) instead of "
        "starting one on this machine",
    )


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Scale-out argument errors (exit 2 with usage)."""
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.ray_address is not None and args.workers == 1:
        parser.error("--ray-address needs --workers 2 or more")


def factories(args: argparse.Namespace, settings: TestSettings) -> tuple[object, object]:
    """(sut, qsl) factories each worker calls, from the command line's targets."""
    if args.dataset is not None:
        qsl: object = functools.partial(data_options.dataset_qsl, _portable(args), settings)
    elif workload.replays_trace_data(args):  # the trace's own records, read on each worker
        qsl = functools.partial(workload.trace_qsl, _portable(args), settings)
    elif args.qsl is not None:
        qsl = args.qsl
    else:
        qsl = functools.partial(
            targets.placeholder_qsl, args.samples, args.performance_sample_count
        )
    if targets.is_url(args.sut):
        options = targets.parse_options(args.sut_options)
        sut: object = WithQSL(
            functools.partial(targets.http_sut, args.sut, args.adapter, options=options)
        )
    else:
        sut = args.sut
    return sut, qsl


def _portable(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments with their files as absolute paths: a worker may start elsewhere."""
    copy = argparse.Namespace(**vars(args))
    if isinstance(args.dataset, Path) and args.dataset.exists():
        copy.dataset = args.dataset.resolve()
    if isinstance(args.tokenizer, Path):
        copy.tokenizer = args.tokenizer.resolve()
    if args.arrival is not None and args.arrival[1]:  # --arrival trace:FILE
        copy.arrival = (args.arrival[0], str(Path(args.arrival[1]).resolve()))
    return copy
