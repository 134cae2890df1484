"""Give memory the run has freed back to the operating system.

A series allocates its plan and columns once, and large temporaries while it builds the plan
and the final statistics. glibc keeps freed blocks of that size in the process's heap (its
mmap threshold rises with each large block freed), so the resident size would carry every
freed temporary into the next phase. ``malloc_trim`` returns those pages; it is called
between phases, never on the hot path. Elsewhere (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
