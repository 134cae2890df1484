"""What a run counts across its series: late completions and failed samples by kind.

A series may receive completions after it has ended (a SUT that answers after the drain
deadline), so it counts them on this object, which the run keeps, rather than on itself: the
run need not hold every finished series, with all its columns, until the end just to count.

Failed samples are counted by kind as they fail. A reason that starts with a lower-case word
and a colon (``"timeout: no response in 60 s"``) names its kind; any other reason (a plain
message, an exception's repr) is of kind ``other``. The HTTP adapters write their reasons this
way, so the run counts failures per kind without knowing any adapter.
"""

from __future__ import annotations

import re

import attrs

OTHER = "other"
_KIND = re.compile(r"([a-z][a-z0-9_]*): ")


def failure_kind(reason: str) -> str:
    """The kind a failure reason names, or ``"other"``."""
    match = _KIND.match(reason)
    return match.group(1) if match else OTHER


@attrs.define
class RunTally:
    """Counts shared by the series of one run."""

    late_completions: int = 0  # completions that came after their series had ended
    failure_kinds: dict[str, int] = attrs.field(factory=dict)  # failed samples, by kind

    def count_failure(self, reason: str) -> None:
        """Count one failed sample under the kind its reason names."""
        kind = failure_kind(reason)
        self.failure_kinds[kind] = self.failure_kinds.get(kind, 0) + 1

    def failures(self) -> dict[str, int]:
        """Failed samples per kind, kinds in alphabetical order."""
        return dict(sorted(self.failure_kinds.items()))
