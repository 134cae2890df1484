"""Input and output tokens per request: the distributions ``results.json`` keeps.

asyncgen writes them when it knows them (``TestResult.tokens``): input tokens for a
token-shaped dataset given a tokenizer, output tokens in token-latency mode. The figure draws
their histograms with the percentiles marked; the page adds a table of the statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs

from asyncgen.report._load import RunData
from asyncgen.result import TokenDistribution


@attrs.frozen(kw_only=True)
class TokenCountsFigure:
    key: ClassVar[str] = "token_counts"
    title: ClassVar[str] = "Tokens per request"
    input: TokenDistribution | None  # histogram: (bin edges in tokens, counts)
    output: TokenDistribution | None


def token_counts_figure(run: RunData) -> TokenCountsFigure | None:
    """The figure, if ``results.json`` reported token counts."""
    counts = run.token_counts or {}
    sides = {side: _distribution(counts.get(side)) for side in ("input", "output")}
    if sides["input"] is None and sides["output"] is None:
        return None
    return TokenCountsFigure(input=sides["input"], output=sides["output"])


def _distribution(data: object) -> TokenDistribution | None:
    if not isinstance(data, Mapping):
        return None
    try:
        return TokenDistribution.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError):  # not what asyncgen writes
        return None
