"""One request per conversation: the first user turn, max_tokens from the first answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncgen.datasets import ConversationQSL, Tokenizer


def _turns(*pairs: tuple[str, str]) -> dict[str, object]:
    return {"conversations": [{"from": who, "value": text} for who, text in pairs]}


RECORDS = [
    _turns(("human", "What is BPE?"), ("gpt", "A way to split words into pieces.")),
    _turns(("system", "Terse."), ("human", "Hi"), ("gpt", "Yo"), ("human", "More")),
    _turns(),
    _turns(("human", "No answer here")),
]


@pytest.fixture
def sharegpt(tmp_path: Path) -> Path:
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps(RECORDS, indent=2))
    return path


@pytest.mark.asyncio
async def test_first_turns_with_a_tokenizer(sharegpt: Path, tiny_tokenizer: Path) -> None:
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    qsl = ConversationQSL(sharegpt, tokenizer=tokenizer, performance_sample_count=2)
    assert (qsl.total_sample_count, qsl.performance_sample_count) == (3, 2)
    assert (qsl.format, qsl.skipped, qsl.with_system) == ("sharegpt", 1, 1)
    assert qsl.input_tokens(0) is None  # counted when loaded
    await qsl.load_samples([0, 1, 2])
    assert qsl.payload(0).json == {
        "prompt": "What is BPE?",
        "max_tokens": tokenizer.count("A way to split words into pieces."),
    }
    assert qsl.payload(1).json == {
        "messages": [{"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi"}],
        "max_tokens": tokenizer.count("Yo"),
    }
    assert qsl.payload(2).json == {"prompt": "No answer here"}
    assert qsl.input_tokens(0) == tokenizer.count("What is BPE?")
    assert qsl.input_tokens(1) == tokenizer.count("Terse.") + tokenizer.count("Hi")
    await qsl.unload_samples([0, 1, 2])


def test_without_a_tokenizer_no_max_tokens(sharegpt: Path) -> None:
    qsl = ConversationQSL(sharegpt)
    assert qsl.payload(0).json == {"prompt": "What is BPE?"}
    assert qsl.input_tokens(0) is None
    assert qsl.name == "ConversationQSL(sharegpt.json)"
    assert len(qsl.conversations[1].turns) == 2  # the whole conversation, for multi-turn
