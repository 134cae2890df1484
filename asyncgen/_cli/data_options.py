"""``asyncgen run``'s token-shaped data: ``--dataset synthetic:...``, conversation files,
``--tokenizer``, and the OpenAI adapter's choice of token mode.

``--dataset synthetic:isl=512,osl=128,...`` is a ``SyntheticQSL`` (it needs ``--tokenizer``);
a ``.json``/``.jsonl``/``.ndjson`` file whose records hold ``conversations`` (ShareGPT) or
``messages`` (OpenAI chat) is a ``ConversationQSL``; ``-D format=sharegpt|chat|requests``
overrides what the content says (``requests``: the ``JsonLinesQSL`` of request bodies).
Every other ``--dataset`` goes to ``targets.dataset_qsl`` as before. Synthetic draws are
seeded by the settings' ``qsl_rng_seed``: the same settings give the same prompts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TypeVar

from asyncgen._cli import targets
from asyncgen._config.settings import TestSettings
from asyncgen._engine.protocols import QuerySampleLibrary
from asyncgen._errors import ConfigError
from asyncgen.datasets import ConversationQSL, SyntheticQSL, Tokenizer
from asyncgen.datasets._conversations import record_format

SYNTHETIC = "synthetic:"
FORMATS = ("sharegpt", "chat", "requests")
_Q = TypeVar("_Q", SyntheticQSL, ConversationQSL)


def add_options(group: argparse._ArgumentGroup) -> None:
    """``--tokenizer``; ``--dataset`` itself is in the samples group."""
    group.add_argument(
        "--tokenizer",
        type=Path,
        metavar="PATH",
        help="a Hugging Face tokenizer.json (or a model folder holding one), read offline: "
        "prompts of exact token lengths for --dataset synthetic:..., max_tokens from the "
        "first answer of a conversation file, and input/output token counts in the results "
        "(needs pip install 'asyncgen[tokenizers]')",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits 2 with usage when ``--tokenizer`` has nothing to shape."""
    if args.tokenizer is not None and args.dataset is None and not _trace(args):
        parser.error("--tokenizer needs --dataset (synthetic:... or a conversation file)")


def token_latencies(args: argparse.Namespace) -> bool:
    """Token mode by default for the OpenAI adapter's generation APIs, not for embeddings."""
    if not (targets.is_url(args.sut) and args.adapter == "openai"):
        return False
    return _api(args) != "embeddings"


def dataset_qsl(args: argparse.Namespace, settings: TestSettings) -> QuerySampleLibrary:
    """The QSL ``--dataset`` names, with ``--tokenizer`` and the ``-D`` options."""
    spec = str(args.dataset)
    options = targets.parse_options(args.dataset_options, "--dataset-option")
    chosen = options.pop("format", None)
    tokenizer = Tokenizer.from_file(args.tokenizer) if args.tokenizer is not None else None
    count = args.performance_sample_count
    if spec.startswith(SYNTHETIC):
        if chosen is not None:
            raise ConfigError(f"-D format={chosen} applies to files, not {SYNTHETIC} data")
        if tokenizer is None:
            raise ConfigError(
                f"--dataset {spec}: synthetic prompts are made to exact token lengths, which "
                "needs the server's tokenizer: give --tokenizer PATH (its tokenizer.json)"
            )
        options.update(seed=settings.qsl_rng_seed, performance_sample_count=count)
        return _made(SyntheticQSL, tokenizer, spec.removeprefix(SYNTHETIC), **options)
    kind = _format(args.dataset, chosen)
    if kind == "requests":
        if tokenizer is not None:
            raise ConfigError(
                f"--tokenizer applies to synthetic: and conversation datasets, not {spec}"
            )
        return targets.dataset_qsl(args.dataset, count, options)
    options.update(tokenizer=tokenizer, performance_sample_count=count)
    options.setdefault("multi_turn", settings.server_multi_turn)  # every turn's max_tokens
    qsl = _made(ConversationQSL, args.dataset, **options)
    _check_conversations(args, qsl)
    return qsl


def _made(cls: type[_Q], *args: Any, **options: Any) -> _Q:
    try:
        return cls(*args, **options)
    except TypeError as exc:  # an unknown -D option
        raise ConfigError(f"--dataset-option for {cls.__name__}: {exc}") from exc


def _format(path: Path, chosen: object) -> str:
    """What a dataset file is: ``-D format=`` if given, else by its content."""
    if chosen is not None:
        if chosen not in FORMATS:
            raise ConfigError(f"-D format={chosen}: choose one of {', '.join(FORMATS)}")
        return str(chosen)
    if not path.is_file() or path.suffix.lower() not in targets.JSON_LINES:
        return "requests"
    return _sniff(path)


def _sniff(path: Path) -> str:
    """``sharegpt``/``chat`` by the first record's keys; a JSON array is a conversation file
    (the request-body reader takes one object per line); else ``requests``."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            first = next((line for line in file if line.strip()), "").strip()
    except OSError as exc:
        raise ConfigError(f"--dataset {path}: cannot read: {exc}") from exc
    if first.startswith("["):
        return "sharegpt"  # read_conversations tells the two apart record by record
    try:
        record = json.loads(first)
    except (ValueError, RecursionError):
        return "requests"  # JsonLinesQSL names the line that is not JSON (or too deep)
    return record_format(record) or "requests"


def _check_conversations(args: argparse.Namespace, qsl: ConversationQSL) -> None:
    """Conversations with a system text are chat messages: the OpenAI adapter needs api=chat.
    Says, unless ``--quiet``, how many records had no user turn."""
    if qsl.skipped and not args.quiet:
        print(
            f"asyncgen run: note: --dataset {args.dataset}: {qsl.skipped} records without a "
            "user turn were left out",
            file=sys.stderr,
        )
    system = qsl.with_system
    if system and targets.is_url(args.sut) and args.adapter == "openai" and _api(args) != "chat":
        raise ConfigError(
            f"--dataset {args.dataset}: {system} conversations have a system message, sent as "
            "chat messages: use -O api=chat"
        )


def _trace(args: argparse.Namespace) -> bool:
    """``--arrival trace:FILE``: its records can be the samples (made with ``--tokenizer``)."""
    arrival = getattr(args, "arrival", None)
    return arrival is not None and arrival[0] == "trace"


def _api(args: argparse.Namespace) -> str:
    """The OpenAI adapter's ``api`` option (default ``completions``)."""
    try:
        options = targets.parse_options(args.sut_options)
    except ConfigError:
        return "completions"  # the adapter reports the bad option itself
    return str(options.get("api", "completions"))
