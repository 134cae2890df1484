"""``MadeOnLoad``: a dataset QSL whose requests are made when their samples are loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

from asyncgen.datasets._files import StrPath, _FileQSL
from asyncgen.http import Payload


class MadeOnLoad(_FileQSL):
    """Requests made by ``_make(index)`` when their samples are loaded — in a worker thread,
    so the event loop (the writer, progress) keeps running through a long load — kept while
    loaded, and made on the spot for ``payload`` of a sample that is not."""

    def __init__(self, path: StrPath, total: int, **options: Any) -> None:
        """``_FileQSL``'s arguments: the source, the sample count, the shared options."""
        super().__init__(path, total, **options)
        self._payloads: dict[int, Payload] = {}

    def _make(self, index: int) -> Payload:
        raise NotImplementedError

    def _make_many(self, indices: Sequence[int]) -> list[Payload]:
        """``_make`` for each index; override to share work across a loaded set."""
        return [self._make(index) for index in indices]

    def payload(self, index: int) -> Payload:
        """The loaded sample's request (one not loaded is made now)."""
        payload = self._payloads.get(index)
        if payload is None:
            payload = self._payloads[index] = self._make(index)
        return payload

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Make the requests of ``indices`` not made yet, off the event loop."""
        todo = sorted(set(indices) - self._payloads.keys())
        made = await anyio.to_thread.run_sync(self._make_many, todo)
        self._payloads.update(zip(todo, made, strict=True))

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Drop the requests of ``indices``."""
        for index in indices:
            self._payloads.pop(index, None)
