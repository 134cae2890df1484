"""Each worker's clock against the driver's, by round trips (keep the fastest), and whether
the two read one clock at all.

For one sample the driver reads ``t0``, asks the worker for its clock ``a`` and reads ``t1``:
the worker's offset is ``a - (t0 + t1) / 2``, known to within half the round trip. The sample
with the shortest round trip bounds it best. Processes on one host and boot read the same
``CLOCK_MONOTONIC`` (equal ``boot_id``): there the offset applied is 0 by construction and the
measured value only shows what the method can resolve (a few hundred microseconds over Ray's
RPC path, biased by its asymmetry). Across hosts the offset is applied: to each shard's start
and to every timestamp it sends back. It is as good as the hosts' own clock discipline
(NTP: a millisecond or so; PTP: microseconds) allows, and the round trips bound it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
ROUND_TRIPS = 32


def boot_id() -> str:
    """This kernel's boot id ("" where there is none): equal ids read one monotonic clock."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


@attrs.frozen(kw_only=True)
class ClockOffset:
    """A worker's clock minus the driver's, as measured, and what the run applies."""

    offset_ns: int
    uncertainty_ns: int  # half the best round trip: the true offset is within this
    round_trip_ns: int  # the best round trip
    same_clock: bool  # same host and boot as the driver: the offset is 0 by construction

    @property
    def applied_ns(self) -> int:
        """The offset the run applies: 0 on the driver's own clock."""
        return 0 if self.same_clock else self.offset_ns

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "offset_ns": self.offset_ns,
            "uncertainty_ns": self.uncertainty_ns,
            "round_trip_ns": self.round_trip_ns,
            "same_clock": self.same_clock,
            "applied_ns": self.applied_ns,
        }


async def measure_offset(
    ask: Callable[[], Awaitable[int]], *, same_clock: bool, round_trips: int = ROUND_TRIPS
) -> ClockOffset:
    """The offset of the clock ``ask`` reads against ``time.perf_counter_ns``."""
    await ask()  # the first call pays for setting up the path
    best: tuple[int, int] | None = None  # (round trip, offset)
    for _ in range(round_trips):
        t0 = time.perf_counter_ns()
        theirs = await ask()
        t1 = time.perf_counter_ns()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, theirs - (t0 + t1) // 2)
    assert best is not None
    return ClockOffset(
        offset_ns=best[1],
        uncertainty_ns=(best[0] + 1) // 2,
        round_trip_ns=best[0],
        same_clock=same_clock,
    )
