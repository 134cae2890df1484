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
Single-threaded Python plus the tokenizers library's Rust; the machine's other load shows in
the times (``uptime`` is recorded), not in the exactness.
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


def _time_ms(make: Callable[[int, random.Random], str], n: int, repeats: int) -> float:
    rng, times = random.Random(n), []
    for _ in range(repeats):
        start = time.perf_counter()
        make(n, rng)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


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
    sides: dict[str, Callable[[int, random.Random], str]] = {
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
        result[side] = {
            "exact": f"{exact_count}/{len(goals)}",
            "ms_per_prompt_512": round(_time_ms(make, 512, repeats), 3),
            "ms_per_prompt_8192": round(_time_ms(make, 8192, max(3, repeats // 4)), 3),
        }
    for n in (512, 8192):
        key = f"ms_per_prompt_{n}"
        result[f"ratio_{n}"] = round(result["asyncgen"][key] / result["baseline"][key], 3)
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
