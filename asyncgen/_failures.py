"""Failed samples counted by kind, read from their reasons.

A reason that starts with a lower-case word and a colon (``"timeout: no response in 60 s"``)
names its kind; any other reason (a plain message, an exception's repr) is of kind ``other``.
The HTTP adapters write their reasons this way, so the runner can count failures per kind
without knowing any adapter.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

OTHER = "other"
_KIND = re.compile(r"([a-z][a-z0-9_]*): ")


def failure_kind(reason: str) -> str:
    """The kind a failure reason names, or ``"other"``."""
    match = _KIND.match(reason)
    return match.group(1) if match else OTHER


def count_failure_kinds(reasons: Iterable[str]) -> dict[str, int]:
    """How many reasons there are of each kind, kinds in alphabetical order."""
    counts = Counter(failure_kind(reason) for reason in reasons)
    return dict(sorted(counts.items()))
