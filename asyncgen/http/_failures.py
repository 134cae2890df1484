"""How an HTTP sample can fail, and the per-kind counters an adapter keeps."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

FailureKind = Literal["connect", "timeout", "http_status", "malformed", "other"]
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)


class ResponseError(Exception):
    """A response that cannot complete its sample; ``kind`` says why (see ``FailureKind``)."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.detail = detail


@attrs.define
class FailureCounts:
    """Failed samples of one adapter, per kind.

    ``connect``: no connection, or it closed before any response; ``timeout``: no complete
    response within the adapter's ``timeout_s``; ``http_status``: the server answered with an
    error (a non-2xx status, or an error event inside a stream); ``malformed``: the response
    could not be read (bad HTTP framing, a body cut short, a stream that is not the expected
    shape); ``other``: anything else, e.g. a payload the adapter cannot send.
    """

    connect: int = 0
    timeout: int = 0
    http_status: int = 0
    malformed: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.connect + self.timeout + self.http_status + self.malformed + self.other

    def add(self, kind: FailureKind) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    def as_dict(self) -> dict[str, int]:
        """Every kind with its count, zeros included."""
        return {kind: getattr(self, kind) for kind in FAILURE_KINDS}
