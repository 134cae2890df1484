"""The framework's lifecycle log: run started, audit config applied, run finished — never per query.

Events go through structlog. When the application has configured structlog they follow its
configuration; otherwise they go to the standard-library logger of the same name, which stays
silent below WARNING until the application configures logging. A library never prints to
stdout on its own, where harnesses write their own output.

structlog is imported only when an event is actually emitted: importing it pulls in rich and
pygments (about 10 MiB resident), which a run that logs nothing should not pay for.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


class LifecycleLog:
    """A logger whose destination is chosen at each event (apps may configure structlog late)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _target(self, level: int) -> Any:
        """The logger for one event at ``level``; None when nobody would see it."""
        configured = sys.modules.get("structlog")  # an app that configured it imported it
        if configured is not None and configured.is_configured():
            return configured.get_logger(self._name)
        stdlib = logging.getLogger(self._name)
        if not stdlib.isEnabledFor(level):
            return None
        import structlog  # noqa: PLC0415 - lazily, see the module docstring

        render = structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)
        return structlog.wrap_logger(
            stdlib,
            processors=[structlog.processors.add_log_level, render],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def info(self, event: str, **values: object) -> None:
        target = self._target(logging.INFO)
        if target is not None:
            target.info(event, **values)

    def warning(self, event: str, **values: object) -> None:
        target = self._target(logging.WARNING)
        if target is not None:
            target.warning(event, **values)

    def error(self, event: str, **values: object) -> None:
        target = self._target(logging.ERROR)
        if target is not None:
            target.error(event, **values)


def get_logger(name: str = "asyncgen") -> LifecycleLog:
    return LifecycleLog(name)
