"""What ``asyncgen run`` drives: the SUT and the QSL named on the command line.

``--sut`` is either a URL (served through an adapter from ``asyncgen.http``) or
``module:object`` — a SUT object, or a class or zero-argument factory (sync or async) that makes
one. ``--qsl`` is ``module:object`` in the same way; ``--dataset`` picks a dataset QSL from
``asyncgen.datasets`` by the file's type. Problems are ``ConfigError``s with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any

from asyncgen import datasets
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._errors import ConfigError, DatasetError
from asyncgen._plan.files import check_regular_file
from asyncgen._run.scale_out.factories import instantiate, load_object
from asyncgen.http import make_sut
from asyncgen.http._base import PooledSUT
from asyncgen.http._factory import AdapterKind
from asyncgen.http._pool import Origin
from asyncgen.simulated import SimulatedQSL

URL_SCHEMES = ("http://", "https://")
_URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
ADAPTERS = ("http", "openai")
JSON_LINES = (".jsonl", ".ndjson", ".json")
NUMPY = (".npy", ".npz")
CONNECT_TIMEOUT_S = 5.0


def is_url(target: str) -> bool:
    return target.lower().startswith(URL_SCHEMES)


def url_problem(target: str | None) -> str | None:
    """Why ``target`` cannot be a SUT URL, if it looks like a URL at all (``scheme://``)."""
    if target is None or not _URL_LIKE.match(target):
        return None
    if not is_url(target):
        scheme = target.split("://", 1)[0]
        return f"--sut {target}: asyncgen drives http:// and https:// servers, not {scheme}://"
    try:
        Origin.parse(target)
    except ValueError as exc:
        return f"--sut {target}: {exc}"
    return None


async def python_sut(spec: str) -> SystemUnderTest:
    sut: SystemUnderTest = await instantiate(
        load_object(spec, "--sut"), SystemUnderTest, "--sut", spec
    )
    check_name(sut, f"--sut {spec}")
    return sut


async def python_qsl(spec: str) -> QuerySampleLibrary:
    qsl: QuerySampleLibrary = await instantiate(
        load_object(spec, "--qsl"), QuerySampleLibrary, "--qsl", spec
    )
    check_name(qsl, f"--qsl {spec}")
    return qsl


def check_name(obj: object, what: str) -> None:
    """The banner and the logs read ``name``: one that raises or is no text is an error now."""
    try:
        name = obj.name  # type: ignore[attr-defined]
    except Exception as exc:
        raise ConfigError(f"{what}: reading its name raised {exc!r}") from exc
    if not isinstance(name, str):
        raise ConfigError(f"{what}: its name must be a str, not {type(name).__name__}")


def dataset_kind(path: Path) -> str:
    """Which ``asyncgen.datasets`` QSL reads ``path``: by folder, else by file name."""
    if path.is_dir():
        return "FolderQSL"
    try:
        check_regular_file(path)  # says what it is: missing, a loop, a FIFO, ...
    except DatasetError as exc:
        raise ConfigError(f"--dataset {exc}") from None
    if path.suffix.lower() in JSON_LINES:
        return "JsonLinesQSL"
    if path.suffix.lower() in NUMPY:
        return "NumpyQSL"
    kinds = ", ".join((*JSON_LINES, *NUMPY))
    raise ConfigError(
        f"--dataset {path}: cannot tell its type from the name; use a folder or a file "
        f"ending in {kinds}, or --qsl module:object"
    )


def dataset_qsl(
    path: Path, performance_sample_count: int | None, options: dict[str, Any] | None = None
) -> QuerySampleLibrary:
    """The dataset QSL for ``path`` (a folder, JSON Lines or a NumPy file); ``options`` go to
    its constructor."""
    kind = dataset_kind(path)
    cls = getattr(datasets, kind)
    try:
        qsl: QuerySampleLibrary = cls(
            path, performance_sample_count=performance_sample_count, **(options or {})
        )
    except TypeError as exc:
        raise ConfigError(f"--dataset-option for {kind}: {exc}") from exc
    except ConfigError:
        raise  # a DatasetError already names the file and line
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--dataset {path}: {exc}") from exc
    return qsl


def placeholder_qsl(sample_count: int, performance_sample_count: int | None) -> SimulatedQSL:
    """Samples with no data, for a Python SUT that makes its own inputs."""
    performance = performance_sample_count or sample_count
    return SimulatedQSL(
        name="asyncgen-indices",
        total_sample_count=sample_count,
        performance_sample_count=min(performance, sample_count),
    )


def parse_options(pairs: list[str], option: str = "--sut-option") -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse, else strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {pair!r}: expected key=value")
        try:
            options[key.strip()] = json.loads(raw, parse_constant=_not_a_constant)
        except json.JSONDecodeError:
            options[key.strip()] = raw
        except RecursionError:
            raise ConfigError(
                f"{option} {key.strip()}: the JSON value is nested too deeply"
            ) from None
    return options


def _not_a_constant(constant: str) -> Any:
    """``NaN`` and ``Infinity`` are no JSON: they are read as text (and refused as numbers)."""
    raise json.JSONDecodeError(f"{constant} is not JSON", constant, 0)


def http_sut(
    url: str, adapter: AdapterKind, source: QuerySampleLibrary, options: dict[str, Any]
) -> SystemUnderTest:
    """An adapter SUT from ``asyncgen.http`` sending ``source``'s payloads to ``url``."""
    if not callable(getattr(source, "payload", None)):
        raise ConfigError(
            f"--sut {url}: the QSL {source.name!r} has no payload(index); use --dataset, or a "
            "--qsl that implements asyncgen.http.PayloadSource"
        )
    try:
        return make_sut(adapter, url, source, **options)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--sut {url} --adapter {adapter}: {exc}") from exc


def connections_note(sut: SystemUnderTest) -> str | None:
    """How many connections an HTTP adapter may open, for the banner; None for other SUTs."""
    if not isinstance(sut, PooledSUT):
        return None
    if not sut.max_connections:
        return "connections: no limit (one per request in flight)"
    source = (
        "the default, from the open-file limit; -O max_connections=N to change"
        if sut.default_cap
        else "-O max_connections"
    )
    return (
        f"connections: at most {sut.max_connections:,} at once ({source}); "
        "more requests wait in order, and the wait counts in their latency"
    )


async def check_reachable(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Open and close one TCP connection to ``url``'s host, so a dead server fails fast."""
    try:
        origin = Origin.parse(url)
    except ValueError as exc:
        raise ConfigError(f"--sut {url}: {exc}") from None
    host, port = origin.host, origin.port
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ConfigError(f"cannot reach {host}:{port} ({url}): {reason}") from None
    writer.close()
    # The server may reset the idle connection; it answered, that is enough.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
