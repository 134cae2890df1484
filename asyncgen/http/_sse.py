"""Server-sent events: the ``data`` of each event, from bytes in whatever pieces they arrive.

Follows the event-stream format: lines end with LF, CR LF or CR; a blank line ends an event;
``data:`` lines (one optional space after the colon) are joined with LF; comments (``:``) and
other fields (``event:``, ``id:``, ``retry:``) are skipped. A trailing event without its blank
line is dropped at the end of the stream, as the format says.
"""

from __future__ import annotations


class SSEDecoder:
    """Feed it bytes; it returns the data of each event that those bytes completed."""

    __slots__ = ("_data", "_tail")

    def __init__(self) -> None:
        self._tail = b""  # an incomplete line
        self._data: list[bytes] = []  # data lines of the event being read

    def feed(self, chunk: bytes) -> list[bytes]:
        buffer = self._tail + chunk if self._tail else chunk
        held_cr = False
        if b"\r" in buffer:  # rare: servers send LF; normalise CR LF and CR to LF
            held_cr = buffer.endswith(b"\r")  # maybe half of a CR LF: keep it for later
            if held_cr:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        tail = lines.pop()
        self._tail = tail + b"\r" if held_cr else tail
        return self._dispatch(lines)

    def _dispatch(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            # comments and other fields carry nothing an OpenAI-style stream needs
        return events
