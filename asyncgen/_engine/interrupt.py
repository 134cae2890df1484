"""A stop from outside, or an exception the SUT raised?

Cancelling the run (``task.cancel()``, ``asyncio.timeout``, a cancel scope), Ctrl-C and
``sys.exit`` stop a run from outside, and must go on as they are. Anything else raised out of a
SUT or QSL call — an ``Exception``, but also a ``CancelledError`` nobody asked for, a
``GeneratorExit`` or the SUT's own ``BaseException`` subclass — is the SUT's failure: the run
drains what is in flight and reports it as a ``RunError``.
"""

from __future__ import annotations

import asyncio


def being_cancelled() -> bool:
    """Whether someone cancelled the current task (a timeout, ``task.cancel()``, a scope)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` stops the run from outside rather than being raised by the SUT."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return True
    return isinstance(exc, asyncio.CancelledError) and being_cancelled()
