"""Tiny BPE tokenizers trained in the test session on a generated corpus: nothing downloaded.

``train_tokenizer(kind, path)`` writes a ``tokenizer.json`` of about 2,000 tokens: ``bytelevel``
(as GPT-2 and Llama 3), ``metaspace`` (as SentencePiece models) or ``joined`` (Metaspace that
does not split at spaces, so merges may cross words: the hard case for exact counts). The
corpus is made-up words from syllables (a few of them non-ASCII, so multi-byte UTF-8 exists)
with Zipf-like frequencies and some punctuation, from a fixed seed: the same files every run.
"""

from __future__ import annotations

import random
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

KINDS = ("bytelevel", "metaspace", "joined")
_SYLLABLES = (
    *("ka", "lo", "mi", "ne", "ru", "ta", "shi", "por", "ven", "dra", "qu", "ix", "el"),
    *("an", "or", "us", "be", "zo", "fa", "gri", "é", "ü", "ñ", "ø", "ß"),
)
_PUNCTUATION = (".", ",", "!", "?", ";", ":", "'s", "-", "(", ")", '"', "42", "7", "1999")


def corpus(seed: int = 1234, sentences: int = 6000, words: int = 3000) -> list[str]:
    """Sentences of made-up words, Zipf-distributed, some with punctuation or a capital."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4 if words <= 3000 else 6)))
        for _ in range(words)
    ]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    lines = []
    for _ in range(sentences):
        line = " ".join(rng.choices(vocabulary, weights=weights, k=rng.randint(4, 25)))
        if rng.random() < 0.5:
            line += rng.choice(_PUNCTUATION)
        lines.append(line.capitalize() if rng.random() < 0.3 else line)
    return lines


def train_tokenizer(
    kind: str, path: Path, vocab_size: int = 2000, lines: list[str] | None = None
) -> Path:
    """Train a BPE of ``kind`` on ``lines`` (default ``corpus()``) and save it as ``path`` (a
    tokenizer.json)."""
    tokenizer = Tokenizer(models.BPE(unk_token=None if kind == "bytelevel" else "<unk>"))
    if kind == "bytelevel":
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        alphabet, special = pre_tokenizers.ByteLevel.alphabet(), ["<|endoftext|>"]
    else:
        split = kind == "metaspace"
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(split=split)
        tokenizer.decoder = decoders.Metaspace(split=split)
        alphabet, special = [], ["<unk>", "<s>", "</s>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=alphabet,
        show_progress=False,
        max_token_length=16,
    )
    tokenizer.train_from_iterator(corpus() if lines is None else lines, trainer=trainer)
    tokenizer.save(str(path))
    return path
