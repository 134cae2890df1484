"""What the driver needs of its shards, whatever runs them: ``Shards``.

The Ray implementation is ``asyncgen._run.scale_out.cluster``; the driver
(``asyncgen._run.scale_out.pacer``) only sees this protocol, so it never imports Ray and tests
can give it shards that run in the driver's own process.
"""

from __future__ import annotations

from typing import Any, Protocol


class Shards(Protocol):
    """The shards of one run: ``count`` workers, each answering method calls by name."""

    count: int

    async def ask(self, shard: int, method: str, *args: Any, timeout_s: float | None) -> Any:
        """Call ``method`` on ``shard`` and return its answer; raises ``WorkerError``."""
        ...

    def tell(self, shard: int, method: str, *args: Any) -> None:
        """Call ``method`` on ``shard`` without waiting for (or minding) the answer."""
        ...

    def kill(self, shard: int) -> None:
        """End ``shard``'s worker at once (it is lost)."""
        ...

    async def close(self) -> None:
        """End every worker and let go of the cluster (bounded)."""
        ...
