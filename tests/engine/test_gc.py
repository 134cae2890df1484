"""quiet_gc: freezes and raises the young threshold for a while, then puts both back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from asyncgen._engine.gc import HOT_THRESHOLD0, quiet_gc


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_quiet_gc_freezes_and_restores() -> None:
    gc.enable()
    gc.set_threshold(700, 10, 10)
    with quiet_gc():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (HOT_THRESHOLD0, 10, 10)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_quiet_gc_restores_after_an_exception() -> None:
    gc.enable()
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), quiet_gc():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_quiet_gc_leaves_someone_elses_freeze_alone() -> None:
    gc.enable()
    gc.freeze()
    frozen, before = gc.get_freeze_count(), gc.get_threshold()
    with quiet_gc():
        assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen  # not unfrozen by us


def test_quiet_gc_does_nothing_when_the_collector_is_off() -> None:
    gc.disable()
    before = gc.get_threshold()
    with quiet_gc():
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
