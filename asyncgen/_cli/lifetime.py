"""The SUT's and QSL's lifetime around ``asyncgen run``: entered before, closed after.

An object with ``__aenter__``/``__aexit__`` is entered for the run, one with ``aclose()`` is
closed after it. Entering that raises is an error naming the object (exit 2). Closing is
bounded by the drain deadline, like every wait of a run: a close that never returns is left
behind with a warning, so the result table and the exit status still come; a close that
raises is an error naming the object, after the table (or a note on the run's own error).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, TypeVar

import anyio

from asyncgen._engine.interrupt import is_interrupt
from asyncgen._errors import ConfigError

_T = TypeVar("_T")
Exit = Callable[[type[BaseException] | None, BaseException | None, TracebackType | None], Any]


class Lifetimes:
    """Enters objects onto an ``AsyncExitStack`` and closes them within ``close_timeout_s``;
    ``errors`` holds what their closing raised when the run itself did not fail."""

    def __init__(self, close_timeout_s: float) -> None:
        self.close_timeout_s = close_timeout_s
        self.errors: list[str] = []

    async def enter(self, stack: AsyncExitStack, obj: _T, what: str) -> _T:
        """Enter ``obj`` (``what`` names it in messages) and have the stack close it."""
        aenter, aexit = getattr(obj, "__aenter__", None), getattr(obj, "__aexit__", None)
        if aenter is not None and aexit is not None:
            try:
                await aenter()
            except BaseException as exc:
                if is_interrupt(exc):
                    raise
                raise ConfigError(f"{what}: entering it (__aenter__) raised {exc!r}") from exc
            stack.push_async_exit(functools.partial(self._exit, aexit, what))
        elif callable(aclose := getattr(obj, "aclose", None)):
            stack.push_async_exit(functools.partial(self._exit, _ignoring_exc(aclose), what))
        return obj

    def raise_errors(self) -> None:
        """Raise what closing raised, once the run is over (``ConfigError``: exit 2)."""
        if self.errors:
            raise ConfigError("; ".join(self.errors))

    async def _exit(
        self,
        close: Exit,
        what: str,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        with anyio.move_on_after(self.close_timeout_s) as scope:
            try:
                await close(exc_type, exc, tb)
            except BaseException as error:
                if is_interrupt(error):
                    raise
                message = f"{what}: closing it raised {error!r}"
                if exc is None:
                    self.errors.append(message)
                else:  # the run's own error is the one to report
                    exc.add_note(f"also: {message}")
        if scope.cancelled_caught:
            print(
                f"asyncgen run: warning: {what}: closing it did not finish within "
                f"{self.close_timeout_s:g} s (the drain deadline); left behind",
                file=sys.stderr,
                flush=True,
            )
        return False  # never swallows the run's own error


def _ignoring_exc(aclose: Callable[[], Awaitable[object]]) -> Exit:
    async def close(*_: object) -> None:
        await aclose()

    return close
