"""``BlockPrompts``: prompts for trace replay whose blocks repeat where the trace says so.

A Mooncake trace record gives a request's ``input_length`` in tokens and its ``hash_ids``: one
id per block of 512 tokens (the last block holds the rest), where equal ids in two records
mean an identical block — a prompt prefix a server's cache can reuse. ``BlockPrompts`` makes
each prompt exactly ``input_length`` content tokens long, from blocks that are a function of
their hash id and the seed alone: two records that share their leading hash ids share their
leading ``block_tokens * k`` tokens, token for token. A last block shorter than a full one is
the start of its id's full block.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from asyncgen._errors import DatasetError
from asyncgen.datasets._exact import ExactText
from asyncgen.datasets._tokenizer import Tokenizer

MOONCAKE_BLOCK_TOKENS = 512


class BlockPrompts:
    """Makes trace prompts: ``prompt(input_length, hash_ids)``.

    ``block_tokens`` is the trace's block size (512 for Mooncake traces, 16 for Alibaba's
    Bailian traces); ``seed`` picks the words of every block (use the run's seed for prompts
    that are the same run after run, another one for a different set).
    """

    def __init__(
        self,
        tokenizer: Tokenizer | ExactText,
        *,
        block_tokens: int = MOONCAKE_BLOCK_TOKENS,
        seed: int = 0,
    ) -> None:
        if block_tokens < 1:
            raise ValueError(f"block_tokens must be at least 1, not {block_tokens}")
        self.exact = tokenizer if isinstance(tokenizer, ExactText) else ExactText(tokenizer)
        self.block_tokens = block_tokens
        self.seed = seed

    def blocks_for(self, input_length: int) -> int:
        """How many hash ids a prompt of ``input_length`` tokens has: one per started block."""
        return -(-input_length // self.block_tokens)

    def prompt(self, input_length: int, hash_ids: Sequence[int]) -> str:
        """A text of exactly ``input_length`` tokens: the blocks of ``hash_ids`` in order.

        Raises ``DatasetError`` unless there is one hash id per started block of
        ``block_tokens`` (``blocks_for(input_length)`` of them) and ``input_length >= 1``.
        """
        if input_length < 1:
            raise DatasetError(f"input_length must be at least 1, not {input_length}")
        if len(hash_ids) != self.blocks_for(input_length):
            raise DatasetError(
                f"input_length {input_length} is {self.blocks_for(input_length)} blocks of "
                f"{self.block_tokens} tokens, but there are {len(hash_ids)} hash_ids"
            )
        words: list[str] = []
        for hash_id in hash_ids:
            words += self.block(hash_id)
        del words[input_length:]
        # Seeded by the first block: the first word (drawn afresh to need no leading space)
        # is then the same in every prompt that starts with that block.
        rng = random.Random(f"asyncgen-blocks/{self.seed}/first/{hash_ids[0]}")
        return self.exact.fit(words, input_length, rng)

    def block(self, hash_id: int) -> list[str]:
        """The words of block ``hash_id``: ``block_tokens`` of them, one token each."""
        rng = random.Random(f"asyncgen-blocks/{self.seed}/{hash_id}")
        return self.exact.words(self.block_tokens, rng)
