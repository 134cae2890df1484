"""Input and output tokens per request: the distributions ``results.json`` keeps.

asyncgen writes them when it knows them (``TestResult.tokens``): input tokens for a
token-shaped dataset given a tokenizer, output tokens in token-latency mode. The figure draws
their histograms with the percentiles marked; the page adds a table of the statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from asyncgen.report._arrays import IntArray
from asyncgen.report._load import RunData


@attrs.frozen(kw_only=True)
class TokenHistogram:
    """One side's counts: ``edges`` (whole tokens, one more than ``counts``) and summary."""

    edges: IntArray
    counts: IntArray
    count: int
    total: int
    mean: float
    min: int
    max: int
    percentiles: dict[float, int]


@attrs.frozen(kw_only=True)
class TokenCountsFigure:
    key: ClassVar[str] = "token_counts"
    title: ClassVar[str] = "Tokens per request"
    input: TokenHistogram | None
    output: TokenHistogram | None


def token_counts_figure(run: RunData) -> TokenCountsFigure | None:
    """The figure, if ``results.json`` reported token counts."""
    counts = run.token_counts or {}
    sides = {side: _histogram(counts.get(side)) for side in ("input", "output")}
    if sides["input"] is None and sides["output"] is None:
        return None
    return TokenCountsFigure(input=sides["input"], output=sides["output"])


def _histogram(data: object) -> TokenHistogram | None:
    if not isinstance(data, Mapping) or not isinstance(data.get("histogram"), Mapping):
        return None
    histogram: Mapping[str, Any] = data["histogram"]
    return TokenHistogram(
        edges=np.asarray(histogram["edges"], dtype=np.int64),
        counts=np.asarray(histogram["counts"], dtype=np.int64),
        count=int(data["count"]),
        total=int(data["total"]),
        mean=float(data["mean"]),
        min=int(data["min"]),
        max=int(data["max"]),
        percentiles={float(k) / 100: int(v) for k, v in data["percentiles"].items()},
    )
