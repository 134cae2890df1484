"""How late the generator issued its queries: issued minus scheduled, summarised."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

LAG_PERCENTILES = (0.50, 0.90, 0.99, 0.999)


@attrs.frozen(kw_only=True)
class IssueLag:
    """How late the generator issued queries (issued - scheduled), in nanoseconds."""

    count: int
    mean_ns: float
    max_ns: int
    percentiles_ns: dict[float, int]

    @classmethod
    def from_lags(cls, lags: npt.NDArray[np.int64]) -> IssueLag:
        """From the issue lags of every query, in any order."""
        return cls.from_sorted(np.sort(lags))

    @classmethod
    def from_sorted(cls, ordered: npt.NDArray[np.int64]) -> IssueLag:
        """From lags already sorted (a million-query run need not sort them twice)."""
        if ordered.size == 0:
            return cls(
                count=0, mean_ns=0.0, max_ns=0, percentiles_ns={p: 0 for p in LAG_PERCENTILES}
            )
        n = ordered.size
        return cls(
            count=int(n),
            mean_ns=float(ordered.mean()),
            max_ns=int(ordered[-1]),
            percentiles_ns={p: int(ordered[min(n - 1, int(n * p))]) for p in LAG_PERCENTILES},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, percentiles keyed by their percent (``"99"``)."""
        return {
            "count": self.count,
            "mean_ns": self.mean_ns,
            "max_ns": self.max_ns,
            "percentiles_ns": {f"{p * 100:g}": v for p, v in self.percentiles_ns.items()},
        }
