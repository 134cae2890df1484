"""The lifecycle log: where its events go, and what importing asyncgen costs."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog
import structlog.testing

from asyncgen._log import get_logger


@pytest.fixture(autouse=True)
def _unconfigured_structlog() -> Iterator[None]:
    # structlog.testing.capture_logs, used elsewhere, leaves structlog "configured" (with its
    # defaults) when it restores: start each test from a process that never configured it.
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def test_importing_asyncgen_leaves_structlog_and_rich_unloaded() -> None:
    code = "import sys, asyncgen; print(sorted({'structlog', 'rich'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_events_go_to_the_stdlib_logger_when_structlog_is_not_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="asyncgen.test"):
        get_logger("asyncgen.test").info("run started", qps=10)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "event='run started' level='info' qps=10")
    ]


def test_events_below_the_stdlib_level_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncgen.test"):
        log = get_logger("asyncgen.test")
        log.info("not shown")
        log.error("shown")
    assert [r.getMessage() for r in caplog.records] == ["event='shown' level='error'"]


def test_events_follow_structlog_once_the_application_configures_it() -> None:
    with structlog.testing.capture_logs() as logs:
        get_logger("asyncgen.test").warning("fell behind", lag_ms=3)
    assert logs == [{"event": "fell behind", "lag_ms": 3, "log_level": "warning"}]
