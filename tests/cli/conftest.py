"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.llm_server import REQUESTS, Seen, make_app, serve_in_thread


@pytest.fixture
def llm() -> Iterator[tuple[str, list[Seen]]]:
    """The OpenAI-style server of ``tests.http.llm_server`` on a thread of its own (the CLI
    runs its own loop): its URL and the requests it has seen."""
    app = make_app()
    with serve_in_thread(app) as url:
        yield url, app[REQUESTS]
