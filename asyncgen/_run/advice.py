"""The advice in a run's warnings, worded for how the run was started.

A warning is read by whoever started the run, so its remedy names what that person can
change: ``asyncgen run``'s options for a command-line run, ``run_test``/``run`` keywords for
the Python API, and the harness itself for ``asyncgen.compat``, whose ``StartTest`` takes no
clock (it paces precisely, as ``MonotonicClock()`` does). The pacing advice also depends on the
mode the run actually paced with (``asyncgen._engine.clock.pacing_mode``).
"""

from __future__ import annotations

from typing import Literal

import attrs

from asyncgen._engine.clock import Clock, PacingMode, pacing_mode
from asyncgen._engine.watchdog import STALL_ADVICE

Entry = Literal["api", "cli", "compat"]
"""How the run was started: ``run_test``/``run``, ``asyncgen run``, or ``asyncgen.compat``."""

_LIGHTER = (
    "run on a less loaded machine (give the load generator a core of its own), or lower "
    "the target QPS"
)


@attrs.frozen
class RunAdvice:
    """The remedies a run's warnings end with."""

    bursts: str  # the generator issued in bursts (asyncgen._metrics.health)
    stall: str  # something blocked the event loop (asyncgen._engine.watchdog)

    @classmethod
    def for_run(cls, clock: Clock, entry: Entry) -> RunAdvice:
        """The advice for a run paced by ``clock`` and started through ``entry``."""
        return cls(bursts=bursts_remedy(pacing_mode(clock), entry), stall=stall_remedy(entry))


def bursts_remedy(mode: PacingMode | None, entry: Entry) -> str:
    """What to do when queries left in clumps, given the pacing used and how it is chosen."""
    if entry == "compat":
        return f"asyncgen.compat paces precisely already: {_LIGHTER}."
    precise = _spell("precise", entry)
    if mode == "timer":
        return (
            "Timer pacing wakes on the loop's millisecond ticks: use precise pacing "
            f"({precise}) or the kernel timer ({_spell('hrtimer', entry)}), or lower the "
            "target QPS."
        )
    if mode == "hrtimer":
        return (
            "hrtimer pacing sleeps between arrivals, and work on the event loop or other "
            f"processes delay its wake-ups: use precise pacing ({precise}; it keeps a core "
            f"busy polling), {_LIGHTER}."
        )
    if mode == "precise":
        return (
            f"Pacing is precise already: {_LIGHTER}. Work the SUT does on the event loop "
            "delays issuing too."
        )
    return f"Use precise pacing ({precise}), {_LIGHTER}."  # a clock of the user's own


def stall_remedy(entry: Entry) -> str:
    """What blocks the event loop, and what to do about it, for this kind of SUT."""
    if entry == "compat":
        return (
            "asyncgen.compat calls the harness's callbacks on the event-loop thread, so a "
            "callback that blocks, or another harness thread holding the GIL (a long native "
            "call that does not release it), stops issuing and timing. Return from the issue "
            "callback once the work is handed over, and let long native calls release the GIL."
        )
    return STALL_ADVICE


def _spell(mode: PacingMode, entry: Entry) -> str:
    if entry == "cli":
        return f"--pacing {mode}"
    return f'clock=asyncgen.MonotonicClock("{mode}")'
