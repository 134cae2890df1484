"""``StartTest``: run one test to the end on a private event loop, blocking the caller.

The reference's ``StartTest`` blocks its caller and calls the harness's callbacks on that same
thread. Here the calling thread runs a fresh event loop (uvloop when available) with the
engine's ``run_test``; the callbacks run on it. When the caller already runs an event loop
(``StartTest`` called from async code), the test runs on a helper thread instead and the
caller still blocks, as it would with the reference.

Where the reference aborts the process (a callback that raises), the run ends with complete
log files and ``StartTest`` raises ``asyncgen.RunError`` whose ``__cause__`` is the exception.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from asyncgen._compat.config import take_pending_errors
from asyncgen._compat.library import lookup_qsl, lookup_sut
from asyncgen._compat.settings import (
    LogSettings,
    TestSettings,
    to_engine_log_settings,
    to_engine_settings,
)
from asyncgen._config.validate import validate_settings
from asyncgen._run.result import TestResult
from asyncgen._run.runner import run_test, uvloop_factory


def start_test(
    sut: int,
    qsl: int,
    test_settings: TestSettings,
    log_settings: LogSettings,
    audit_config_filename: str,
) -> TestResult:
    """Look the handles up, convert the settings, and run the test to the end."""
    if not isinstance(test_settings, TestSettings):
        raise TypeError(
            f"test_settings must be an asyncgen.compat.TestSettings, got {test_settings!r}"
        )
    if not isinstance(log_settings, LogSettings):
        raise TypeError(
            f"log_settings must be an asyncgen.compat.LogSettings, got {log_settings!r}"
        )
    sut_obj, qsl_obj = lookup_sut(sut), lookup_qsl(qsl)
    settings = to_engine_settings(test_settings)
    validate_settings(settings)  # before the queued config errors are taken: they stay queued
    early_errors = take_pending_errors()

    def test() -> Coroutine[Any, Any, TestResult]:
        return run_test(
            sut_obj,
            qsl_obj,
            settings,
            log_settings=to_engine_log_settings(log_settings),
            audit_config=audit_config_filename,
            _early_errors=early_errors,
            _entry="compat",
        )

    return run_blocking(test)


def run_blocking(make: Callable[[], Coroutine[Any, Any, TestResult]]) -> TestResult:
    """Run ``make()`` on a fresh loop in this thread, or on a helper thread if one is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
            return runner.run(make())
    outcome: list[TestResult] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(run_blocking(make))
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name="asyncgen.compat.StartTest")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
