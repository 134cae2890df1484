"""Tools for testing with asyncgen: a fake clock, a simulated SUT and QSL, and SLO checks.

``FakeClock`` moves only when told to (``advance``) or when a shaper sleeps on it, so a test
sees exactly the timestamps a schedule asks for. ``SimulatedSUT`` answers each sample after a
service time drawn from a ``ServiceTime`` distribution; ``SimulatedQSL`` has nothing to load.

``LoadTest`` runs short tests of a SUT from a test, one folder each, and ``assert_slos`` fails a
test whose run missed its SLOs with the table of what missed. The pytest plugin
(``pytest_asyncgen``, installed with asyncgen) hands a ``LoadTest`` to any test that asks for
the ``asyncgen_run`` fixture, and keeps its folders only when the test fails:

    from asyncgen.testing import FakeClock, SimulatedQSL, SimulatedSUT, assert_slos

    async def test_fast_enough(asyncgen_run):           # pytest-asyncio, @pytest.mark.asyncio
        result = await asyncgen_run(sut, qsl, qps=50, slos=ServiceLevelObjectives(e2e_ms=200))
        assert_slos(result)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asyncgen._config.enums import TestScenario
from asyncgen._config.settings import LogOutputSettings, LogSettings, TestSettings
from asyncgen._engine.clock import FakeClock
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._metrics.goodput import Goodput, ServiceLevelObjectives
from asyncgen._run.result import TestResult
from asyncgen._run.runner import run_test
from asyncgen.simulated import ServiceTime, SimulatedQSL, SimulatedSUT

__all__ = [
    "FakeClock",
    "LoadTest",
    "ServiceTime",
    "SimulatedQSL",
    "SimulatedSUT",
    "assert_slos",
    "slo_table",
]

FakeClock.__module__ = __name__  # its public path, in reprs and the API reference

LABELS = {"ttft": "TTFT", "tpot": "TPOT", "e2e": "E2E"}


class LoadTest:
    """Runs short tests of a SUT, each into its own folder under ``folder``.

    ``await load_test(sut, qsl, qps=20, slos=...)`` runs a Server test at ``qps`` for
    ``duration_ms`` (and at least ``min_queries`` queries) and returns its ``TestResult``;
    pass ``settings=`` to run other settings instead. With SLOs that judge TTFT or TPOT, token
    latencies are turned on. ``options`` go to ``run_test`` (``audit_config`` defaults to None:
    a test does not read the working directory's audit.config).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.outdirs: list[Path] = []  # one per run, in order

    async def __call__(
        self,
        sut: SystemUnderTest,
        qsl: QuerySampleLibrary,
        settings: TestSettings | None = None,
        *,
        qps: float | None = None,
        duration_ms: int = 2_000,
        min_queries: int = 50,
        slos: ServiceLevelObjectives | None = None,
        **options: Any,
    ) -> TestResult:
        """Run one test; see the class."""
        if settings is None:
            if qps is None:
                raise TypeError("give the rate (qps=...) or the settings (settings=...)")
            settings = TestSettings(
                scenario=TestScenario.Server,
                server_target_qps=qps,
                min_duration_ms=duration_ms,
                min_query_count=min_queries,
                use_token_latencies=slos is not None and slos.needs_tokens,
            )
        outdir = self.folder / f"run-{len(self.outdirs) + 1}"
        self.outdirs.append(outdir)
        options.setdefault("audit_config", None)
        log = LogSettings(log_output=LogOutputSettings(outdir=str(outdir)))
        return await run_test(sut, qsl, settings, log_settings=log, slos=slos, **options)


def slo_table(goodput: Goodput) -> str:
    """Each SLO as a row: its limit, the observed value at the percentile, the share of
    requests that met it, and whether it holds; then goodput."""
    p = f"p{goodput.percentile * 100:g}"
    rows = [("SLO", "limit", f"observed {p}", "requests met it", "")]
    for slo in goodput.slos:
        observed = "failed" if slo.observed_ms is None else f"{slo.observed_ms:.2f} ms"
        rows.append(
            (
                LABELS[slo.name],
                f"{slo.limit_ms:g} ms",
                observed,
                f"{100 * slo.share_met:.1f}%",
                "met" if slo.holds else "MISSED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]  # fmt: skip
    lines.append(
        f"goodput {goodput.requests_per_second:.2f} requests/s: {goodput.good_requests} of "
        f"{goodput.requests} requests met every SLO"
    )
    return "\n".join(lines)


def assert_slos(result: TestResult) -> None:
    """Raise ``AssertionError`` unless every SLO of the run held at its percentile; the message
    is the table of the SLOs (``slo_table``) and the run's folder."""
    __tracebackhide__ = True  # pytest shows the test's line, not this helper's
    goodput = result.goodput
    folder = result.files["results"].parent if "results" in result.files else None
    if goodput is None:
        raise AssertionError("the run had no SLOs: pass slos=ServiceLevelObjectives(...)")
    if goodput.slos_met:
        return
    missed = ", ".join(LABELS[slo.name] for slo in goodput.missed)
    raise AssertionError(
        f"SLOs missed at p{goodput.percentile * 100:g}: {missed}\n{slo_table(goodput)}\n"
        f"run folder: {folder}"
    )
