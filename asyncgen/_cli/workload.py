"""The ``asyncgen run`` options that shape a Server workload beyond the reference's Poisson:
arrival processes, trace replay, ramp-up, concurrency limits, closed-loop users and
multi-turn sessions (docs/workloads.md). Each sets a ``TestSettings`` field of the workload
block; ``workload_changes`` turns the parsed options into those fields.
"""

from __future__ import annotations

import argparse
from typing import Any

from asyncgen._cli import targets
from asyncgen._cli.progress_view import fmt_ms
from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.settings import ARRIVAL_KINDS, TestSettings
from asyncgen._engine.protocols import QuerySampleLibrary
from asyncgen._errors import ConfigError
from asyncgen._run.result import TestResult
from asyncgen.datasets import Tokenizer, TraceQSL

_PLAIN_ARRIVALS = tuple(kind for kind in ARRIVAL_KINDS if kind != "trace")
MAX_TURN_ROWS = 8  # turn numbers shown in the result table


def add_workload_options(group: argparse._ArgumentGroup) -> None:
    """The workload options, in their own ``--help`` group."""
    group.add_argument(
        "--arrival",
        type=parse_arrival,
        metavar="PROCESS",
        help="Server arrivals: poisson (default, the reference's), constant, gamma (see "
        '--burstiness) or trace:FILE (replay a JSON Lines trace of {"timestamp": ms, ...})',
    )
    group.add_argument(
        "--burstiness",
        type=float,
        metavar="B",
        help="shape of gamma inter-arrival times at the same mean rate: < 1 burstier, "
        "1 Poisson, > 1 smoother (implies --arrival gamma)",
    )
    group.add_argument(
        "--trace-speed",
        type=float,
        metavar="X",
        help="replay a trace X times faster (timestamps divided by X; default 1)",
    )
    group.add_argument(
        "--ramp-up-s",
        type=float,
        metavar="S",
        help="the arrival rate rises linearly from 0 to the target over the first S seconds",
    )
    group.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="at most N queries in flight: an arrival that would exceed it waits for a free "
        "slot, and the wait counts in its latency (reported as queueing time)",
    )
    group.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="instead of arrivals (--qps): N users in a closed loop, each sending its next "
        "request when its previous one ends",
    )
    group.add_argument(
        "--multi-turn",
        action="store_true",
        default=None,
        help="each sample is a conversation: its turns are sent one by one, each with the "
        "history so far and the server's real answers",
    )
    group.add_argument(
        "--think-time-ms",
        type=float,
        metavar="MS",
        help="with --multi-turn: the pause between an answer and the next user turn",
    )


def parse_arrival(text: str) -> tuple[str, str]:
    """``poisson``, ``constant``, ``gamma`` or ``trace:FILE`` as (kind, trace path)."""
    kind, sep, path = text.partition(":")
    kind = kind.strip().lower()
    if kind == "trace":
        if not sep or not path:
            raise argparse.ArgumentTypeError("--arrival trace needs a file: trace:FILE")
        return kind, path
    if kind in _PLAIN_ARRIVALS and not sep:
        return kind, ""
    choices = ", ".join([*_PLAIN_ARRIVALS, "trace:FILE"])
    raise argparse.ArgumentTypeError(f"unknown arrival process {text!r} (choose from {choices})")


def workload_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``TestSettings`` fields the workload options set; raises ``ConfigError`` on misuse."""
    changes: dict[str, Any] = {}
    kind, path = args.arrival if args.arrival is not None else (None, "")
    if args.burstiness is not None:
        if kind not in (None, "gamma"):
            raise ConfigError(f"--burstiness is the gamma shape: not with --arrival {kind}")
        kind = "gamma"
        changes["server_burstiness"] = args.burstiness
    if kind is not None:
        changes["server_arrival"] = kind
        changes["server_trace_path"] = path
    if args.trace_speed is not None:
        if kind != "trace":
            raise ConfigError("--trace-speed needs --arrival trace:FILE")
        changes["server_trace_speed"] = args.trace_speed
    if args.ramp_up_s is not None:
        if not args.ramp_up_s >= 0:
            raise ConfigError(f"--ramp-up-s must be 0 or more, got {args.ramp_up_s}")
        changes["server_ramp_up_ms"] = round(args.ramp_up_s * 1000)
    for option, field in (
        ("max_concurrency", "server_max_concurrency"),
        ("concurrency", "server_concurrency"),
    ):
        value = getattr(args, option)
        if value is not None:
            if value < 1:
                raise ConfigError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
            changes[field] = value
    if args.concurrency is not None and args.qps is not None:
        raise ConfigError("--concurrency is a closed loop: it replaces --qps, give one")
    if args.multi_turn:
        changes["server_multi_turn"] = True
    if args.think_time_ms is not None:
        changes["server_think_time_ms"] = args.think_time_ms
    return changes


def describe_workload(settings: TestSettings) -> list[str]:
    """Banner words for the workload options that are set (nothing for the defaults)."""
    parts: list[str] = []
    if settings.server_concurrency:
        parts.append(f"closed loop of {settings.server_concurrency} users")
    elif settings.server_arrival == "trace":
        speed = settings.server_trace_speed
        at = f" at {speed:g}x" if speed != 1 else ""
        parts.append(f"trace {settings.server_trace_path}{at}")
    elif settings.server_arrival == "gamma":
        parts.append(f"gamma arrivals (burstiness {settings.server_burstiness:g})")
    elif settings.server_arrival == "constant":
        parts.append("constant arrivals")
    if settings.server_ramp_up_ms:
        parts.append(f"ramp-up {settings.server_ramp_up_ms / 1000:g} s")
    if settings.server_max_concurrency:
        parts.append(f"at most {settings.server_max_concurrency} in flight")
    if settings.server_multi_turn:
        think = settings.server_think_time_ms
        parts.append("multi-turn" + (f", think time {think:g} ms" if think else ""))
    return parts


def load_label(eff: EffectiveSettings) -> str:
    """What the Server's completed-samples rate is compared with in the result table."""
    s = eff.requested
    if s.server_concurrency:
        return f"closed loop, {s.server_concurrency} users"
    if s.server_arrival == "trace":
        return "trace replay"
    return f"target {eff.target_qps:g} QPS"


def workload_rows(result: TestResult) -> list[tuple[str, str]]:
    """Result-table rows of the workload options: slot waits, and TTFT (or latency) by turn."""
    rows: list[tuple[str, str]] = []
    wait = result.queue_wait
    if wait is not None:
        p = wait.percentiles_ns
        rows.append(
            (
                "queueing",
                f"{wait.waited:,} of {wait.count:,} waited for a slot: p50 {fmt_ms(p[0.5])}  "
                f"p99 {fmt_ms(p[0.99])}  max {fmt_ms(wait.max_ns)}",
            )
        )
    for turn in result.turns[:MAX_TURN_ROWS]:
        label, values = "latency", turn.latency_ns
        if turn.first_token_ns is not None:
            label, values = "TTFT", turn.first_token_ns
        spread = f"p50 {fmt_ms(values[0.5])}  p99 {fmt_ms(values[0.99])}"
        rows.append((f"turn {turn.turn + 1}", f"{turn.count:,} done, {label} {spread}"))
    if len(result.turns) > MAX_TURN_ROWS:
        rows.append(("turns", f"{len(result.turns)} in all: every one in results.json"))
    return rows


def replays_trace_data(args: argparse.Namespace) -> bool:
    """``--arrival trace:FILE`` with neither ``--dataset`` nor ``--qsl``, for a URL SUT or with
    ``--tokenizer``: the trace's own records are the samples (``TraceQSL``)."""
    replaying = args.arrival is not None and args.arrival[0] == "trace"
    no_samples = args.dataset is None and args.qsl is None
    return replaying and no_samples and (targets.is_url(args.sut) or args.tokenizer is not None)


def trace_qsl(args: argparse.Namespace, settings: TestSettings) -> QuerySampleLibrary:
    """The trace's records as samples: prompts made from their lengths and hash ids."""
    path = args.arrival[1]
    if args.tokenizer is None:
        raise ConfigError(
            f"--arrival trace:{path} without --dataset: each request is made from its "
            "record's input_length and hash_ids, which needs the server's tokenizer: give "
            "--tokenizer PATH (or the prompts with --dataset)"
        )
    options = targets.parse_options(args.dataset_options, "--dataset-option")
    options.setdefault("seed", settings.qsl_rng_seed)
    tokenizer = Tokenizer.from_file(args.tokenizer)
    try:
        return TraceQSL(
            path, tokenizer, performance_sample_count=args.performance_sample_count, **options
        )
    except TypeError as exc:  # an unknown -D option
        raise ConfigError(f"--dataset-option for TraceQSL: {exc}") from exc


def check_samples(
    args: argparse.Namespace, settings: TestSettings, qsl: QuerySampleLibrary
) -> None:
    """A multi-turn run needs conversations, and the OpenAI adapter their chat API."""
    if not settings.server_multi_turn:
        return
    if not callable(getattr(qsl, "turn_count", None)):
        raise ConfigError(
            f"--multi-turn needs conversations: a ShareGPT or OpenAI chat --dataset (or a "
            f"--qsl with turn_count), not {qsl.name}"
        )
    if targets.is_url(args.sut) and args.adapter == "openai":
        api = targets.parse_options(args.sut_options).get("api", "completions")
        if api != "chat":
            raise ConfigError("--multi-turn sends chat messages: use -O api=chat")
