"""The test modes, as the reference runs them: which series a ``RunSession`` runs, in order.

SubmissionRun is an accuracy pass then a performance pass; AccuracyOnly issues every sample
once, one loaded set at a time; PerformanceOnly runs one series on the first loaded set;
FindPeakPerformance searches the Server QPS (``asyncgen._run.find_peak``).
"""

from __future__ import annotations

import time

from asyncgen._config.effective import NS_PER_MS
from asyncgen._config.enums import TestMode
from asyncgen._run.find_peak import FindPeak
from asyncgen._run.session import RunSession


async def run_mode(session: RunSession) -> None:
    """Run the series of the session's test mode."""
    match session.eff.mode:
        case TestMode.SubmissionRun:
            await accuracy(session)
            if session.halted is None:  # a SUT call hung: nothing more is issued
                await performance(session)
        case TestMode.AccuracyOnly:
            await accuracy(session)
        case TestMode.PerformanceOnly:
            await performance(session)
        case TestMode.FindPeakPerformance:
            await FindPeak(session).run()


async def performance(session: RunSession) -> None:
    """One performance series on the first loaded set, summarised."""
    session.writer.detail("generic_message", "Starting performance mode")
    eff = session.eff
    loaded = session.loadable_sets(eff, accuracy=False)[0]
    await session.load(loaded)
    wall_start = time.time_ns()
    if eff.print_timestamps:
        print(
            f"Loadgen :: Perf mode start. system_clock Timestamp = {wall_start // 10**9}",
            flush=True,
        )
    outcome = await session.run_series(eff, loaded, accuracy=False)
    if eff.print_timestamps:
        _print_stop_timestamps(wall_start)
    session.report(eff, outcome)
    await session.unload(loaded)


async def accuracy(session: RunSession) -> None:
    """One accuracy series per loaded set, every sample logged."""
    session.writer.detail("generic_message", "Starting accuracy mode")
    eff = session.eff
    for loaded in session.loadable_sets(eff, accuracy=True):
        await session.load(loaded)
        await session.run_series(eff, loaded, accuracy=True)
        await session.unload(loaded)
        if session.halted is not None:  # a SUT call hung: nothing more is issued
            break


def _print_stop_timestamps(wall_start: int) -> None:
    """The reference's stdout lines at the end of a performance series (its typo included)."""
    wall_stop = time.time_ns()
    duration_ms = (wall_stop - wall_start) // NS_PER_MS
    print(f"Loadgen :: Perf mode stop. systme_clock Timestamp = {wall_stop // 10**9}", flush=True)
    print(f"Loadgen :: PerfClock Perf duration = {duration_ms}ms", flush=True)
    print(f"Loadgen :: system_clock Perf duration = {duration_ms}ms", flush=True)
    print("Loadgen :: PerfClock/system_clock ratio = 1.0000", flush=True)
