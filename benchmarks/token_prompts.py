"""How fast and how exactly prompts of N tokens are made, against decoding random token ids.

    python -m benchmarks.token_prompts [--quick]

Trains byte-level BPE tokenizers in the process on a generated corpus (nothing downloaded):
a tiny one (2,000 tokens) and one the size of common vocabularies (32,000 tokens), and a
Metaspace one of 32,000 (SentencePiece style). For each, side by side on the same targets:

- asyncgen's ``ExactText`` (single-token vocabulary words, one verifying encode, words added
  or dropped at the end until exact);
- the baseline: random token ids decoded to text and re-encoded, truncated or extended and
  tried again up to 10 more rounds — the method vLLM's random dataset documents.

Reported per tokenizer: how many of the targets (N uniform in [1, 8192], seeded) came out
exactly N content tokens, and the median time to make one prompt of 512 and of 8,192 tokens,
with the ratio asyncgen / baseline. Results go to ``benchmarks/results/token_prompts.json``.
Single-threaded Python plus the tokenizers library's Rust; the two sides are timed
alternately, so the machine's other load (the load average is recorded) falls on both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asyncgen.datasets import ExactText, Tokenizer
from tests.tokenizers import corpus, train_tokenizer

RESULTS = Path(__file__).parent / "results" / "token_prompts.json"
TOKENIZERS = (
    ("bytelevel", 2_000, 3_000),
    ("bytelevel", 32_000, 60_000),
    ("metaspace", 32_000, 60_000),
)
MAX_RETRY = 10


def random_ids_prompt(tokenizer: Tokenizer, allowed: list[int], n: int, rng: random.Random) -> str:
    """The baseline: decode random ids, re-encode; truncate or extend, at most 10 more tries."""
    ids = rng.choices(allowed, k=n)
    for _ in range(MAX_RETRY + 1):
        text = tokenizer.decode(ids)
        ids = tokenizer.encode(text)
        if len(ids) == n:
            break
        ids = ids[:n] if len(ids) > n else ids + rng.choices(allowed, k=n - len(ids))
    return text


Maker = Callable[[int, random.Random], str]


def _medians_ms(sides: dict[str, Maker], n: int, repeats: int) -> dict[str, float]:
    """Median time per prompt of ``n`` tokens for each side, the sides alternating, so that
    the machine's other load falls on both alike."""
    rngs = {side: random.Random(n) for side in sides}
    times: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(repeats):
        for side, make in sides.items():
            start = time.perf_counter()
            make(n, rngs[side])
            times[side].append((time.perf_counter() - start) * 1000)
    return {side: statistics.median(values) for side, values in times.items()}


def measure(kind: str, vocab: int, words: int, targets: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        lines = corpus(sentences=40_000 if vocab > 2_000 else 6_000, words=words)
        path = train_tokenizer(kind, Path(folder) / "tokenizer.json", vocab, lines)
        tokenizer = Tokenizer.from_file(path)
    start = time.perf_counter()
    exact = ExactText(tokenizer)
    setup_ms = (time.perf_counter() - start) * 1000
    special = {i for t, i in tokenizer.vocabulary().items() if t.startswith("<")}
    allowed = sorted(set(tokenizer.vocabulary().values()) - special)
    sides: dict[str, Maker] = {
        "asyncgen": exact.text,
        "baseline": lambda n, rng: random_ids_prompt(tokenizer, allowed, n, rng),
    }
    goals = [random.Random(1).randint(1, 8192) for _ in range(targets)]
    result: dict[str, Any] = {
        "tokenizer": f"{kind} BPE, {len(tokenizer.vocabulary())} tokens",
        "single_token_words": len(exact.units),
        "setup_ms": round(setup_ms, 1),
    }
    for side, make in sides.items():
        rng = random.Random(2)
        exact_count = sum(tokenizer.count(make(n, rng)) == n for n in goals)
        result[side] = {"exact": f"{exact_count}/{len(goals)}"}
    for n, reps in ((512, repeats), (8192, max(3, repeats // 4))):
        medians = _medians_ms(sides, n, reps)
        for side, value in medians.items():
            result[side][f"ms_per_prompt_{n}"] = round(value, 3)
        result[f"ratio_{n}"] = round(medians["asyncgen"] / medians["baseline"], 3)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.token_prompts", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer targets and repeats")
    args = parser.parse_args(argv)
    targets, repeats = (100, 10) if args.quick else (1000, 40)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load = os.getloadavg()
    rows = [measure(kind, vocab, words, targets, repeats) for kind, vocab, words in TOKENIZERS]
    report = {
        "started": started,
        "load_average_at_start": load,
        "targets": targets,
        "results": rows,
    }
    path = RESULTS.with_name("token_prompts-quick.json") if args.quick else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    for row in rows:
        a, b = row["asyncgen"], row["baseline"]
        print(
            f"{row['tokenizer']:<30} exact {a['exact']:>9} vs {b['exact']:>9}   "
            f"512: {a['ms_per_prompt_512']:7.3f} vs {b['ms_per_prompt_512']:7.3f} ms "
            f"(x{row['ratio_512']})   8192: {a['ms_per_prompt_8192']:7.2f} vs "
            f"{b['ms_per_prompt_8192']:7.2f} ms (x{row['ratio_8192']})"
        )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
