"""Test-wide settings: Hypothesis runs derandomized, so every run of the suite is the same;
writers opened with ``tests.helpers.open_writer`` are closed after each test; tiny tokenizers
(``tests.tokenizers``) are trained once per session for the tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import OPEN_WRITERS
from tests.tokenizers import KINDS, train_tokenizer

settings.register_profile("asyncgen", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("asyncgen")


@pytest.fixture(autouse=True)
def _close_open_writers() -> Iterator[None]:
    yield
    while OPEN_WRITERS:
        OPEN_WRITERS.pop().close()


@pytest.fixture(scope="session")
def tiny_tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A trained ``tokenizer.json`` per kind of ``tests.tokenizers.KINDS`` (a few seconds,
    once per session)."""
    folder = tmp_path_factory.mktemp("tokenizers")
    return {kind: train_tokenizer(kind, folder / f"{kind}.json") for kind in KINDS}


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_tokenizers: dict[str, Path]) -> Path:
    """The byte-level one (as GPT-2 and Llama 3)."""
    return tiny_tokenizers["bytelevel"]
