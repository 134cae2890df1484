"""Per-sample timestamps from a Chrome trace: asyncgen's (valid JSON) or the reference's.

Both write, for every completed sample, an async begin event whose ``ts`` is the query's
scheduled time (microseconds with three decimals, so exact nanoseconds) and whose ``args`` hold
the issue delay and the latency relative to that time; the begin event alone is enough. The
reference's file is not valid JSON (doubled quotes in some args) and the captured copies are
cut short, so the file is never parsed as one document: a regular expression picks the
events out of the text, which tolerates both and reads a million samples in a few seconds.
Lines the expression does not recognise are tried one by one as JSON, and skipped if broken.

Token mode: the reference traces the first token as a ``Token`` async event (SingleStream,
MultiStream, Offline) or, in Server, as a ``Token_Latency`` counter at the scheduled time;
both become ``first_token_ns``. An ``n_tokens`` arg on the sample event is read when present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import numpy as np

from asyncgen.report._arrays import IntArray, empty_int

UNKNOWN = -1  # first-token time or token count not traced

_NUM = r"(-?[0-9][0-9.eE+-]*)"
_INT = r"(-?\d+)"
_SAMPLE_EVENT = re.compile(
    r'"name":\s*"(Sample|Token)",\s*"cat":\s*"[^"]*",\s*"ph":\s*"b",\s*"pid":\s*\d+,\s*'
    rf'"id":\s*\d+,\s*"ts":\s*{_NUM},\s*"args":\s*\{{\s*"sample_seq":\s*{_INT},\s*'
    rf'"query_seq":\s*{_INT},\s*"sample_idx":\s*{_INT},\s*"issue_start_ns":\s*{_INT},\s*'
    rf'"complete_ns":\s*{_INT}(?:,\s*"n_tokens":\s*{_INT})?'
)
_TOKEN_COUNTER = re.compile(
    rf'"name":\s*"Token_Latency",\s*"ph":\s*"C",\s*"pid":\s*\d+,\s*"ts":\s*{_NUM},\s*'
    rf'"args":\s*\{{\s*"issue_delay":\s*{_INT},\s*"issue_to_done":\s*{_INT}'
)
_SAMPLE_FIELDS = ("sample_seq", "query_seq", "sample_idx", "issue_start_ns", "complete_ns")


@attrs.frozen(kw_only=True)
class TraceSamples:
    """One row per completed sample, sorted by ``sample_seq``; times in ns from the trace
    origin. ``first_token_ns`` / ``n_tokens`` are empty when the trace has no token data and
    hold ``UNKNOWN`` for samples it does not cover."""

    sample_seq: IntArray
    query_seq: IntArray
    sample_idx: IntArray
    scheduled_ns: IntArray
    issued_ns: IntArray
    completed_ns: IntArray
    first_token_ns: IntArray = attrs.field(factory=empty_int)
    n_tokens: IntArray = attrs.field(factory=empty_int)

    @property
    def count(self) -> int:
        return int(self.sample_seq.size)

    @property
    def latency_ns(self) -> IntArray:
        return self.completed_ns - self.scheduled_ns

    def take(self, mask: np.ndarray) -> TraceSamples:
        """The rows where ``mask`` is true (token columns follow when present)."""
        fields = attrs.asdict(self, recurse=False)
        return TraceSamples(**{k: (v[mask] if v.size else v) for k, v in fields.items()})


def read_trace(path: Path) -> TraceSamples | None:
    """The samples of the trace at ``path``; None if it is missing or holds no sample.

    The file is read in blocks cut at line ends, so a million-sample trace never sits in
    memory as one string next to its parsed rows."""
    try:
        parsed = _parse_blocks(_blocks(path))
        if parsed is None:  # nothing the fast pattern knows: try the lines one by one
            parsed = _parse_blocks(_blocks(path), slow=True)
    except OSError:
        return None
    return parsed


def parse_trace(text: str) -> TraceSamples | None:
    """Parse trace text (complete or truncated, valid JSON or not)."""
    return _parse_blocks([text]) or _parse_blocks([text], slow=True)


BLOCK_CHARS = 1 << 24


def _blocks(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as f:
        rest = ""
        while block := f.read(BLOCK_CHARS):
            block = rest + block
            cut = block.rfind("\n") + 1
            yield block[:cut]
            rest = block[cut:]
        if rest:
            yield rest


def _parse_blocks(blocks: Iterable[str], *, slow: bool = False) -> TraceSamples | None:
    tables, flags, tokens, counters = [], [], [], []
    for block in blocks:
        rows = list(_rows_from_json_lines(block)) if slow else _SAMPLE_EVENT.findall(block)
        if rows:
            flags.append(np.fromiter((r[0] == "Token" for r in rows), dtype=bool, count=len(rows)))
            # Joining the numbers and parsing them in one call is ~5x faster than int() each.
            numbers = np.fromstring(" ".join(" ".join(r[1:7]) for r in rows), sep=" ")
            tables.append(numbers.reshape(len(rows), 6))
            tokens.append(
                np.fromiter(
                    (int(r[7]) if r[7] else UNKNOWN for r in rows), dtype=np.int64, count=len(rows)
                )
            )
        found = _TOKEN_COUNTER.findall(block)
        if found:
            counters.append(np.array(found, dtype=np.float64))
    if not tables:
        return None
    table, is_token, n_tokens = (
        np.concatenate(tables),
        np.concatenate(flags),
        np.concatenate(tokens),
    )
    samples = _samples_from(table[~is_token], n_tokens[~is_token])
    if is_token.any():
        return _with_token_events(samples, table[is_token])
    if counters:
        return _with_token_counters(samples, np.concatenate(counters))
    return samples


def _samples_from(table: np.ndarray, n_tokens: IntArray) -> TraceSamples:
    order = np.argsort(table[:, 1], kind="stable")
    table, n_tokens = table[order], n_tokens[order]
    scheduled = np.rint(table[:, 0] * 1000.0).astype(np.int64)
    ints = table[:, 1:].astype(np.int64)
    return TraceSamples(
        sample_seq=ints[:, 0],
        query_seq=ints[:, 1],
        sample_idx=ints[:, 2],
        scheduled_ns=scheduled,
        issued_ns=scheduled + ints[:, 3],
        completed_ns=scheduled + ints[:, 4],
        n_tokens=n_tokens if bool(np.any(n_tokens != UNKNOWN)) else empty_int(),
    )


def _with_token_events(samples: TraceSamples, token_rows: np.ndarray) -> TraceSamples:
    """First tokens from ``Token`` async events, matched to samples by ``sample_seq``."""
    seq = token_rows[:, 1].astype(np.int64)
    first = np.rint(token_rows[:, 0] * 1000.0).astype(np.int64) + token_rows[:, 5].astype(np.int64)
    return attrs.evolve(samples, first_token_ns=_lookup(samples.sample_seq, seq, first))


def _with_token_counters(samples: TraceSamples, counters: np.ndarray) -> TraceSamples:
    """First tokens from Server ``Token_Latency`` counters, matched by scheduled time."""
    scheduled = np.rint(counters[:, 0] * 1000.0).astype(np.int64)
    first = scheduled + counters[:, 1].astype(np.int64) + counters[:, 2].astype(np.int64)
    return attrs.evolve(samples, first_token_ns=_lookup(samples.scheduled_ns, scheduled, first))


def _lookup(keys: IntArray, known_keys: IntArray, values: IntArray) -> IntArray:
    """``values`` at ``known_keys`` equal to each of ``keys``; ``UNKNOWN`` where none is."""
    order = np.argsort(known_keys, kind="stable")
    known_keys, values = known_keys[order], values[order]
    pos = np.clip(np.searchsorted(known_keys, keys), 0, max(known_keys.size - 1, 0))
    found = known_keys[pos] == keys
    return np.where(found, values[pos], UNKNOWN).astype(np.int64)


def _rows_from_json_lines(text: str) -> Iterator[tuple[str, ...]]:
    """The slow path: each line as one JSON event (for traces the fast pattern misses)."""
    for line in text.splitlines():
        candidate = line.strip().rstrip(",")
        if '"ph"' not in candidate or not candidate.startswith("{"):
            continue
        try:
            event = json.loads(candidate)
        except ValueError:
            continue
        args = event.get("args") if isinstance(event, dict) else None
        if event.get("ph") != "b" or event.get("name") not in ("Sample", "Token"):
            continue
        if not isinstance(args, dict) or not all(k in args for k in _SAMPLE_FIELDS):
            continue
        tokens = args.get("n_tokens")
        yield (
            str(event["name"]),
            str(event["ts"]),
            *(str(int(args[k])) for k in _SAMPLE_FIELDS),
            "" if tokens is None else str(int(tokens)),
        )
