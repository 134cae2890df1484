"""``--pacing``: which clock a run gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncgen._cli import _parser
from asyncgen._cli.run import _clock
from asyncgen._engine.clock import DEFAULT_MODE, MonotonicClock, kernel_timers_available

REPO = Path(__file__).resolve().parents[2]


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


def _prose(path: str) -> str:
    return " ".join((REPO / path).read_text().split())  # line breaks do not matter


def test_the_defaults_are_stated_as_the_code_has_them() -> None:
    """One statement of the pacing defaults, in every place that states them (the tests
    above pin the CLI's auto; this pins the Python API's default and the prose)."""
    clock = MonotonicClock()
    assert clock.mode == DEFAULT_MODE == "precise"
    readme = _prose("README.md")
    assert (
        "the Python API (`run_test`, `run`, a plain `asyncgen.MonotonicClock()`) and "
        "`asyncgen.compat` pace precisely; `asyncgen run` chooses with `--pacing auto`: "
        "`hrtimer` for a URL SUT where the kernel has it (Linux), `precise` for everything else"
    ) in readme
    assert "paced precisely by default" not in readme
    cli = _prose("docs/cli.md")
    assert "`auto` (default): `hrtimer` for a URL SUT where the kernel has it" in cli
    assert "(The Python API's default, `MonotonicClock()`, is `precise`" in cli
    assert "the default of `MonotonicClock()`, so of `run_test`, `run` and" in _prose(
        "docs/performance.md"
    )
