"""FindPeakPerformance, as the reference searches: widen the Server QPS, then bisect it.

Each probe is a full performance series; only the performance constraint (the latency
percentile, or TTFT/TPOT) decides a probe, and the lower bound's run is the one reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._metrics.measurements import performance_result
from asyncgen._metrics.verdict import perf_constraints_met
from asyncgen._plan.loadable import LoadableSet, loadable_sets

if TYPE_CHECKING:
    from asyncgen._run_series import _Run, _SeriesOutcome


class FindPeak:
    """The reference's FindPeakPerformance: widen the Server QPS, then binary-search it."""

    def __init__(self, run: _Run) -> None:
        self.run_ = run

    async def probe(
        self, eff: EffectiveSettings, loaded: LoadableSet
    ) -> tuple[bool, _SeriesOutcome, str]:
        outcome = await self.run_.series(eff, loaded, accuracy=False)
        met, message = perf_constraints_met(eff, performance_result(outcome.series))
        return met and not outcome.missing, outcome, message

    async def run(self) -> None:
        run, writer = self.run_, self.run_.writer
        writer.detail("generic_message", "Starting FindPeakPerformance mode")
        base = run.eff
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
            run._report(base, outcome)
            await run.qsl.unload_samples(loaded.indices)
            return
        await run.qsl.unload_samples(loaded.indices)
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
            await run.qsl.unload_samples(loaded.indices)
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
        while np.floor(lower.target_qps * 10.0**decimals) + 1 < np.floor(
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
        run.state.peak_qps = lower.target_qps
        run._report(lower, lower_outcome)
        await run.qsl.unload_samples(loaded.indices)

    async def _load(self, eff: EffectiveSettings) -> LoadableSet:
        loaded = loadable_sets(eff, self.run_.qsl.total_sample_count, eff.performance_sample_count)[
            0
        ]
        await self.run_._load(loaded)
        return loaded
