"""``--pacing``: which clock a run gets."""

from __future__ import annotations

import pytest

from asyncgen._cli import _parser
from asyncgen._cli.run import _clock
from asyncgen._engine.clock import kernel_timers_available


def _args(*argv: str) -> object:
    parser, _ = _parser()
    return parser.parse_args(["run", *argv])


@pytest.mark.parametrize("mode", ["precise", "timer", "hrtimer"])
def test_an_explicit_pacing_mode_is_used(mode: str) -> None:
    clock = _clock(_args("--sut", "tests.helpers:RecordingSUT", "--pacing", mode))  # type: ignore[arg-type]
    try:
        assert clock.mode == mode
    finally:
        clock.close()


def test_auto_paces_python_suts_precisely() -> None:
    clock = _clock(_args("--sut", "tests.helpers:RecordingSUT"))  # type: ignore[arg-type]
    assert clock.mode == "precise"
    clock.close()


def test_auto_paces_url_suts_with_the_kernel_timer_where_there_is_one() -> None:
    clock = _clock(_args("--sut", "http://127.0.0.1:1/predict"))  # type: ignore[arg-type]
    assert clock.mode == ("hrtimer" if kernel_timers_available() else "precise")
    clock.close()


def test_auto_paces_workers_with_the_kernel_timer_where_there_is_one() -> None:
    """Precise pacing would keep a core busy per worker and starve the driver and Ray."""
    clock = _clock(_args("--sut", "tests.helpers:RecordingSUT", "--workers", "2"), 2)  # type: ignore[arg-type]
    assert clock.mode == ("hrtimer" if kernel_timers_available() else "precise")
    clock.close()
