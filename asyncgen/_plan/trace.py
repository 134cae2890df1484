"""Arrival traces: JSON Lines of ``{"timestamp": ms, ...}`` records, replayed at their times.

The format is Mooncake's (FAST'25 traces): one request per line, ``timestamp`` in milliseconds,
optionally ``input_length`` and ``output_length`` (tokens) and ``hash_ids`` (ids of fixed-size
prompt blocks; equal ids are equal blocks). Other fields are kept by nobody here and ignored.
Records are replayed in timestamp order (a stable sort: equal stamps keep their file order),
each at its offset from the earliest stamp, divided by the replay speed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import attrs
import numpy as np

from asyncgen._errors import DatasetError
from asyncgen._plan.files import parse_json, read_text
from asyncgen._plan.rng import F64, I64

NS_PER_MS = 1_000_000


@attrs.frozen(eq=False)
class TraceRecord:
    """One line of a trace: its stamp and the request shape it describes, if any."""

    timestamp_ms: float
    input_length: int | None = None
    output_length: int | None = None
    hash_ids: tuple[int, ...] | None = None


@attrs.frozen(eq=False)
class Trace:
    """A trace's records in file order, and their replay order."""

    path: str
    records: tuple[TraceRecord, ...]
    order: I64  # record numbers (file order) sorted by timestamp, stably

    @property
    def stamps_ms(self) -> F64:
        """Every record's timestamp, in file order."""
        return np.array([r.timestamp_ms for r in self.records], dtype=np.float64)

    def offsets_ns(self, speed: float = 1.0) -> I64:
        """Replay offsets from the earliest stamp, in replay order, divided by ``speed``."""
        stamps = self.stamps_ms[self.order]
        offsets: I64 = np.rint((stamps - stamps[0]) * (NS_PER_MS / speed)).astype(np.int64)
        return offsets


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a trace file; raises ``DatasetError`` naming the file and line of any problem."""
    file, name = Path(path), str(path)
    text = read_text(file)  # a FIFO, a device or a loop is named, not read
    records = [
        _record(line, file, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not records:
        raise DatasetError("the trace has no records", path=name)
    stamps = np.array([r.timestamp_ms for r in records], dtype=np.float64)
    order = np.argsort(stamps, kind="stable").astype(np.int64)
    return Trace(path=name, records=tuple(records), order=order)


def _record(line: str, file: Path, number: int) -> TraceRecord:
    obj = parse_json(line, file, number)  # strictly: no NaN, bounded nesting
    path = str(file)
    if not isinstance(obj, dict):
        raise DatasetError("a trace record is a JSON object", path=path, line=number)
    stamp = obj.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise DatasetError(
            f'"timestamp" (milliseconds) must be a number, got {stamp!r}', path=path, line=number
        )
    if stamp < 0:
        raise DatasetError(f'"timestamp" must not be negative, got {stamp}', path=path, line=number)
    return TraceRecord(
        timestamp_ms=float(stamp),
        input_length=_count(obj, "input_length", path, number),
        output_length=_count(obj, "output_length", path, number),
        hash_ids=_hash_ids(obj, path, number),
    )


def _count(obj: dict[str, object], key: str, path: str, number: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DatasetError(
            f'"{key}" must be a positive integer, got {value!r}', path=path, line=number
        )
    return value


def _hash_ids(obj: dict[str, object], path: str, number: int) -> tuple[int, ...] | None:
    value = obj.get("hash_ids")
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise DatasetError('"hash_ids" must be a list of integers', path=path, line=number)
    return tuple(value)
