"""The demo's model and data: scikit-learn's handwritten digits, split the same way everywhere.

The digits data set (1797 images of 8x8 pixels, values 0-16) ships inside scikit-learn, so
nothing is downloaded. The server trains on the training split; the load generator's samples
are the test split, written as JSON Lines: one request body per line, ``{"pixels": [64 ints]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

SPLIT_SEED = 0
TEST_FRACTION = 0.2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@attrs.frozen
class Split:
    train_x: FloatArray
    train_y: IntArray
    test_x: FloatArray
    test_y: IntArray


def load_split() -> Split:
    """The fixed train/test split (stratified, seeded): 1437 training and 360 test images."""
    x, y = load_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return Split(train_x, train_y.astype(np.int64), test_x, test_y.astype(np.int64))


def train(split: Split) -> Any:
    """A support-vector classifier; about 30 ms to train, about 99% top-1 on the test split."""
    return SVC(gamma=0.001).fit(split.train_x, split.train_y)


def request_body(pixels: FloatArray) -> dict[str, list[int]]:
    """What a client posts to ``/predict`` for one image."""
    return {"pixels": [int(v) for v in pixels]}


def write_dataset(split: Split, folder: Path) -> tuple[Path, Path]:
    """Write the test split as ``digits_test.jsonl`` (request bodies, one per line, in QSL index
    order) and ``digits_test_labels.json`` (the true digit of each line)."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = folder / "digits_test.jsonl"
    labels = folder / "digits_test_labels.json"
    with samples.open("w", encoding="utf-8") as out:
        for row in split.test_x:
            out.write(json.dumps(request_body(row), separators=(",", ":")) + "\n")
    labels.write_text(json.dumps(split.test_y.tolist()) + "\n", encoding="utf-8")
    return samples, labels


class DigitsQSL:
    """The test split as an in-memory sample library and payload source: sample ``i`` posts
    ``request_body(test_x[i])``. Usable from the command line as
    ``--qsl examples.digits_model:DigitsQSL``."""

    name = "DigitsQSL"

    def __init__(self, split: Split | None = None) -> None:
        from asyncgen.http import Payload  # noqa: PLC0415 - keep the model importable alone

        self.split = split or load_split()
        self._payloads = [Payload(json=request_body(row)) for row in self.split.test_x]
        self.total_sample_count = len(self._payloads)
        self.performance_sample_count = len(self._payloads)

    def payload(self, index: int) -> Any:
        return self._payloads[index]

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Nothing to load: every payload is built up front."""

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""
