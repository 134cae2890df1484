"""Top-1 accuracy of the digits model from a run's ``mlperf_log_accuracy.json``.

Each accuracy-log entry holds a QSL index and the response bytes in hex; for the digits server
the response is its JSON answer, ``{"label": 7}``. The index is the line of the dataset file, so
the true digit is ``labels[qsl_idx]``.

    python -m examples.digits_accuracy out/digits/accuracy/mlperf_log_accuracy.json \\
        --labels out/digits/digits_test_labels.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class Accuracy:
    correct: int
    total: int
    unreadable: int  # responses that were not a label (server errors, failed samples)

    @property
    def top1(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def __str__(self) -> str:
        text = f"top-1 accuracy: {self.top1:.2%} ({self.correct}/{self.total} samples)"
        return text + (f", {self.unreadable} unreadable responses" if self.unreadable else "")


def response_label(hex_data: str) -> int | None:
    """The digit in one response, or None when the bytes are not a digits-server answer."""
    try:
        answer = json.loads(bytes.fromhex(hex_data))
    except ValueError:  # not hex, not UTF-8 or not JSON
        return None
    label = answer.get("label") if isinstance(answer, dict) else answer
    return label if isinstance(label, int) and not isinstance(label, bool) else None


def top1(entries: Sequence[dict[str, Any]], labels: Sequence[int]) -> Accuracy:
    """Score each QSL index once (accuracy mode answers every sample once; sampled entries of
    a performance run may repeat one)."""
    predicted: dict[int, int | None] = {}
    for entry in entries:
        predicted.setdefault(int(entry["qsl_idx"]), response_label(str(entry["data"])))
    correct = sum(1 for idx, label in predicted.items() if label == labels[idx])
    unreadable = sum(1 for label in predicted.values() if label is None)
    return Accuracy(correct=correct, total=len(predicted), unreadable=unreadable)


def default_labels() -> list[int]:
    """The test split's labels, recomputed (the split is seeded)."""
    from examples.digits_model import load_split  # noqa: PLC0415 - needs scikit-learn

    labels: list[int] = load_split().test_y.tolist()
    return labels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="mlperf_log_accuracy.json of an accuracy run")
    parser.add_argument(
        "--labels",
        type=Path,
        help="JSON list of the true digits (default: recomputed from the seeded split)",
    )
    args = parser.parse_args(argv)
    entries = json.loads(args.log.read_text(encoding="utf-8"))
    if args.labels is not None:
        labels = json.loads(args.labels.read_text(encoding="utf-8"))
    else:
        labels = default_labels()
    if not entries:
        print(f"{args.log}: no responses logged (run with --mode accuracy)", file=sys.stderr)
        return 1
    print(top1(entries, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
