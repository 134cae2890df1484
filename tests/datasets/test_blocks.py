"""Trace prompts from hash-id blocks: exact lengths, equal ids give equal prefixes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from asyncgen.datasets import BlockPrompts, DatasetError, Tokenizer
from tests.tokenizers import KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_exact_lengths_and_shared_blocks(tiny_tokenizers: dict[str, Path], kind: str) -> None:
    tokenizer = Tokenizer.from_file(tiny_tokenizers[kind])
    blocks = BlockPrompts(tokenizer, block_tokens=64, seed=3)
    rng = random.Random(5)
    for _ in range(150):
        shared = rng.randint(0, 4)
        lengths = [64 * shared + rng.randint(1, 200) for _ in range(2)]
        prompts, ids = [], []
        for n in lengths:
            hash_ids = list(range(shared)) + [
                rng.randint(100, 10**9) for _ in range(blocks.blocks_for(n) - shared)
            ]
            prompts.append(blocks.prompt(n, hash_ids))
            ids.append(tokenizer.encode(prompts[-1]))
            assert len(ids[-1]) == n, (kind, n)
        if kind != "joined":  # merges across words may shift where tokens fall
            assert ids[0][: 64 * shared] == ids[1][: 64 * shared]
        assert prompts[0][:200] != prompts[1][:200] or shared > 0


def test_the_same_ids_and_seed_give_the_same_prompt(tiny_tokenizer: Path) -> None:
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    one, two = BlockPrompts(tokenizer), BlockPrompts(tokenizer)
    assert one.prompt(1000, [7, 8]) == two.prompt(1000, [7, 8])
    assert one.prompt(1000, [7, 8]) != BlockPrompts(tokenizer, seed=1).prompt(1000, [7, 8])
    # a short last block is the start of its full block
    full = one.prompt(1024, [7, 9])
    assert full.startswith(one.prompt(600, [7, 9]))


def test_hash_ids_must_match_the_blocks(tiny_tokenizer: Path) -> None:
    blocks = BlockPrompts(Tokenizer.from_file(tiny_tokenizer))
    with pytest.raises(DatasetError, match="6758 is 14 blocks of 512 tokens, but there are 13"):
        blocks.prompt(6758, list(range(13)))
    with pytest.raises(DatasetError, match="at least 1"):
        blocks.prompt(0, [])
    with pytest.raises(ValueError, match="block_tokens"):
        BlockPrompts(Tokenizer.from_file(tiny_tokenizer), block_tokens=0)
