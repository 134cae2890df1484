"""``Tokenizer``: a Hugging Face ``tokenizer.json`` read offline, counting content tokens.

A token count in asyncgen is a count of *content* tokens: the text encoded with
``add_special_tokens=False``, so no BOS/EOS and no chat template. What a server adds on top
(a BOS, a chat template's 5-15 tokens per message) is outside the count.

The ``tokenizers`` library is an optional extra (``pip install 'asyncgen[tokenizers]'``): it is
imported when a tokenizer is first read, so ``asyncgen.datasets`` works without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from asyncgen._errors import ConfigError, DatasetError

TOKENIZER_FILE = "tokenizer.json"
INSTALL_HINT = "pip install 'asyncgen[tokenizers]'"


class _Encoding(Protocol):
    @property
    def ids(self, /) -> list[int]: ...

    def __len__(self, /) -> int: ...


class _Backend(Protocol):
    """The part of ``tokenizers.Tokenizer`` asyncgen uses."""

    def encode(
        self,
        /,
        sequence: Any,
        pair: Any | None = ...,
        is_pretokenized: bool = ...,
        add_special_tokens: bool = ...,
    ) -> _Encoding: ...

    def encode_batch(
        self, /, input: Sequence[Any], is_pretokenized: bool = ..., add_special_tokens: bool = ...
    ) -> Sequence[_Encoding]: ...

    def decode(self, /, ids: Sequence[int], skip_special_tokens: bool = ...) -> str: ...

    def get_vocab(self, /, with_added_tokens: bool = ...) -> dict[str, int]: ...

    def no_truncation(self, /) -> None: ...

    def no_padding(self, /) -> None: ...


class Tokenizer:
    """A tokenizer that counts content tokens (``add_special_tokens=False``).

    Make one with ``Tokenizer.from_file(path)`` — a ``tokenizer.json`` or a folder holding one
    (a downloaded model's folder) — or wrap a ``tokenizers.Tokenizer`` you already have.
    Truncation and padding configured in the file are switched off: a count is the text's.
    """

    def __init__(self, backend: _Backend, *, name: str = "tokenizer") -> None:
        backend.no_truncation()
        backend.no_padding()
        self._backend = backend
        self.name = name

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a Hugging Face ``tokenizer.json`` (or the one in the folder ``path``), offline."""
        file = Path(path)
        if file.is_dir():
            file = file / TOKENIZER_FILE
        if not file.is_file():
            raise DatasetError(
                f"no {TOKENIZER_FILE} here (give the file or the folder holding it)",
                path=str(file),
            )
        try:
            # Deferred: `tokenizers` is an optional extra; only a run with a tokenizer needs it.
            from tokenizers import Tokenizer as HFTokenizer  # noqa: PLC0415
        except ImportError:
            raise ConfigError(
                f"reading {file} needs the tokenizers package: {INSTALL_HINT}"
            ) from None
        try:
            backend = HFTokenizer.from_file(str(file))
        except Exception as exc:  # the library raises a bare Exception for a bad file
            raise DatasetError(f"not a readable tokenizer.json: {exc}", path=str(file)) from None
        return cls(backend, name=str(path))

    def encode(self, text: str) -> list[int]:
        """The content token ids of ``text``."""
        return self._backend.encode(text, add_special_tokens=False).ids

    def count(self, text: str) -> int:
        """How many content tokens ``text`` is."""
        return len(self._backend.encode(text, add_special_tokens=False))

    def counts(self, texts: Sequence[str]) -> list[int]:
        """``count`` of each text, encoded as one batch (in parallel by the library)."""
        if not texts:
            return []
        encodings = self._backend.encode_batch(texts, add_special_tokens=False)
        return [len(encoding) for encoding in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids`` (special tokens left out)."""
        return self._backend.decode(list(ids), skip_special_tokens=True)

    def vocabulary(self) -> dict[str, int]:
        """Every token's string and id, added tokens included."""
        return self._backend.get_vocab(with_added_tokens=True)

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r})"
