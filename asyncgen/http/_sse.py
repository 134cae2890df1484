"""Server-sent events: the ``data`` of each event, from bytes in whatever pieces they arrive.

Follows the event-stream format: lines end with LF, CR LF or CR; a blank line ends an event;
``data:`` lines (one optional space after the colon) are joined with LF; comments (``:``) and
other fields (``event:``, ``id:``, ``retry:``) are skipped. A trailing event without its blank
line is dropped at the end of the stream, as the format says.

Linear in the stream's length however it is split: each piece is scanned once, and the pieces
of a line not yet ended are kept in a list and joined once, when the line ends (joining them
to each new piece would cost the square of a long line's length). One event may hold at most
``max_event_bytes``: past it, ``feed`` raises ``ResponseError("malformed", ...)`` rather than
keep growing.
"""

from __future__ import annotations

from asyncgen.http._failures import ResponseError

MAX_EVENT_BYTES = 16 << 20  # far above any token event; a cap on what one event may hold


class SSEDecoder:
    """Feed it bytes; it returns the data of each event that those bytes completed."""

    __slots__ = ("_data", "_data_bytes", "_held_cr", "_limit", "_open_bytes", "_parts")

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._limit = max_event_bytes
        self._parts: list[bytes] = []  # pieces of the line not yet ended
        self._open_bytes = 0  # their length
        self._data: list[bytes] = []  # data lines of the event being read
        self._data_bytes = 0  # their length
        self._held_cr = False  # the last piece ended with CR: maybe half of a CR LF

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._held_cr:
            chunk, self._held_cr = b"\r" + chunk, False
        if b"\r" in chunk:  # rare: servers send LF; normalise CR LF and CR to LF
            if chunk.endswith(b"\r"):  # keep it until the next piece says what it is
                chunk, self._held_cr = chunk[:-1], True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in chunk:
            self._hold(chunk)
            return []
        lines = chunk.split(b"\n")
        if self._parts:  # the first line began in earlier pieces: joined once, now
            self._parts.append(lines[0])
            lines[0] = b"".join(self._parts)
            self._parts.clear()
            self._open_bytes = 0
        tail = lines.pop()
        events = self._dispatch(lines)
        self._hold(tail)
        return events

    def _hold(self, piece: bytes) -> None:
        """Keep a piece of the line not yet ended."""
        if piece:
            self._open_bytes += len(piece)
            self._check_size()
            self._parts.append(piece)

    def _check_size(self) -> None:
        if self._data_bytes + self._open_bytes > self._limit:
            raise ResponseError(
                "malformed", f"a stream event is longer than {self._limit} bytes (max_event_bytes)"
            )

    def _dispatch(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
                    self._data_bytes = 0
            elif line.startswith(b"data:"):
                value = line[5:]
                value = value[1:] if value.startswith(b" ") else value
                self._data_bytes += len(value)
                self._check_size()
                data.append(value)
            # comments and other fields carry nothing an OpenAI-style stream needs
        return events
