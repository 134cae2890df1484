"""Test-wide settings: Hypothesis runs derandomized, so every run of the suite is the same;
writers opened with ``tests.helpers.open_writer`` are closed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.helpers import OPEN_WRITERS

settings.register_profile("asyncgen", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("asyncgen")


@pytest.fixture(autouse=True)
def _close_open_writers() -> Iterator[None]:
    yield
    while OPEN_WRITERS:
        OPEN_WRITERS.pop().close()
