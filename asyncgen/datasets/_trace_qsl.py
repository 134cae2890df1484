"""``TraceQSL``: the requests of an arrival trace's records (Mooncake format), one per record.

A replayed trace (``TestSettings.server_arrival = "trace"``) sends its ``r``-th record (in file
order) as sample ``r`` of a QSL of as many samples. This one makes each record's request from
the record itself: a prompt of exactly ``input_length`` content tokens built from its
``hash_ids`` blocks (``BlockPrompts``: records that share leading ids share those blocks, token
for token, as the trace's prefix-cache hits need), and ``max_tokens`` = ``output_length``. A
record without ``hash_ids`` gets blocks of its own, shared with no other record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from asyncgen._errors import DatasetError
from asyncgen._plan.trace import Trace, read_trace
from asyncgen.datasets._blocks import MOONCAKE_BLOCK_TOKENS, BlockPrompts
from asyncgen.datasets._lazy import MadeOnLoad
from asyncgen.datasets._tokenizer import Tokenizer
from asyncgen.http import Payload

_OWN_BLOCKS = -(1 << 40)  # ids of blocks made for records without hash_ids: below any real id


class TraceQSL(MadeOnLoad):
    """One sample per record of a trace file, its prompt made from the record's lengths.

    ``tokenizer`` is the server's (prompts are exact in its content tokens); ``block_tokens``
    the trace's block size (512 for Mooncake, 16 for Alibaba's Bailian traces); ``seed`` picks
    the words of the blocks. Every record needs an ``input_length``. Prompts are made when
    their samples are loaded, off the event loop; ``input_tokens(index)`` is the record's
    ``input_length``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        tokenizer: Tokenizer,
        *,
        block_tokens: int = MOONCAKE_BLOCK_TOKENS,
        seed: int = 0,
        performance_sample_count: int | None = None,
        name: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.trace: Trace = read_trace(path)
        for number, record in enumerate(self.trace.records, start=1):
            if record.input_length is None:
                raise DatasetError(
                    f"record {number} has no input_length: a prompt cannot be made for it "
                    "(give the prompts as a dataset instead)",
                    path=str(path),
                )
        super().__init__(
            path,
            len(self.trace.records),
            performance_sample_count=performance_sample_count,
            name=name,
            method=method,
            request_path=request_path,
            headers=headers,
        )
        self.blocks = BlockPrompts(tokenizer, block_tokens=block_tokens, seed=seed)

    def input_tokens(self, index: int) -> int | None:
        """Record ``index``'s ``input_length``."""
        return self.trace.records[index].input_length

    def _make(self, index: int) -> Payload:
        return self._make_many([index])[0]

    def _make_many(self, indices: Sequence[int]) -> list[Payload]:
        return [self._payload(json_value=self._request(index)) for index in indices]

    def _request(self, index: int) -> dict[str, Any]:
        record = self.trace.records[index]
        length = record.input_length
        assert length is not None  # checked when the trace was read
        ids = record.hash_ids
        if ids is None:
            first = _OWN_BLOCKS - index * self.blocks.blocks_for(length)
            ids = tuple(range(first, first - self.blocks.blocks_for(length), -1))
        try:
            prompt = self.blocks.prompt(length, ids)
        except DatasetError as exc:
            raise DatasetError(f"record {index + 1}: {exc}", path=str(self.path)) from None
        body: dict[str, Any] = {"prompt": prompt}
        if record.output_length is not None:
            body["max_tokens"] = record.output_length
        return body
