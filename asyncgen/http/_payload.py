"""What one sample sends: ``Payload``, and the ``PayloadSource`` protocol QSLs offer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import attrs


def _no_line_breaks(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"Payload.{attribute.name} must not contain line breaks: {value!r}")


def _check_headers(_: object, __: attrs.Attribute[Any], value: dict[str, str]) -> None:
    """Refused here, when the payload is made, rather than failing every request later."""
    for name, text in value.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"Payload header name {name!r} is not an HTTP token")
        if not isinstance(text, str) or not _VALUE.fullmatch(text):
            raise ValueError(
                f"Payload header {name!r}: {text!r} is not a valid header value: printable "
                "ASCII only (encode other text first, e.g. percent-encoding or RFC 8187)"
            )


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x20-\x7e\t]*")  # visible ASCII, space and tab: no line breaks


@attrs.frozen
class Payload:
    """One HTTP request: ``method``, ``path`` (appended to the SUT's base URL), and a body —
    ``json`` (any JSON-ready value, sent as ``application/json``) or raw ``body`` bytes, not
    both — plus extra ``headers``.
    """

    method: str = attrs.field(default="POST", validator=_no_line_breaks)
    path: str = attrs.field(default="", validator=_no_line_breaks)
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict, validator=_check_headers)

    def __attrs_post_init__(self) -> None:
        if self.json is not None and self.body is not None:
            raise ValueError("a Payload has either json or body, not both")


@runtime_checkable
class PayloadSource(Protocol):
    """What the HTTP SUTs read their requests from: usually the QSL itself."""

    def payload(self, index: int) -> Payload: ...


@runtime_checkable
class ConversationSource(PayloadSource, Protocol):
    """A payload source of conversations, for multi-turn runs (``server_multi_turn``).

    ``turn_payload(index, turn, answers)`` is the request that asks user turn ``turn`` of
    conversation ``index``, after ``answers``: the SUT's real answers to the turns before it,
    in order. ``asyncgen.datasets.ConversationQSL`` is one.
    """

    def turn_payload(self, index: int, turn: int, answers: Sequence[str]) -> Payload: ...
