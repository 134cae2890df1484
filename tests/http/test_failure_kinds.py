"""Failure reasons counted by kind: the runner's view of ``QuerySample.fail`` reasons."""

from __future__ import annotations

import pytest

from asyncgen._engine.tally import RunTally, failure_kind
from asyncgen.http import FAILURE_KINDS, FailureCounts


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("timeout: no complete response within 60 s", "timeout"),
        ("http_status: HTTP 503: busy", "http_status"),
        ("gpu_oom: out of memory", "gpu_oom"),  # any lower-case word names a kind
        ("ValueError('x: y')", "other"),  # an exception's repr
        ("Timeout: capitalised", "other"),
        ("timeout:no space", "other"),
        ("", "other"),
    ],
)
def test_the_kind_is_the_reason_prefix(reason: str, kind: str) -> None:
    assert failure_kind(reason) == kind


def test_counts_are_sorted_by_kind() -> None:
    tally = RunTally()
    assert tally.failures() == {}
    for reason in ["timeout: a", "connect: b", "timeout: c", "RuntimeError()"]:
        tally.count_failure(reason)
    assert list(tally.failures().items()) == [("connect", 1), ("other", 1), ("timeout", 2)]


def test_failure_counts_add_up() -> None:
    counts = FailureCounts()
    for kind in FAILURE_KINDS:
        counts.add(kind)
    counts.add("timeout")
    assert counts.total == 6
    assert counts.as_dict() == {
        "connect": 1,
        "timeout": 2,
        "http_status": 1,
        "malformed": 1,
        "other": 1,
    }
