"""Returning freed heap memory to the OS between a run's phases."""

from __future__ import annotations

import sys

import pytest

from asyncgen._engine.memory import release_free_memory


def _resident_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon line")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_blocks_below_the_mmap_threshold_go_back_to_the_os() -> None:
    # Many 64 KiB blocks come from the heap (below glibc's mmap threshold); freeing them in
    # the middle of the heap does not shrink it, so only a trim gives the pages back.
    keep = [bytearray(64 * 1024) for _ in range(20)]  # pins the heap's top
    blocks = [bytearray(64 * 1024) for _ in range(600)]  # ~37 MiB, touched
    keep += [bytearray(64 * 1024) for _ in range(20)]
    del blocks
    before = _resident_kib()
    assert release_free_memory()
    assert before - _resident_kib() > 20 * 1024
    del keep
