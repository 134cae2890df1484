"""The warnings' advice names what the person who started the run can change."""

from __future__ import annotations

import pytest

from asyncgen._engine.clock import FakeClock, MonotonicClock, kernel_timers_available
from asyncgen._engine.watchdog import STALL_ADVICE, LoopStalls
from asyncgen._run.advice import RunAdvice, bursts_remedy, stall_remedy


def test_timer_pacing_is_told_to_poll_in_the_words_of_its_entry() -> None:
    assert "--pacing precise" in bursts_remedy("timer", "cli")
    assert "--pacing hrtimer" in bursts_remedy("timer", "cli")
    api = bursts_remedy("timer", "api")
    assert 'clock=asyncgen.MonotonicClock("precise")' in api and "--pacing" not in api


def test_hrtimer_pacing_is_told_that_it_sleeps_and_how_to_poll() -> None:
    cli = bursts_remedy("hrtimer", "cli")
    assert cli.startswith("hrtimer pacing sleeps between arrivals")
    assert "use precise pacing (--pacing precise;" in cli
    assert 'clock=asyncgen.MonotonicClock("precise")' in bursts_remedy("hrtimer", "api")


@pytest.mark.parametrize("entry", ["api", "cli"])
def test_precise_pacing_is_not_told_to_use_precise_pacing(entry: str) -> None:
    text = bursts_remedy("precise", entry)  # type: ignore[arg-type]
    assert text.startswith("Pacing is precise already")
    assert "MonotonicClock" not in text and "--pacing" not in text


def test_compat_has_no_clock_to_change() -> None:
    for mode in ("precise", "hrtimer", "timer", None):
        text = bursts_remedy(mode, "compat")  # type: ignore[arg-type]
        assert text.startswith("asyncgen.compat paces precisely already")
        assert "MonotonicClock" not in text and "--pacing" not in text


def test_a_clock_of_ones_own_is_pointed_at_precise_pacing() -> None:
    assert bursts_remedy(None, "api").startswith("Use precise pacing (clock=asyncgen.")
    assert bursts_remedy(None, "cli").startswith("Use precise pacing (--pacing precise)")


def test_stall_advice_for_compat_speaks_of_callbacks_and_the_gil() -> None:
    assert stall_remedy("api") == stall_remedy("cli") == STALL_ADVICE
    assert "asyncio.to_thread" in STALL_ADVICE
    compat = stall_remedy("compat")
    assert "asyncio.to_thread" not in compat
    assert "callback" in compat and "GIL" in compat
    stalls = LoopStalls(count=2, total_ns=700_000_000, max_ns=400_000_000, threshold_ns=1)
    assert stalls.warning(compat).startswith(
        "The event loop stalled 2 times for 700.0 ms in all (longest 400.0 ms). "
        "Latencies and issue lag include it. asyncgen.compat calls"
    )
    assert stalls.warning().endswith(STALL_ADVICE)


def test_the_advice_follows_the_mode_the_clock_actually_paces_with() -> None:
    assert RunAdvice.for_run(MonotonicClock("timer"), "cli").bursts == bursts_remedy("timer", "cli")
    hrtimer = RunAdvice.for_run(MonotonicClock("hrtimer"), "cli").bursts
    used = "hrtimer" if kernel_timers_available() else "precise"  # no timerfd: it polls
    assert hrtimer == bursts_remedy(used, "cli")
    fake = RunAdvice.for_run(FakeClock(), "api")
    assert fake == RunAdvice(bursts=bursts_remedy(None, "api"), stall=STALL_ADVICE)
