"""Input and output token counts of a performance series, as distributions (pure).

Input counts come from a sample library that knows them (``InputTokenSource``: the
token-shaped QSLs of ``asyncgen.datasets`` given a tokenizer), one per issued sample; output
counts are the ``n_tokens`` the SUT reported (the server's ``usage.completion_tokens``) for
each sample that completed, in token-latency mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
TOKEN_PERCENTILES = (0.5, 0.9, 0.99)
HISTOGRAM_BINS = 20


@runtime_checkable
class InputTokenSource(Protocol):
    """A sample library that knows how many content tokens each sample sends."""

    def input_tokens(self, index: int) -> int | None:
        """Sample ``index``'s input length in tokens, ``None`` if unknown."""
        ...


def _empty() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@attrs.frozen(kw_only=True)
class TokenDistribution:
    """Token counts, one per sample, summarised; ``histogram`` is (bin edges, counts)."""

    count: int
    total: int
    mean: float
    min: int
    max: int
    percentiles: dict[float, int]
    histogram: tuple[tuple[int, ...], tuple[int, ...]]

    @classmethod
    def of(cls, counts: IntArray) -> TokenDistribution | None:
        """The distribution of ``counts`` (``None`` when there are none)."""
        if counts.size == 0:
            return None
        ordered = np.sort(counts)
        n = ordered.size
        lo, hi = int(ordered[0]), int(ordered[-1])
        # Whole-token bins: at most HISTOGRAM_BINS of them, each as wide as the others.
        width = max(1, -(-(hi - lo + 1) // HISTOGRAM_BINS))
        edges = np.arange(lo, hi + width + 1, width, dtype=np.int64)
        hist, _ = np.histogram(ordered, bins=edges)
        return cls(
            count=int(n),
            total=int(ordered.sum()),
            mean=float(ordered.mean()),
            min=lo,
            max=hi,
            percentiles={p: int(ordered[min(n - 1, int(n * p))]) for p in TOKEN_PERCENTILES},
            histogram=(tuple(int(e) for e in edges), tuple(int(c) for c in hist)),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenDistribution:
        """Back from ``to_dict`` (what ``results.json`` holds); ``KeyError``/``ValueError``
        for anything else."""
        histogram = data["histogram"]
        return cls(
            count=int(data["count"]),
            total=int(data["total"]),
            mean=float(data["mean"]),
            min=int(data["min"]),
            max=int(data["max"]),
            percentiles={float(k) / 100: int(v) for k, v in data["percentiles"].items()},
            histogram=(
                tuple(int(e) for e in histogram["edges"]),
                tuple(int(c) for c in histogram["counts"]),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, percentiles keyed by their percent (``"99"``)."""
        return {
            "count": self.count,
            "total": self.total,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
            "percentiles": {f"{p * 100:g}": v for p, v in self.percentiles.items()},
            "histogram": {"edges": list(self.histogram[0]), "counts": list(self.histogram[1])},
        }


@attrs.frozen(kw_only=True)
class TokenCounts:
    """The input and output token counts of the performance run.

    ``input`` covers every issued sample whose library knew its length (prompt tokens sent,
    content tokens: no special tokens, no chat template); ``output`` every sample that
    completed, with the count it reported. Either is ``None`` when unknown.
    ``input_per_sample`` (issue order) and ``output_per_sample`` (the order of
    ``TestResult.latencies_ns``) hold the counts themselves.
    """

    input: TokenDistribution | None
    output: TokenDistribution | None
    input_per_sample: IntArray = attrs.field(factory=_empty, eq=False)
    output_per_sample: IntArray = attrs.field(factory=_empty, eq=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no per-sample arrays)."""
        return {
            "input": None if self.input is None else self.input.to_dict(),
            "output": None if self.output is None else self.output.to_dict(),
        }


def token_counts(
    sample_indices: Sequence[int] | npt.NDArray[np.integer[Any]],
    input_tokens: Callable[[int], int | None] | None,
    output_tokens: IntArray | None,
) -> TokenCounts | None:
    """The token counts of a series whose issued samples had ``sample_indices`` (QSL
    indices), with ``input_tokens`` asked once per distinct index; ``None`` when neither
    input nor output counts are known."""
    inputs = _empty()
    if input_tokens is not None and len(sample_indices):
        indices = np.asarray(sample_indices, dtype=np.int64)
        distinct = np.unique(indices)
        known = [input_tokens(int(i)) for i in distinct]
        table = np.array([-1 if n is None else n for n in known], dtype=np.int64)
        inputs = table[np.searchsorted(distinct, indices)]
        inputs = inputs[inputs >= 0]
    outputs = _empty() if output_tokens is None else np.asarray(output_tokens, dtype=np.int64)
    if not inputs.size and not outputs.size:
        return None
    return TokenCounts(
        input=TokenDistribution.of(inputs),
        output=TokenDistribution.of(outputs),
        input_per_sample=inputs,
        output_per_sample=outputs,
    )
