"""FindPeakPerformance, as the reference searches: widen the Server QPS, then bisect it.

Each probe is a full performance series; only the performance constraint (the latency
percentile, or TTFT/TPOT) decides a probe, and the lower bound's run is the one reported.
"""

from __future__ import annotations

import numpy as np

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._metrics.measurements import performance_result
from asyncgen._metrics.verdict import perf_constraints_met
from asyncgen._plan.loadable import LoadableSet
from asyncgen._run.session import RunSession, SeriesOutcome


class FindPeak:
    """The reference's FindPeakPerformance: widen the Server QPS, then binary-search it."""

    def __init__(self, session: RunSession) -> None:
        self.session = session

    async def probe(
        self, eff: EffectiveSettings, loaded: LoadableSet
    ) -> tuple[bool, SeriesOutcome, str]:
        """Run one series at ``eff``'s QPS: whether it met the constraints, and why not."""
        outcome = await self.session.run_series(eff, loaded, accuracy=False)
        met, message = perf_constraints_met(eff, performance_result(outcome.series))
        ok = met and not outcome.missing and self.session.halted is None
        return ok, outcome, message

    async def run(self) -> None:
        """Search, then report the lower bound's series (or the base one, if it failed)."""
        session, writer = self.session, self.session.writer
        writer.detail("generic_message", "Starting FindPeakPerformance mode")
        base = session.eff
        if base.scenario is not TestScenario.Server:
            writer.error(
                "error_invalid_config",
                "Finding peak performance is only supported in Server scenarios.",
            )
            return
        writer.detail(
            "generic_message",
            f"FindPeakPerformance: Check validity of the base settings field: {base.target_qps:f}",
        )
        loaded = await self._load(base)
        ok, outcome, message = await self.probe(base, loaded)
        if not ok:
            writer.error(
                "error_runtime",
                "FindPeakPerformance: Initial lower bound does not satisfy performance "
                f"constraints, msg: {message}",
            )
            session.report(base, outcome)
            await session.unload(loaded)
            return
        await session.unload(loaded)
        lower, lower_outcome = base, outcome
        step = base.requested.server_find_peak_qps_boundary_step_size
        while True:
            upper = lower.with_target_qps(lower.target_qps * (1 + step))
            writer.detail(
                "generic_message",
                f"FindBoundaries: Checking fields [{lower.target_qps:f}, {upper.target_qps:f})",
            )
            loaded = await self._load(upper)
            ok, upper_outcome, _ = await self.probe(upper, loaded)
            await session.unload(loaded)
            if not ok:
                break
            lower, lower_outcome = upper, upper_outcome
        writer.detail(
            "generic_message",
            f"FindPeakPerformance: Found boundaries: [{lower.target_qps:f}, {upper.target_qps:f})",
        )
        loaded = await self._load(upper)
        decimals = (
            base.requested.server_find_peak_qps_decimals_of_precision % 256
        )  # uint8 in the reference
        while session.halted is None and np.floor(lower.target_qps * 10.0**decimals) + 1 < np.floor(
            upper.target_qps * 10.0**decimals
        ):
            mid = lower.with_target_qps(
                lower.target_qps + (upper.target_qps - lower.target_qps) / 2
            )
            writer.detail(
                "generic_message",
                "FindPeakPerformanceBinarySearch: Testing the mid value of bounds "
                f"[{lower.target_qps:f}, {upper.target_qps:f}): {mid.target_qps:f}",
            )
            ok, mid_outcome, _ = await self.probe(mid, loaded)
            if ok:
                lower, lower_outcome = mid, mid_outcome
            else:
                upper = mid
        writer.detail(
            "generic_message",
            f"FindPeakPerformance: Found peak performance field: {lower.target_qps:f}",
        )
        session.state.peak_qps = lower.target_qps
        session.report(lower, lower_outcome)
        await session.unload(loaded)

    async def _load(self, eff: EffectiveSettings) -> LoadableSet:
        loaded = self.session.loadable_sets(eff, accuracy=False)[0]
        await self.session.load(loaded)
        return loaded
