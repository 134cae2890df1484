"""``EventLog``: where the engine reports what happened, without knowing the log files.

The run's ``LogWriter`` (``asyncgen._output.writer``) satisfies it: an ``error`` or ``warning``
is a detail-log entry that the summary counts, a ``detail`` a plain entry. The engine sits below
the output layer, so it talks to this protocol rather than to the writer.
"""

from __future__ import annotations

from typing import Protocol


class EventLog(Protocol):
    """Detail-log entries: errors and warnings are counted for the summary."""

    def detail(self, key: str, value: object) -> None:
        """One entry, ``key`` with ``value``."""
        ...

    def error(self, key: str, message: str) -> None:
        """An error entry (``error_runtime``, ``error_invalid_config``, ...)."""
        ...

    def warning(self, message: str) -> None:
        """A warning entry."""
        ...
