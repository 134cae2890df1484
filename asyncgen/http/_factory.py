"""``make_sut``: an HTTP SUT by adapter name, for command lines and config files."""

from __future__ import annotations

import inspect
from typing import Any, Literal

from asyncgen.http._http_sut import HttpSUT
from asyncgen.http._openai import OpenAISUT
from asyncgen.http._payload import PayloadSource

AdapterKind = Literal["http", "openai"]
ADAPTERS: dict[str, type[HttpSUT] | type[OpenAISUT]] = {"http": HttpSUT, "openai": OpenAISUT}


def make_sut(
    kind: AdapterKind, base_url: str, source: PayloadSource, **options: Any
) -> HttpSUT | OpenAISUT:
    """``HttpSUT`` for ``"http"``, ``OpenAISUT`` for ``"openai"``; ``options`` go to it."""
    try:
        adapter = ADAPTERS[kind]
    except KeyError:
        known = ", ".join(repr(k) for k in ADAPTERS)
        raise ValueError(f"unknown adapter {kind!r}: choose one of {known}") from None
    accepted = _options_of(adapter)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"{adapter.__name__} has no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(accepted)}"
        )
    return adapter(base_url, source, **options)


def _options_of(adapter: type[HttpSUT] | type[OpenAISUT]) -> list[str]:
    """The keyword options of an adapter's constructor (after the URL and the source)."""
    parameters = inspect.signature(adapter).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
