"""The framework's lifecycle log: run started, audit config applied, run finished — never per query.

Events go through structlog. When the application has configured structlog they follow its
configuration; otherwise they go to the standard-library logger of the same name, which stays
silent below WARNING until the application configures logging. A library never prints to
stdout on its own, where harnesses write their own output.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

_RENDER = structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)


class LifecycleLog:
    """A logger whose destination is chosen at each event (apps may configure structlog late)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _target(self) -> Any:
        if structlog.is_configured():
            return structlog.get_logger(self._name)
        return structlog.wrap_logger(
            logging.getLogger(self._name),
            processors=[structlog.processors.add_log_level, _RENDER],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def info(self, event: str, **values: object) -> None:
        self._target().info(event, **values)

    def warning(self, event: str, **values: object) -> None:
        self._target().warning(event, **values)

    def error(self, event: str, **values: object) -> None:
        self._target().error(event, **values)


def get_logger(name: str = "asyncgen") -> LifecycleLog:
    return LifecycleLog(name)
