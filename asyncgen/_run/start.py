"""The opening of a run, as the reference's ``StartTest`` opens it: log the version and the
run's identity, apply audit.config (and test05's seeds), derive the effective settings, check
them against the QSL and log them, requested and effective."""

from __future__ import annotations

import os
import time
from pathlib import Path

import attrs

from asyncgen._config.effective import EffectiveSettings, effective_settings
from asyncgen._config.enums import TestMode
from asyncgen._config.settings import TestSettings, apply_audit_config
from asyncgen._config.validate import most_planned_samples, validate_settings
from asyncgen._engine.clock import Clock
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._engine.watchdog import Watchdog
from asyncgen._errors import SettingsError
from asyncgen._log import get_logger
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._output.provenance import version_entries
from asyncgen._output.settings_entries import effective_entries, requested_entries
from asyncgen._output.writer import LogWriter
from asyncgen._run.advice import Entry
from asyncgen._run.session import Pacer, RunSession
from asyncgen._version import __version__

_log = get_logger("asyncgen")


async def start_run(
    sut: SystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: TestSettings,
    *,
    writer: LogWriter,
    clock: Clock,
    label: str,
    audit_config: str | os.PathLike[str] | None,
    watchdog: Watchdog | None = None,
    pacer: Pacer | None = None,
    entry: Entry = "api",
    slos: ServiceLevelObjectives | None = None,
) -> RunSession:
    """Log the run's identity and settings; the ``RunSession`` that will run its mode."""
    before = time.perf_counter_ns()
    sut_name = sut.name
    name_ns = time.perf_counter_ns() - before
    writer.details(version_entries(__version__))
    writer.details(
        [
            ("test_datetime", label),
            ("sut_name", sut_name),
            ("get_sut_name_duration_ns", name_ns),
            ("qsl_name", qsl.name),
            ("qsl_reported_total_count", qsl.total_sample_count),
            ("qsl_reported_performance_count", qsl.performance_sample_count),
        ]
    )
    settings = _apply_overrides(settings, writer, audit_config)
    validate_settings(settings)  # again: audit.config values must be runnable too
    eff, problems = effective_settings(
        settings, qsl.performance_sample_count, qsl.total_sample_count
    )
    for message in problems:
        writer.error("error_invalid_test_settings", message)
    _check_against_qsl(eff, qsl.total_sample_count)
    writer.details(requested_entries(settings))
    writer.details(effective_entries(eff))
    return RunSession(
        sut, qsl, eff, writer, clock, watchdog=watchdog, pacer=pacer, entry=entry, slos=slos
    )


def _apply_overrides(
    settings: TestSettings, writer: LogWriter, audit_config: str | os.PathLike[str] | None
) -> TestSettings:
    """audit.config from the working directory, then the test05 seed swap (reference order)."""
    if audit_config is not None and Path(audit_config).is_file():
        writer.warning(
            "Found Audit Config file (audit.config). "
            "Overriding TestSettings from audit.config file."
        )
        settings = apply_audit_config(settings, audit_config)
        _log.info("audit config applied", path=str(audit_config))
    if settings.test05:
        writer.warning("Test05 flag detected Overriding random seeds")
        settings = attrs.evolve(
            settings,
            mode=TestMode.PerformanceOnly,
            qsl_rng_seed=settings.test05_qsl_rng_seed,
            sample_index_rng_seed=settings.test05_sample_index_rng_seed,
            schedule_rng_seed=settings.test05_schedule_rng_seed,
        )
    return settings


def _check_against_qsl(eff: EffectiveSettings, total_sample_count: int) -> None:
    largest = max(total_sample_count, eff.performance_sample_count, eff.accuracy_sample_count)
    if largest > most_planned_samples():  # the loaded sets are lists of them
        raise SettingsError(
            f"the QSL reports {largest:,} samples; this machine's memory holds at most about "
            f"{most_planned_samples():,} in one run"
        )
    if eff.performance_sample_count <= 0:
        raise SettingsError("performance_sample_count is 0: the QSL reports no performance samples")
    if (
        eff.performance_issue_same
        and eff.performance_issue_same_index >= eff.performance_sample_count
    ):
        raise SettingsError(
            f"performance_issue_same_index {eff.performance_issue_same_index} is outside the "
            f"loaded set of {eff.performance_sample_count} samples"
        )
