"""Texts of exactly N content tokens, under tiny BPEs trained in the session (tests.tokenizers)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers

from asyncgen.datasets import DatasetError, ExactText, Tokenizer
from tests.tokenizers import KINDS


@pytest.fixture(scope="module")
def exact(tiny_tokenizers: dict[str, Path]) -> dict[str, ExactText]:
    return {kind: ExactText(Tokenizer.from_file(path)) for kind, path in tiny_tokenizers.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_every_text_is_exactly_the_asked_count(exact: dict[str, ExactText], kind: str) -> None:
    maker, rng = exact[kind], random.Random(7)
    targets = [0, 1, 2, 3, 5, *(rng.randint(1, 4096) for _ in range(400))]
    for n in targets:
        text = maker.text(n, rng)
        assert maker.tokenizer.count(text) == n, (kind, n)
        assert "\ufffd" not in text and text == text.strip()


@pytest.mark.parametrize("kind", KINDS)
def test_a_prefix_counts_in_the_total(exact: dict[str, ExactText], kind: str) -> None:
    maker, rng = exact[kind], random.Random(8)
    for _ in range(100):
        prefix = maker.text(rng.randint(1, 300), rng)
        n = maker.tokenizer.count(prefix) + rng.randint(0, 600)
        text = maker.text(n, rng, prefix=prefix)
        assert text.startswith(prefix)
        assert maker.tokenizer.count(text) == n


def test_the_same_seed_gives_the_same_text(exact: dict[str, ExactText]) -> None:
    maker = exact["bytelevel"]
    first = [maker.text(300, random.Random(seed)) for seed in range(5)]
    again = [maker.text(300, random.Random(seed)) for seed in range(5)]
    assert first == again
    assert len(set(first)) == 5


def test_counts_are_content_tokens(tiny_tokenizers: dict[str, Path], tmp_path: Path) -> None:
    """A post-processor that adds BOS/EOS, and truncation in the file, change no count."""
    spec = json.loads(tiny_tokenizers["metaspace"].read_text(encoding="utf-8"))
    spec["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [
            {"SpecialToken": {"id": "<s>", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "</s>", "type_id": 0}},
        ],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {
            "<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
            "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
        },
    }
    spec["truncation"] = {
        "direction": "Right",
        "max_length": 8,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    tokenizer = Tokenizer.from_file(tmp_path)  # the folder holding tokenizer.json
    text = ExactText(tokenizer).text(40, random.Random(1))
    assert tokenizer.count(text) == 40
    assert tokenizer.counts([text, ""]) == [40, 0]


def test_a_missing_or_broken_tokenizer_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no tokenizer\.json here"):
        Tokenizer.from_file(tmp_path)
    broken = tmp_path / "tokenizer.json"
    broken.write_text('{"model": 1}', encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"{broken}: not a readable tokenizer\.json"):
        Tokenizer.from_file(broken)


def test_a_tokenizer_without_single_token_words_is_refused(tmp_path: Path) -> None:
    chars = HFTokenizer(models.WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
    chars.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(DatasetError, match="has no word that is a single token"):
        ExactText(Tokenizer(chars, name="chars"))
