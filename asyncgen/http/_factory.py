"""``make_sut``: an HTTP SUT by adapter name, for command lines and config files."""

from __future__ import annotations

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
    return adapter(base_url, source, **options)
