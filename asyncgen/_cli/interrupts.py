"""``asyncgen run`` and signals: the first SIGINT or SIGTERM stops the run, a second one at once.

The handlers are the interpreter's own (``signal.signal``), not the event loop's: they run as
soon as the main thread runs Python again, even while a SUT blocks the loop with a synchronous
call. The first queues the cancellation of the run right then (``call_soon_threadsafe``), so it
reaches the run at the next point the loop turns, ahead of the shaper's next step, and the run
still writes complete files. The second exits at once with ``128 + signum``, leaving the files
as they are: incomplete, as after SIGKILL, which ``asyncgen verify`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from asyncgen._run.runner import uvloop_factory

_T = TypeVar("_T")


class InterruptedRunError(Exception):
    """SIGINT or SIGTERM stopped the run; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_on_loop(session: Awaitable[_T], outdir: Path) -> _T:
    """Run ``session`` on a fresh uvloop loop; SIGINT/SIGTERM end it as ``InterruptedRunError``."""
    with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
        return runner.run(_interruptible(session, outdir))


async def _interruptible(session: Awaitable[_T], outdir: Path) -> _T:
    """Await ``session`` under the handlers of the module's docstring."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(session)
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if received:
            _exit_at_once(signum, outdir)
        received.append(signum)
        loop.call_soon_threadsafe(task.cancel)
        _say(f"asyncgen run: {signal.Signals(signum).name}: stopping; once more to stop at once")

    with _signal_handlers((signal.SIGINT, signal.SIGTERM), on_signal):
        try:
            return await task
        except asyncio.CancelledError:
            if received:
                raise InterruptedRunError(received[0]) from None
            raise


@contextlib.contextmanager
def _signal_handlers(signums: Iterable[int], handler: Any) -> Iterator[None]:
    """``handler`` for ``signums`` while the block runs, the previous handlers after (only
    the main thread may set them: elsewhere the defaults stay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _exit_at_once(signum: int, outdir: Path) -> NoReturn:
    """The second interrupt: leave now, the log files as they are."""
    _say(
        f"asyncgen run: interrupted again by {signal.Signals(signum).name}: stopped at once; "
        f"the log files in {outdir} are incomplete (asyncgen verify says what is missing)"
    )
    os._exit(128 + signum)


def _say(line: str) -> None:
    """A line on stderr from a signal handler: one unbuffered write, whatever else prints."""
    with contextlib.suppress(OSError):
        os.write(sys.stderr.fileno(), f"\n{line}\n".encode())
