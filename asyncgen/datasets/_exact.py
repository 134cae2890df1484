"""``ExactText``: texts of exactly N content tokens under a tokenizer, from seeded draws.

The method: once per tokenizer, take the words of its vocabulary (ASCII letters, from the
pieces as the file lists them, in id order) and keep those that are one token with a space in
front, and add one token each time they repeat (so they do not merge with their neighbours).
A text of N tokens is then N such words drawn at random, joined; with a pre-tokenizer that
splits at spaces (byte-level BPE as in GPT-2 and Llama 3, Metaspace as in SentencePiece
models, BERT's whitespace) BPE never merges across them, so the count is exact by
construction. The first word is drawn from those that are one token without their space too,
and the text starts without one. One full encode verifies every text; if a tokenizer merges
across words after all (no pre-tokenizer, a normalizer), words are added or removed at the end
until the count is exact, and a text that cannot be made exact is an error, never a wrong
count. Random token ids are not used: decoded, they re-encode to another length (byte-level
halves of UTF-8 characters, merges across the seams).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from asyncgen._errors import DatasetError
from asyncgen.datasets._tokenizer import Tokenizer

_WORD = re.compile(r"[A-Za-z]{2,16}")
_MARKERS = "\u0120\u2581 "  # byte-level 'Ġ', SentencePiece '▁', a plain space
MAX_CANDIDATES = 20_000  # vocabulary words measured (the first, by id)
FIX_ROUNDS = 8


class ExactText:
    """Makes texts of exactly ``n`` content tokens (``Tokenizer.count``) from a seeded RNG.

    ``text(n, rng)`` draws a new text; ``text(n, rng, prefix=p)`` one that starts with ``p``
    and is ``n`` tokens in all. ``words(n, rng)`` and ``fit(words, n, rng)`` are the two halves,
    for callers that keep parts of texts (equal blocks of words give equal prefixes). Raises
    ``DatasetError`` if the tokenizer has no usable words.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.units, self.first_units = _single_token_words(tokenizer)

    def words(self, n: int, rng: random.Random) -> list[str]:
        """``n`` words, each a space then one token's worth of letters."""
        return rng.choices(self.units, k=n)

    def text(self, n: int, rng: random.Random, *, prefix: str = "") -> str:
        """A text of exactly ``n`` tokens: ``prefix`` (possibly empty), then drawn words."""
        if n < 0:
            raise ValueError(f"a text cannot be {n} tokens")
        guess = n - (self.tokenizer.count(prefix) if prefix else 0)
        return self.fit(self.words(max(guess, 0), rng), n, rng, prefix=prefix)

    def fit(self, words: list[str], n: int, rng: random.Random, *, prefix: str = "") -> str:
        """``prefix`` + ``words`` as one text, with words added or dropped at the end until it
        is exactly ``n`` tokens (``words`` is changed in place). Without a prefix the first
        word is replaced by one that needs no space, and the text starts without one."""
        if not prefix and words:
            words[0] = rng.choice(self.first_units)
        for _ in range(FIX_ROUNDS):
            text = _join(prefix, words)
            got = self.tokenizer.count(text)
            if got == n:
                return text
            if got > n:
                if got - n > len(words):
                    break
                del words[len(words) - (got - n) :]
            else:
                was_empty = not words
                words.extend(self.words(n - got, rng))
                if was_empty and not prefix:
                    words[0] = rng.choice(self.first_units)
        raise DatasetError(
            f"cannot make a text of exactly {n} tokens with {self.tokenizer.name} "
            f"(after {FIX_ROUNDS} rounds it was {got}); its tokenizer merges across words"
        )


def _join(prefix: str, words: Sequence[str]) -> str:
    text = "".join(words)
    return prefix + text if prefix else text[1:]


def _single_token_words(tokenizer: Tokenizer) -> tuple[list[str], list[str]]:
    """The words (with their leading space) that are one token each, in context; and those
    that are one token at the start of a text, without the space."""
    vocabulary = tokenizer.vocabulary()
    seen: set[str] = set()
    candidates: list[str] = []
    for piece, _ in sorted(vocabulary.items(), key=lambda item: item[1]):
        word = piece.lstrip(_MARKERS)
        if word not in seen and _WORD.fullmatch(word):
            seen.add(word)
            candidates.append(" " + word)
            if len(candidates) == MAX_CANDIDATES:
                break
    once = tokenizer.counts(candidates)
    twice = tokenizer.counts([u * 2 for u in candidates])
    thrice = tokenizer.counts([u * 3 for u in candidates])
    units = [
        u for u, a, b, c in zip(candidates, once, twice, thrice, strict=True) if b - a == c - b == 1
    ]
    if not units:
        raise DatasetError(
            "has no word that is a single token (ASCII letters after a space): "
            "exact-length prompts cannot be made with it",
            path=tokenizer.name,
        )
    alone = tokenizer.counts([u[1:] + u for u in units])
    first = [u for u, c in zip(units, alone, strict=True) if c == 2]
    return units, first or units
